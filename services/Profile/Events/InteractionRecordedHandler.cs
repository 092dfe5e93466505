using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;

namespace Journey.Profile.Events;

/// <summary>Feeds recorded interactions into the profiles, a whole batch per transaction.</summary>
internal sealed class InteractionRecordedHandler(ProfileJourney journey) : IEventHandler<InteractionRecorded>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<InteractionRecorded>> events, CancellationToken cancellationToken) =>
        journey.ApplyAsync(events.Select(ToObserved).ToList(), cancellationToken);

    private static ObservedInteraction ToObserved(ReceivedEvent<InteractionRecorded> received)
    {
        var message = received.Message;
        if (message.Identifiers.Count == 0 || message.OccurredAt is null)
        {
            // Validated like a request: the touchpoint service never sends these, so it did not come from there.
            throw new InvalidArgumentException("identifiers", "an interaction event needs identifiers and occurred_at");
        }

        return new ObservedInteraction(
            received.EventId,
            message.Identifiers.Select(i => new PersonIdentifier((Domain.IdentifierKind)i.Kind, i.Value)).ToList(),
            message.OccurredAt.ToDateTimeOffset(),
            (int)message.Type,
            message.Stages.Select(s => (Domain.JourneyStage)s).ToList());
    }
}
