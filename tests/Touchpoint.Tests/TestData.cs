using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Tests;

/// <summary>Requests the tests build again and again.</summary>
internal static class TestData
{
    public static V1.Touchpoint Touchpoint(Channel channel = Channel.Web, Ownership ownership = Ownership.Owned, int criticality = 3, params JourneyStage[] stages) => new()
    {
        DisplayName = "Lease-vs-buy calculator",
        Channel = channel,
        Ownership = ownership,
        Stages = { stages.Length == 0 ? [JourneyStage.Consideration] : stages },
        Criticality = criticality,
        IntendedExperience = new V1.IntendedExperience { TargetRating = 4.5, Statement = "trust in the price" },
        OwningTeam = "digital-sales",
        Topics = { "leasing", "electric-cars" },
    };

    /// <summary>
    /// The default interaction time, the same for every interaction built here, so an interaction built
    /// twice with one id is the same interaction (a re-send), not the id reused for another.
    /// </summary>
    public static readonly DateTimeOffset Recently = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeSeconds());

    public static Interaction Interaction(string id, string touchpoint = "touchpoints/lease-calculator", DateTimeOffset? at = null) => new()
    {
        InteractionId = id,
        Touchpoint = touchpoint,
        OccurTime = Timestamp.FromDateTimeOffset(at ?? Recently),
        Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-42" } },
        Type = InteractionType.View,
    };
}
