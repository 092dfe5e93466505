using Google.Protobuf.WellKnownTypes;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Touchpoint.Domain;
using CommonV1 = Journey.Common.V1;

namespace Journey.Touchpoint.Events;

/// <summary>Builds the envelopes of the events this service publishes.</summary>
internal sealed class TouchpointEventMapper : ITouchpointEvents
{
    public OutboxMessage Changed(TouchpointDefinition touchpoint, DateTimeOffset now)
    {
        var payload = new TouchpointChanged
        {
            Touchpoint = touchpoint.Name,
            DisplayName = touchpoint.DisplayName,
            Channel = (CommonV1.Channel)touchpoint.Channel,
            Ownership = (CommonV1.Ownership)touchpoint.Ownership,
            Criticality = touchpoint.Criticality,
            Retired = touchpoint.Retired,
            Version = touchpoint.Version,
        };
        payload.Stages.AddRange(touchpoint.Stages.Select(s => (CommonV1.JourneyStage)s));
        payload.Topics.AddRange(touchpoint.Topics);
        return EventEnvelopes.Create(TouchpointTopics.TouchpointChanged, TouchpointModule.Name, payload, now);
    }

    public OutboxMessage Recorded(Interaction interaction, TouchpointDefinition touchpoint, DateTimeOffset now)
    {
        var payload = new InteractionRecorded
        {
            InteractionId = interaction.EventId,
            Touchpoint = touchpoint.Name,
            Channel = (CommonV1.Channel)touchpoint.Channel,
            Ownership = (CommonV1.Ownership)touchpoint.Ownership,
            OccurTime = Timestamp.FromDateTimeOffset(interaction.OccurredAt),
            Type = (CommonV1.InteractionType)interaction.Type,
            Content = interaction.Content,
            Recommendation = interaction.Recommendation,
            Rating = interaction.Rating,
            Criticality = touchpoint.Criticality,
        };
        // Plain loops: RepeatedField.AddRange over a lazy sequence takes a slow path on the ingest hot path.
        foreach (var stage in touchpoint.Stages)
        {
            payload.Stages.Add((CommonV1.JourneyStage)stage);
        }

        foreach (var identifier in interaction.Identifiers)
        {
            payload.Identifiers.Add(new CommonV1.Identifier { Kind = (CommonV1.IdentifierKind)identifier.Kind, Value = identifier.Value });
        }

        if (interaction.Value is { } value)
        {
            payload.Value = new CommonV1.Money { CurrencyCode = value.CurrencyCode, Units = value.Units, Nanos = value.Nanos };
        }

        foreach (var (key, text) in interaction.Properties)
        {
            payload.Properties[key] = text;
        }

        payload.Topics.AddRange(touchpoint.Topics);
        return EventEnvelopes.Create(TouchpointTopics.InteractionRecorded, TouchpointModule.Name, payload, now);
    }

    public OutboxMessage IdentityObserved(string source, string messageId, IReadOnlyList<PersonIdentifier> identifiers, IReadOnlyDictionary<string, string> traits, DateTimeOffset observedAt, DateTimeOffset now)
    {
        var payload = new IdentityObserved { Source = source, MessageId = messageId, ObserveTime = Timestamp.FromDateTimeOffset(observedAt) };
        foreach (var identifier in identifiers)
        {
            payload.Identifiers.Add(new CommonV1.Identifier { Kind = (CommonV1.IdentifierKind)identifier.Kind, Value = identifier.Value });
        }

        foreach (var (key, value) in traits)
        {
            payload.Traits[key] = value;
        }

        return EventEnvelopes.Create(TouchpointTopics.IdentityObserved, TouchpointModule.Name, payload, now);
    }

    public OutboxMessage ConsentObserved(string source, string messageId, IReadOnlyList<PersonIdentifier> identifiers, IReadOnlyList<(string PurposeId, bool Granted)> preferences, DateTimeOffset observedAt, DateTimeOffset now)
    {
        var payload = new ConsentObserved { Source = source, MessageId = messageId, ObserveTime = Timestamp.FromDateTimeOffset(observedAt) };
        foreach (var identifier in identifiers)
        {
            payload.Identifiers.Add(new CommonV1.Identifier { Kind = (CommonV1.IdentifierKind)identifier.Kind, Value = identifier.Value });
        }

        foreach (var (purposeId, granted) in preferences)
        {
            payload.Preferences.Add(new ObservedConsentPreference { Purpose = "purposes/" + purposeId, Granted = granted });
        }

        return EventEnvelopes.Create(TouchpointTopics.ConsentObserved, TouchpointModule.Name, payload, now);
    }

    public OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset now) =>
        EventEnvelopes.ErasureCompleted(TouchpointModule.Name, erasure, recordsErased, now);
}
