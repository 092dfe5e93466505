using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Shared.Events;
using DomainIdentifierKind = Journey.Profile.Domain.IdentifierKind;

namespace Journey.Profile.Events;

/// <summary>Builds the profile service's integration events.</summary>
internal sealed class ProfileEventMapper : IProfileEvents
{
    private const int MaxInterests = 20;

    /// <inheritdoc />
    public OutboxMessage Updated(CustomerProfile profile, ProfileView view, DateTimeOffset now) =>
        EventEnvelopes.Create(ProfileTopics.ProfileUpdated, ProfileModule.Name, Snapshot(profile, view, now), now);

    private static ProfileUpdated Snapshot(CustomerProfile profile, ProfileView view, DateTimeOffset now)
    {
        var payload = new ProfileUpdated
        {
            Profile = Names.Profile(profile.Id),
            CustomerType = (Journey.Common.V1.CustomerType)profile.CustomerType,
            Stage = (Journey.Common.V1.JourneyStage)profile.Stage,
            Readiness = view.Readiness,
            OpenServiceTickets = profile.OpenServiceTickets,
            AbandonedCart = profile.AbandonedCart,
            ProfilingAllowed = profile.ProfilingAllowed,
            LastInteractionTime = profile.LastInteractionAt is { } last ? Timestamp.FromDateTimeOffset(last) : null,
            UpdateTime = Timestamp.FromDateTimeOffset(now),
            Version = profile.Version,
        };
        // Runs for every profile change: plain loops, without an iterator per field.
        foreach (var held in profile.Identifiers)
        {
            payload.Identifiers.Add(Identifier(held.Key));
        }

        for (var i = 0; i < view.Interests.Count && i < MaxInterests; i++)
        {
            payload.Interests.Add(new InterestSnapshot { Topic = view.Interests[i].Topic, Affinity = view.Interests[i].Affinity });
        }

        foreach (var consumed in profile.ConsumedContents)
        {
            payload.ConsumedContents.Add(consumed.Content);
        }

        return payload;
    }

    /// <inheritdoc />
    public OutboxMessage Merged(ProfileMerge merge)
    {
        var payload = new ProfilesMerged
        {
            Survivor = Names.Profile(merge.SurvivorId),
            Merged = Names.Profile(merge.MergedId),
            LinkedBy = (Journey.Common.V1.IdentifierKind)merge.LinkedBy,
            MergeTime = Timestamp.FromDateTimeOffset(merge.MergedAt),
        };
        payload.MovedIdentifiers.AddRange(merge.MovedIdentifiers.Select(Identifier));
        return EventEnvelopes.Create(ProfileTopics.ProfilesMerged, ProfileModule.Name, payload, merge.MergedAt);
    }

    /// <inheritdoc />
    public OutboxMessage Split(ProfileSplitRecord split, ProfileRead survivor, ProfileRead restored)
    {
        var payload = new ProfileSplit
        {
            Survivor = Names.Profile(split.SurvivorId),
            Restored = Names.Profile(split.RestoredId),
            MergeTime = Timestamp.FromDateTimeOffset(split.MergedAt),
            SplitTime = Timestamp.FromDateTimeOffset(split.SplitAt),
            SurvivorSnapshot = Snapshot(survivor.Profile, survivor.View, split.SplitAt),
            RestoredSnapshot = Snapshot(restored.Profile, restored.View, split.SplitAt),
        };
        payload.RestoredAliases.AddRange(split.RestoredAliases.Select(Names.Profile));
        payload.RestoredIdentifiers.AddRange(split.RestoredIdentifiers.Select(Identifier));
        return EventEnvelopes.Create(ProfileTopics.ProfileSplit, ProfileModule.Name, payload, split.SplitAt);
    }

    /// <inheritdoc />
    public OutboxMessage MembershipChanged(MembershipChange change, DateTimeOffset at) =>
        EventEnvelopes.Create(ProfileTopics.SegmentMembershipChanged, ProfileModule.Name, new SegmentMembershipChanged
        {
            Segment = Names.Segment(change.SegmentId),
            Profile = Names.Profile(change.ProfileId),
            Entered = change.Entered,
            ChangeTime = Timestamp.FromDateTimeOffset(at),
        }, at);

    /// <inheritdoc />
    public OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset at) =>
        EventEnvelopes.ErasureCompleted(ProfileModule.Name, erasure, recordsErased, at);

    internal static Identifier Identifier(IdentifierKey key) =>
        new() { Kind = (Journey.Common.V1.IdentifierKind)key.Kind, Value = key.Value };

    /// <summary>Identifiers of an event: already hashed; malformed ones make the event invalid.</summary>
    internal static IReadOnlyList<IdentifierKey> FromEvent(IEnumerable<Identifier> identifiers, string field)
    {
        var keys = new List<IdentifierKey>();
        var index = 0;
        foreach (var identifier in identifiers)
        {
            var kind = (DomainIdentifierKind)identifier.Kind;
            var value = identifier.Value;
            if (kind == DomainIdentifierKind.Unspecified || !System.Enum.IsDefined(kind) || value.Length is 0 or > 256)
            {
                throw new Journey.Shared.Errors.InvalidArgumentException($"{field}[{index}]", "must have a known kind and a value of 1 to 256 characters");
            }

            if (kind == DomainIdentifierKind.ProfileId && value.StartsWith("profiles/", StringComparison.Ordinal))
            {
                value = value["profiles/".Length..];
            }

            keys.Add(new IdentifierKey(kind, value));
            index++;
        }

        return keys;
    }
}

/// <summary>Resource names.</summary>
internal static class Names
{
    public const string ProfilePrefix = "profiles/";
    public const string SegmentPrefix = "segments/";

    public static string Profile(string id) => ProfilePrefix + id;

    public static string Segment(string id) => SegmentPrefix + id;
}
