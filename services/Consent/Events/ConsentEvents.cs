using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.Domain;
using Journey.Events.V1;
using Journey.Shared.Events;
using DomainIdentifierKind = Journey.Consent.Domain.IdentifierKind;

namespace Journey.Consent.Events;

/// <summary>Builds the consent service's integration events.</summary>
internal sealed class ConsentEvents : IConsentEvents
{
    /// <inheritdoc />
    public OutboxMessage ConsentChanged(Guid subject, IReadOnlyList<SubjectIdentifier> identifiers, Purpose purpose, RecordDraft record, DateTimeOffset now)
    {
        var payload = new ConsentChanged
        {
            Subject = ConsentNames.Subject(subject),
            Purpose = ConsentNames.Purpose(purpose.Id),
            Granted = record.Granted,
            PolicyVersion = record.PolicyVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            EffectiveTime = Timestamp.FromDateTimeOffset(record.CapturedAt),
            Record = ConsentNames.Record(subject, record.Id),
            Cause = ConsentChangeCause.Recorded,
        };
        payload.Identifiers.Add(identifiers.Select(ToProto));
        payload.Channels.Add(record.Channels.Channels().Select(c => (Channel)c));
        if (record.Granted && purpose.Validity is { } validity)
        {
            payload.ExpireTime = Timestamp.FromDateTimeOffset(record.CapturedAt + validity);
        }

        return EventEnvelopes.Create(ConsentTopics.ConsentChanged, ConsentModule.Name, payload, now);
    }

    /// <inheritdoc />
    public OutboxMessage ConsentExpired(Guid subject, IReadOnlyList<SubjectIdentifier> identifiers, Purpose purpose, DecisionEntry grant, DateTimeOffset expiredAt, DateTimeOffset now)
    {
        var payload = new ConsentChanged
        {
            Subject = ConsentNames.Subject(subject),
            Purpose = ConsentNames.Purpose(purpose.Id),
            Granted = false,
            PolicyVersion = grant.PolicyVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            EffectiveTime = Timestamp.FromDateTimeOffset(expiredAt),
            ExpireTime = Timestamp.FromDateTimeOffset(expiredAt),
            Record = ConsentNames.Record(subject, grant.RecordId),
            Cause = ConsentChangeCause.Expired,
        };
        payload.Identifiers.Add(identifiers.Select(ToProto));
        payload.Channels.Add(grant.Channels.Channels().Select(c => (Channel)c));
        return EventEnvelopes.Create(ConsentTopics.ConsentChanged, ConsentModule.Name, payload, now);
    }

    /// <inheritdoc />
    public OutboxMessage ErasureRequested(Guid erasureId, IReadOnlyList<SubjectIdentifier> identifiers, DateTimeOffset now)
    {
        var payload = new ErasureRequested { Erasure = ConsentNames.Erasure(erasureId), RequestTime = Timestamp.FromDateTimeOffset(now) };
        payload.Identifiers.Add(identifiers.Select(ToProto));
        return EventEnvelopes.Create(Topics.ErasureRequested, ConsentModule.Name, payload, now);
    }

    /// <inheritdoc />
    public OutboxMessage ErasureCompleted(Guid erasureId, long recordsErased, DateTimeOffset now) =>
        EventEnvelopes.ErasureCompleted(ConsentModule.Name, ConsentNames.Erasure(erasureId), recordsErased, now);

    internal static Identifier ToProto(SubjectIdentifier identifier) => new() { Kind = (Common.V1.IdentifierKind)identifier.Kind, Value = identifier.Value };

    internal static SubjectIdentifier? FromEvent(Identifier identifier) =>
        identifier.Kind is > Common.V1.IdentifierKind.Unspecified and <= Common.V1.IdentifierKind.ProfileId && identifier.Value.Length is > 0 and <= ConsentLimits.MaxIdentifierLength
            ? new SubjectIdentifier((DomainIdentifierKind)identifier.Kind, identifier.Value)
            : null;

    /// <summary>An event's identifiers as subject identifiers; INVALID_ARGUMENT naming <paramref name="field"/> (a dead letter) for any that is not one.</summary>
    internal static List<SubjectIdentifier> FromEvent(IReadOnlyCollection<Identifier> identifiers, string field) =>
        [.. identifiers.Select(i => FromEvent(i) ?? throw new Shared.Errors.InvalidArgumentException(field, "must hold known kinds and 1 to 256 characters"))];
}

/// <summary>Keeps one subject per person: applies ProfilesMerged.</summary>
internal sealed class ProfilesMergedHandler(ErasureUseCases useCases) : IEventHandler<ProfilesMerged>
{
    public const string Consumer = "consent.profiles-merged";

    /// <inheritdoc />
    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfilesMerged>> events, CancellationToken cancellationToken)
    {
        // One transaction per merge: merges are rare, and each plans against the state the one before left.
        foreach (var received in events)
        {
            var message = received.Message;
            var moved = ConsentEvents.FromEvent(message.MovedIdentifiers, "moved_identifiers");

            await useCases.MergeAsync(Consumer, received.EventId, message.Survivor, message.Merged, moved, received.OccurredAt, cancellationToken);
        }
    }
}

/// <summary>Gives a split-off profile its own subject back: applies ProfileSplit.</summary>
internal sealed class ProfileSplitHandler(ErasureUseCases useCases) : IEventHandler<ProfileSplit>
{
    public const string Consumer = "consent.profile-split";

    /// <inheritdoc />
    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<ProfileSplit>> events, CancellationToken cancellationToken)
    {
        foreach (var received in events)
        {
            var message = received.Message;
            var restored = ConsentEvents.FromEvent(message.RestoredIdentifiers, "restored_identifiers");

            var mergedAt = message.MergeTime?.ToDateTimeOffset() ?? throw new Shared.Errors.InvalidArgumentException("merge_time", "is required");
            await useCases.SplitAsync(Consumer, received.EventId, message.Survivor, message.Restored, [.. message.RestoredAliases], restored, mergedAt, received.OccurredAt, cancellationToken);
        }
    }
}

/// <summary>Records the consent preferences tracking messages carried: applies ConsentObserved.</summary>
internal sealed class ConsentObservedHandler(ObservedConsentUseCases useCases) : IEventHandler<ConsentObserved>
{
    public const string Consumer = "consent.consent-observed";

    /// <inheritdoc />
    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<ConsentObserved>> events, CancellationToken cancellationToken)
    {
        foreach (var received in events)
        {
            var message = received.Message;
            // The identifiers arrive as the touchpoint service keeps them: e-mail and phone already keyed hashes.
            var identifiers = ConsentEvents.FromEvent(message.Identifiers, "identifiers");

            var observed = new ObservedConsent(
                message.Source, message.MessageId, identifiers, [.. message.Preferences.Select(p => (p.Purpose, p.Granted))],
                message.ObserveTime?.ToDateTimeOffset() ?? throw new Shared.Errors.InvalidArgumentException("observe_time", "is required"));
            await useCases.RecordAsync(Consumer, received.EventId, observed, received.OccurredAt, cancellationToken);
        }
    }
}

/// <summary>Tracks erasures: each service's ErasureCompleted, this service's own included.</summary>
internal sealed class ErasureCompletedHandler(ErasureUseCases useCases) : IEventHandler<ErasureCompleted>
{
    public const string Consumer = "consent.erasure-completed";

    /// <inheritdoc />
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ErasureCompleted>> events, CancellationToken cancellationToken) =>
        useCases.RecordCompletionsAsync(Consumer, [.. events.Select(e => (e.EventId, e.Source, e.Message.Erasure, e.Message.Service,
            e.Message.CompleteTime?.ToDateTimeOffset() ?? e.OccurredAt, e.Message.RecordsErased))], cancellationToken);
}
