using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.Domain;
using Journey.Events.V1;
using Journey.Shared.Events;

namespace Journey.Consent.Events;

/// <summary>Maps ledger records to journey.events.v1.ConsentChanged.</summary>
internal sealed class ConsentEvents : IConsentEvents
{
    public OutboxMessage ConsentChanged(ConsentRecord record, IReadOnlyList<SubjectIdentifier> identifiers, DateTimeOffset? expiresAt)
    {
        var payload = new ConsentChanged
        {
            Subject = $"subjects/{record.SubjectId}",
            Purpose = $"purposes/{record.PurposeId}",
            Granted = record.Granted,
            PolicyVersion = record.PolicyVersion,
            EffectiveAt = Timestamp.FromDateTimeOffset(record.CapturedAt),
            ExpiresAt = expiresAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
            Record = $"subjects/{record.SubjectId}/records/{record.Sequence}",
        };
        payload.Identifiers.AddRange(identifiers.Select(i => new Identifier { Kind = (Common.V1.IdentifierKind)i.Kind, Value = i.Value }));
        payload.Channels.AddRange(record.Channels.Select(c => (Channel)c));
        return EventEnvelopes.Create(Topics.ConsentChanged, ConsentModule.Name, payload, record.RecordedAt);
    }
}
