using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Recommendation.Domain;
using Journey.Shared.Events;

namespace Journey.Recommendation.Events;

/// <summary>Builds the events this service publishes.</summary>
internal sealed class RecommendationEvents : IRecommendationEvents
{
    public OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset now) =>
        EventEnvelopes.ErasureCompleted(RecommendationModule.Name, erasure, recordsErased, now);
}

/// <summary>Turns event payloads into domain facts; identifiers arrive hashed already.</summary>
internal static class EventMapping
{
    public static List<string> Keys(IEnumerable<Identifier> identifiers, string field)
    {
        var keys = new List<string>();
        foreach (var identifier in identifiers)
        {
            if (identifier.Kind == IdentifierKind.Unspecified || identifier.Value.Length is 0 or > 256)
            {
                throw new Shared.Errors.InvalidArgumentException(field, "holds an identifier without kind or with an empty or over-long value");
            }

            keys.Add(identifier.Kind == IdentifierKind.ProfileId ? IdentifierKeys.ForProfile(identifier.Value) : IdentifierKeys.Of((int)identifier.Kind, identifier.Value));
        }

        return keys;
    }

    public static string ContentId(string name) =>
        name.StartsWith(ResourceNames.ContentPrefix, StringComparison.Ordinal) ? name[ResourceNames.ContentPrefix.Length..] : name;

    public static string Strip(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;

    /// <summary>
    /// The events as facts to project, each stamped with its envelope's time so that erasure tombstones judge
    /// it by when it was published rather than when it is applied.
    /// </summary>
    public static List<Incoming<TFact>> Stamped<TEvent, TFact>(IReadOnlyList<ReceivedEvent<TEvent>> events, Func<ReceivedEvent<TEvent>, TFact> fact) =>
        events.Select(e => new Incoming<TFact>(e.EventId, fact(e)) { PublishedAt = e.OccurredAt }).ToList();
}

internal sealed class ProfileUpdatedHandler(AudienceProjector projector) : IEventHandler<ProfileUpdated>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfileUpdated>> events, CancellationToken cancellationToken) =>
        projector.ApplyProfilesAsync(RecommendationModule.Name + "." + RecommendationTopics.ProfileUpdated, EventMapping.Stamped(events, e => Snapshot(e.Message, "")), cancellationToken);

    /// <summary>The domain snapshot of <paramref name="m"/>; <paramref name="field"/> prefixes the field names errors report.</summary>
    public static ProfileSnapshot Snapshot(ProfileUpdated? m, string field)
    {
        if (m is null)
        {
            throw new Shared.Errors.InvalidArgumentException(field.TrimEnd('.'), "is required");
        }

        if (!m.Profile.StartsWith(ResourceNames.ProfilePrefix, StringComparison.Ordinal) || m.Profile.Length <= ResourceNames.ProfilePrefix.Length)
        {
            throw new Shared.Errors.InvalidArgumentException(field + "profile", "must be profiles/{profile}");
        }

        return new ProfileSnapshot(
            IdentifierKeys.ForProfile(m.Profile),
            EventMapping.Keys(m.Identifiers, field + "identifiers"),
            (Domain.Stage)(int)m.Stage,
            m.Readiness,
            m.Interests.Select(i => new Interest(i.Topic, Math.Clamp(i.Affinity, 0, 1))).ToList(),
            m.OpenServiceTickets,
            m.ConsumedContents.Select(EventMapping.ContentId).ToList(),
            m.Version);
    }
}

internal sealed class ProfileSplitHandler(AudienceProjector projector) : IEventHandler<ProfileSplit>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfileSplit>> events, CancellationToken cancellationToken) =>
        projector.ApplySplitsAsync(RecommendationModule.Name + "." + RecommendationTopics.ProfileSplit, EventMapping.Stamped(events, e =>
        {
            var survivor = ProfileUpdatedHandler.Snapshot(e.Message.SurvivorSnapshot, "survivor_snapshot.");
            var restored = ProfileUpdatedHandler.Snapshot(e.Message.RestoredSnapshot, "restored_snapshot.");
            if (survivor.ProfileKey != IdentifierKeys.ForProfile(e.Message.Survivor) || restored.ProfileKey != IdentifierKeys.ForProfile(e.Message.Restored))
            {
                throw new Shared.Errors.InvalidArgumentException("survivor_snapshot", "must be the snapshots of survivor and restored");
            }

            return new ProfileSplitFact(survivor, restored, [.. e.Message.RestoredAliases.Select(IdentifierKeys.ForProfile)]);
        }), cancellationToken);
}

internal sealed class ProfilesMergedHandler(AudienceProjector projector) : IEventHandler<ProfilesMerged>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfilesMerged>> events, CancellationToken cancellationToken) =>
        projector.ApplyMergesAsync(RecommendationModule.Name + "." + RecommendationTopics.ProfilesMerged, EventMapping.Stamped(events, e =>
            new ProfileMerge(
                IdentifierKeys.ForProfile(e.Message.Survivor),
                IdentifierKeys.ForProfile(e.Message.Merged),
                EventMapping.Keys(e.Message.MovedIdentifiers, "moved_identifiers"))), cancellationToken);
}

internal sealed class ConsentChangedHandler(AudienceProjector projector) : IEventHandler<ConsentChanged>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ConsentChanged>> events, CancellationToken cancellationToken) =>
        projector.ApplyConsentAsync(RecommendationModule.Name + "." + RecommendationTopics.ConsentChanged, EventMapping.Stamped(events, e =>
        {
            var keys = EventMapping.Keys(e.Message.Identifiers, "identifiers");
            AudienceProjector.RequireIdentifiers(keys, "identifiers");
            return new ConsentDecision(keys, e.Message.Purpose, e.Message.Granted, e.Message.Channels.Select(c => (ChannelKind)c).ToList());
        }), cancellationToken);
}

internal sealed class InteractionRecordedHandler(AudienceProjector projector) : IEventHandler<InteractionRecorded>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<InteractionRecorded>> events, CancellationToken cancellationToken) =>
        projector.ApplyInteractionsAsync(RecommendationModule.Name + "." + RecommendationTopics.InteractionRecorded, EventMapping.Stamped(events, e =>
        {
            var m = e.Message;
            var kind = System.Enum.IsDefined((InteractionKind)(int)m.Type) ? (InteractionKind)(int)m.Type : InteractionKind.Other;
            return new InteractionFact(
                EventMapping.Keys(m.Identifiers, "identifiers"),
                kind,
                EventMapping.ContentId(m.Content),
                EventMapping.Strip(m.Recommendation, ResourceNames.RecommendationPrefix),
                m.OccurTime?.ToDateTimeOffset() ?? e.OccurredAt);
        }), cancellationToken);
}

internal sealed class TouchpointChangedHandler(AudienceProjector projector) : IEventHandler<TouchpointChanged>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<TouchpointChanged>> events, CancellationToken cancellationToken) =>
        projector.ApplyTouchpointsAsync(RecommendationModule.Name + "." + RecommendationTopics.TouchpointChanged, events.Select(e =>
        {
            var m = e.Message;
            var id = EventMapping.Strip(m.Touchpoint, ResourceNames.TouchpointPrefix);
            if (id.Length is 0 or > 128 || id == m.Touchpoint)
            {
                throw new Shared.Errors.InvalidArgumentException("touchpoint", "must be touchpoints/{touchpoint}");
            }

            return new Incoming<TouchpointState>(e.EventId, new TouchpointState(id, (ChannelKind)(int)m.Channel, m.Stages.Select(s => (Domain.Stage)(int)s).Distinct().ToList(), m.Retired, m.Version));
        }).ToList(), cancellationToken);
}

internal sealed class ErasureRequestedHandler(AudienceProjector projector) : IEventHandler<ErasureRequested>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ErasureRequested>> events, CancellationToken cancellationToken) =>
        projector.ApplyErasuresAsync(RecommendationModule.Name + "." + Topics.ErasureRequested, events.Select(e =>
            new Incoming<ErasureOrder>(e.EventId, new ErasureOrder(
                e.Message.Erasure, EventMapping.Keys(e.Message.Identifiers, "identifiers"), e.Message.RequestTime?.ToDateTimeOffset() ?? e.OccurredAt))).ToList(), cancellationToken);
}
