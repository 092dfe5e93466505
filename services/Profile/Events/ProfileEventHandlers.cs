using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;

namespace Journey.Profile.Events;

/// <summary>Journey state from interactions: the whole batch in one store transaction.</summary>
internal sealed class InteractionRecordedHandler(IngestUseCases useCases) : IEventHandler<InteractionRecorded>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<InteractionRecorded>> events, CancellationToken cancellationToken)
    {
        var interactions = new List<Interaction>(events.Count);
        foreach (var received in events)
        {
            var message = received.Message;
            var identifiers = ProfileEventMapper.FromEvent(message.Identifiers, "identifiers");
            if (identifiers.Count == 0)
            {
                throw new InvalidArgumentException("identifiers", "an interaction needs at least one identifier");
            }

            if (message.OccurTime is null)
            {
                throw new InvalidArgumentException("occur_time", "is required");
            }

            var content = message.Content.StartsWith("contents/", StringComparison.Ordinal) ? message.Content["contents/".Length..] : message.Content;
            interactions.Add(new Interaction(
                received.EventId,
                identifiers,
                (InteractionType)message.Type,
                message.Stages.Select(s => (Domain.JourneyStage)s).ToList(),
                (int)message.Channel,
                message.OccurTime.ToDateTimeOffset(),
                content,
                message.Topics.Where(t => t.Length is > 0 and <= 100).Take(32).ToList())
            {
                PublishedAt = received.OccurredAt,
            });
        }

        return useCases.ApplyInteractionsAsync(interactions, cancellationToken);
    }
}

/// <summary>Identities from the tracking API (identify and alias), linked like an interaction's identifiers.</summary>
internal sealed class IdentityObservedHandler(IngestUseCases useCases) : IEventHandler<IdentityObserved>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<IdentityObserved>> events, CancellationToken cancellationToken)
    {
        var identities = new List<ObservedIdentity>(events.Count);
        foreach (var received in events)
        {
            var message = received.Message;
            var identifiers = ProfileEventMapper.FromEvent(message.Identifiers, "identifiers");
            if (identifiers.Count == 0)
            {
                throw new InvalidArgumentException("identifiers", "an observed identity needs at least one identifier");
            }

            if (message.ObserveTime is null)
            {
                throw new InvalidArgumentException("observe_time", "is required");
            }

            identities.Add(new ObservedIdentity(received.EventId, identifiers, message.Traits, message.ObserveTime.ToDateTimeOffset()));
        }

        return useCases.ApplyObservedIdentitiesAsync(identities, cancellationToken);
    }
}

/// <summary>
/// Consent decisions on profiling and on the purposes that govern a channel; decisions on other
/// purposes are skipped before anything is read, so a bulk import of them costs nothing here.
/// </summary>
internal sealed class ConsentChangedHandler(IngestUseCases useCases) : IEventHandler<ConsentChanged>
{
    public Task HandleAsync(IReadOnlyList<ReceivedEvent<ConsentChanged>> events, CancellationToken cancellationToken)
    {
        var decisions = new List<ConsentDecision>();
        foreach (var received in events)
        {
            var message = received.Message;
            if (!useCases.IsKept(message.Purpose))
            {
                continue;
            }

            var identifiers = ProfileEventMapper.FromEvent(message.Identifiers, "identifiers");
            if (identifiers.Count == 0)
            {
                throw new InvalidArgumentException("identifiers", "a consent decision needs at least one identifier");
            }

            var channels = message.Channels.Select(c => (ChannelKind)c).Where(c => c != ChannelKind.Unspecified).Distinct().ToList();
            var decidedAt = message.EffectiveTime?.ToDateTimeOffset() ?? received.OccurredAt;
            decisions.Add(new ConsentDecision(received.EventId, identifiers, message.Purpose, message.Granted, channels, decidedAt, received.OccurredAt));
        }

        return decisions.Count == 0 ? Task.CompletedTask : useCases.ApplyConsentAsync(decisions, cancellationToken);
    }
}

/// <summary>Erasure requests from the consent service, one person at a time.</summary>
internal sealed class ErasureRequestedHandler(ErasureUseCases useCases) : IEventHandler<ErasureRequested>
{
    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<ErasureRequested>> events, CancellationToken cancellationToken)
    {
        foreach (var received in events)
        {
            var identifiers = ProfileEventMapper.FromEvent(received.Message.Identifiers, "identifiers");
            await useCases.EraseRequestedAsync(received.EventId, received.Message.Erasure, identifiers, received.Message.RequestTime?.ToDateTimeOffset() ?? received.OccurredAt, cancellationToken);
        }
    }
}
