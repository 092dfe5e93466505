using Journey.Events.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Events;

/// <summary>Links the people of merged profiles, so a profile's timeline covers them all. One transaction per batch.</summary>
internal sealed class ProfilesMergedHandler(PersonTimeline timeline) : IEventHandler<ProfilesMerged>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfilesMerged>> events, CancellationToken cancellationToken)
    {
        var merges = events.Select(e => new ProfileMerge(
            e.EventId,
            ProfileIds.Parse(e.Message.Survivor, "survivor"),
            ProfileIds.Parse(e.Message.Merged, "merged"),
            EventIdentifiers.Map(e.Message.MovedIdentifiers, "moved_identifiers"),
            RequestFields.Time(e.Message.MergeTime, "merge_time") ?? e.OccurredAt)
        {
            PublishedAt = e.OccurredAt,
        }).ToList();
        return timeline.ApplyMergesAsync(merges, cancellationToken);
    }
}

/// <summary>Gives a split-off profile its identifiers and interactions back. One transaction per batch.</summary>
internal sealed class ProfileSplitHandler(PersonTimeline timeline) : IEventHandler<ProfileSplit>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfileSplit>> events, CancellationToken cancellationToken)
    {
        var splits = events.Select(e => new ProfileSplitNotice(
            e.EventId,
            ProfileIds.Parse(e.Message.Survivor, "survivor"),
            ProfileIds.Parse(e.Message.Restored, "restored"),
            [.. e.Message.RestoredAliases.Select(a => ProfileIds.Parse(a, "restored_aliases"))],
            EventIdentifiers.Map(e.Message.RestoredIdentifiers, "restored_identifiers"),
            RequestFields.Time(e.Message.MergeTime, "merge_time") ?? throw new InvalidArgumentException("merge_time", "is required"))
        {
            PublishedAt = e.OccurredAt,
        }).ToList();
        return timeline.ApplySplitsAsync(splits, cancellationToken);
    }
}

/// <summary>Keeps which identifiers each profile holds, so a profile's timeline lists its interactions. One transaction per batch.</summary>
internal sealed class ProfileUpdatedHandler(PersonTimeline timeline) : IEventHandler<ProfileUpdated>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfileUpdated>> events, CancellationToken cancellationToken)
    {
        var snapshots = events.Select(e =>
        {
            var message = e.Message;
            if (message.Version <= 0)
            {
                throw new InvalidArgumentException("version", "must be 1 or more");
            }

            return new ProfileSnapshot(
                e.EventId,
                ProfileIds.Parse(message.Profile, "profile"),
                EventIdentifiers.Map(message.Identifiers, "identifiers"),
                message.Version,
                RequestFields.Time(message.UpdateTime, "update_time") ?? e.OccurredAt)
            {
                PublishedAt = e.OccurredAt,
            };
        }).ToList();
        return timeline.ApplyProfilesAsync(snapshots, cancellationToken);
    }
}

/// <summary>Forgets a person: deletes their interactions and identifier links, then publishes <c>erasure-completed</c>.</summary>
internal sealed class ErasureRequestedHandler(PersonTimeline timeline) : IEventHandler<ErasureRequested>
{
    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<ErasureRequested>> events, CancellationToken cancellationToken)
    {
        foreach (var received in events)
        {
            var message = received.Message;
            if (!message.Erasure.StartsWith("erasures/", StringComparison.Ordinal) || message.Erasure.Length is <= 9 or > 200)
            {
                throw new InvalidArgumentException("erasure", "must be erasures/{erasure}");
            }

            var identifiers = EventIdentifiers.Map(message.Identifiers, "identifiers");
            if (identifiers.Count == 0)
            {
                throw new InvalidArgumentException("identifiers", "must hold at least one identifier");
            }

            await timeline.EraseAsync(received.EventId, message.Erasure, identifiers, RequestFields.Time(message.RequestTime, "request_time") ?? received.OccurredAt, cancellationToken);
        }
    }
}

/// <summary>Validation of identifiers and profile names in incoming events (e-mail and phone arrive hashed).</summary>
internal static class EventIdentifiers
{
    public static IReadOnlyList<PersonIdentifier> Map(IEnumerable<Common.V1.Identifier> identifiers, string field)
    {
        var result = new List<PersonIdentifier>();
        foreach (var identifier in identifiers)
        {
            var kind = (IdentifierKind)identifier.Kind;
            if (kind == IdentifierKind.Unspecified || !Enum.IsDefined(kind) || identifier.Value.Length is < 1 or > 256)
            {
                throw new InvalidArgumentException(field, "each identifier needs a known kind and a value of 1 to 256 characters");
            }

            result.Add(new PersonIdentifier(kind, kind == IdentifierKind.ProfileId ? ProfileIds.Parse(identifier.Value, field) : identifier.Value));
        }

        return result;
    }
}

/// <summary>Profile ids arrive as <c>profiles/{profile}</c> or bare; the log keeps them bare.</summary>
internal static class ProfileIds
{
    public static string Parse(string value, string field)
    {
        var id = value.StartsWith("profiles/", StringComparison.Ordinal) ? value["profiles/".Length..] : value;
        return id.Length is >= 1 and <= 256 ? id : throw new InvalidArgumentException(field, "must be profiles/{profile}");
    }
}
