using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Shared.Events;

namespace Journey.Profile.Events;

/// <summary>Maps profile changes to journey.events.v1 messages.</summary>
internal sealed class ProfileEvents : IProfileEvents
{
    public OutboxMessage ProfileUpdated(PersonProfile profile, DateTimeOffset now)
    {
        var payload = new ProfileUpdated
        {
            Profile = $"profiles/{profile.Id}",
            CustomerType = (Journey.Events.V1.CustomerType)profile.CustomerType,
            Stage = (Common.V1.JourneyStage)profile.Stage,
            ProfilingAllowed = true,
            LastInteractionAt = Timestamp.FromDateTimeOffset(profile.LastInteractionAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(now),
            Version = profile.Version,
        };
        payload.Identifiers.AddRange(profile.Identifiers.Select(i => new Identifier { Kind = (Common.V1.IdentifierKind)i.Kind, Value = i.Value }));
        return EventEnvelopes.Create(Topics.ProfileUpdated, ProfileModule.Name, payload, now);
    }
}
