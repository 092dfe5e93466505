using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Events;

/// <summary>Maps domain changes to the integration events of journey.events.v1.</summary>
internal sealed class TouchpointEvents : ITouchpointEvents
{
    public OutboxMessage TouchpointChanged(TouchpointEntry entry, DateTimeOffset now)
    {
        var payload = new TouchpointChanged
        {
            Touchpoint = $"touchpoints/{entry.Id}",
            DisplayName = entry.DisplayName,
            Channel = (Common.V1.Channel)entry.Channel,
            Ownership = (Common.V1.Ownership)entry.Ownership,
            Criticality = entry.Criticality,
            Retired = entry.Retired,
            Version = entry.Version,
        };
        payload.Stages.AddRange(entry.Stages.Select(s => (Common.V1.JourneyStage)s));
        payload.Topics.AddRange(entry.Topics);
        return EventEnvelopes.Create(Topics.TouchpointChanged, TouchpointModule.Name, payload, now);
    }

    public OutboxMessage InteractionRecorded(Interaction interaction, TouchpointEntry touchpoint, DateTimeOffset now)
    {
        var payload = new InteractionRecorded
        {
            InteractionId = interaction.InteractionId,
            Touchpoint = interaction.TouchpointId,
            Channel = (Common.V1.Channel)touchpoint.Channel,
            Ownership = (Common.V1.Ownership)touchpoint.Ownership,
            OccurredAt = Timestamp.FromDateTimeOffset(interaction.OccurredAt!.Value),
            Type = (Common.V1.InteractionType)interaction.Type,
            Content = interaction.ContentId,
            Recommendation = interaction.RecommendationId,
            Rating = interaction.Rating,
            Criticality = touchpoint.Criticality,
        };
        payload.Stages.AddRange(touchpoint.Stages.Select(s => (Common.V1.JourneyStage)s));
        payload.Identifiers.AddRange(interaction.Identifiers.Select(i => new Identifier { Kind = (Common.V1.IdentifierKind)i.Kind, Value = i.Value }));
        payload.Topics.AddRange(touchpoint.Topics);
        foreach (var (key, value) in interaction.Properties)
        {
            payload.Properties[key] = value;
        }
        if (interaction.Value is { } money)
        {
            payload.Value = new Common.V1.Money { CurrencyCode = money.CurrencyCode, Units = money.Units, Nanos = money.Nanos };
        }

        return EventEnvelopes.Create(Topics.InteractionRecorded, TouchpointModule.Name, payload, now);
    }
}
