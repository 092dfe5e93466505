using Journey.Common.V1;

namespace Journey.WebConsole.Components;

/// <summary>How the console names the API's enums to the people reading it.</summary>
public static class Labels
{
    /// <summary>The six stages in journey order.</summary>
    public static readonly IReadOnlyList<JourneyStage> Stages =
        [JourneyStage.Awareness, JourneyStage.Consideration, JourneyStage.Evaluation, JourneyStage.Purchase, JourneyStage.Ownership, JourneyStage.Loyalty];

    /// <summary>A stage's name.</summary>
    public static string Of(JourneyStage stage) => stage switch
    {
        JourneyStage.Awareness => "Awareness",
        JourneyStage.Consideration => "Consideration",
        JourneyStage.Evaluation => "Evaluation",
        JourneyStage.Purchase => "Purchase",
        JourneyStage.Ownership => "Ownership",
        JourneyStage.Loyalty => "Loyalty",
        _ => "Unspecified",
    };

    /// <summary>A channel's name.</summary>
    public static string Of(Channel channel) => channel switch
    {
        Channel.Unspecified => "Unspecified",
        _ => Words(channel.ToString()),
    };

    /// <summary>An ownership's name.</summary>
    public static string Of(Ownership ownership) => ownership switch
    {
        Ownership.Owned => "Owned",
        Ownership.Paid => "Paid",
        Ownership.Earned => "Earned",
        _ => "Unspecified",
    };

    /// <summary>An identifier kind's name.</summary>
    public static string Of(IdentifierKind kind) => kind == IdentifierKind.Unspecified ? "Unspecified" : Words(kind.ToString());

    /// <summary>A content kind's name.</summary>
    public static string Of(Journey.Recommendation.V1.ContentKind kind) => kind == Journey.Recommendation.V1.ContentKind.Unspecified ? "Unspecified" : Words(kind.ToString());

    /// <summary>An interaction type's name.</summary>
    public static string Of(InteractionType type) => type == InteractionType.Unspecified ? "Unspecified" : Words(type.ToString());

    /// <summary>The id in a resource name: <c>touchpoints/dealer-site</c> gives <c>dealer-site</c>.</summary>
    public static string Id(string name) => name[(name.IndexOf('/', StringComparison.Ordinal) + 1)..];

    private static string Words(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? $" {char.ToLowerInvariant(c)}" : c.ToString()));
}
