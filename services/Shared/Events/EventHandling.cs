using System.Diagnostics;
using Google.Protobuf;
using Journey.Events.V1;
using Journey.Shared.Errors;
using Journey.Shared.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Events;

/// <summary>An event as a handler receives it.</summary>
/// <typeparam name="TEvent">The payload type.</typeparam>
/// <param name="EventId">The envelope id; claim it in the inbox in the same transaction as the effect.</param>
/// <param name="Source">The publishing service.</param>
/// <param name="OccurredAt">When the publisher wrote it.</param>
/// <param name="Message">The payload.</param>
public sealed record ReceivedEvent<TEvent>(string EventId, string Source, DateTimeOffset OccurredAt, TEvent Message);

/// <summary>
/// Handles one topic for one service. Batches let a handler apply many events in one store
/// transaction; the dispatcher retries a failed batch one event at a time, so one bad event never
/// holds back good ones. Must be idempotent (claim each event id in the inbox).
/// </summary>
/// <typeparam name="TEvent">The payload type.</typeparam>
public interface IEventHandler<TEvent>
    where TEvent : IMessage<TEvent>
{
    /// <summary>Applies <paramref name="events"/>. Throw to have the batch retried.</summary>
    Task HandleAsync(IReadOnlyList<ReceivedEvent<TEvent>> events, CancellationToken cancellationToken);
}

/// <summary>An event that can never be handled (unparseable, wrong type, invalid content): parked at once instead of retried.</summary>
public sealed class PoisonEventException(string reason) : Exception(reason);

/// <summary>One service's subscription to one topic, with the code that parses and handles its events.</summary>
public sealed class EventSubscription
{
    private readonly Func<IServiceProvider, IReadOnlyList<EventEnvelope>, CancellationToken, Task> _handle;

    internal EventSubscription(string service, TopicSubscription subscription, MessageDescriptorInfo payload, Func<IServiceProvider, IReadOnlyList<EventEnvelope>, CancellationToken, Task> handle, int deliveriesInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(deliveriesInFlight);
        Service = service;
        Topic = subscription.Topic;
        Publishers = subscription.Publishers;
        PayloadType = payload.FullName;
        DeliveriesInFlight = deliveriesInFlight;
        _handle = handle;
    }

    /// <summary>The subscribing service.</summary>
    public string Service { get; }

    /// <summary>The topic.</summary>
    public string Topic { get; }

    /// <summary>The services whose events on the topic this subscription accepts.</summary>
    public IReadOnlyList<string> Publishers { get; }

    /// <summary>The full proto name of the payload this subscription accepts.</summary>
    public string PayloadType { get; }

    /// <summary>
    /// How many batches the in-process bus hands this subscription's handler at once. Above one, the
    /// handler must be safe to run beside itself, as it must be anyway behind Dapr, which pushes
    /// events to a service concurrently and in no guaranteed order.
    /// </summary>
    public int DeliveriesInFlight { get; }

    /// <summary>The subscription's name: <c>service.topic</c>.</summary>
    public string Name => $"{Service}.{Topic}";

    /// <summary>Parses envelope bytes; throws <see cref="PoisonEventException"/> when they are not an envelope for this subscription.</summary>
    public EventEnvelope Parse(byte[] bytes)
    {
        EventEnvelope envelope;
        try
        {
            envelope = EventEnvelope.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new PoisonEventException("The event is not a journey.events.v1.EventEnvelope.");
        }

        if (string.IsNullOrEmpty(envelope.EventId))
        {
            throw new PoisonEventException("The event has no event_id.");
        }

        if (envelope.Topic != Topic || envelope.Type != PayloadType)
        {
            throw new PoisonEventException($"Subscription {Name} accepts {PayloadType} on topic {Topic}, not {envelope.Type} on topic {envelope.Topic}.");
        }

        // Only the services the subscription names may publish the topic: anything else is refused, not handled.
        if (!Publishers.Contains(envelope.Source, StringComparer.Ordinal))
        {
            throw new PoisonEventException($"Topic {Topic} is not published by '{envelope.Source}'.");
        }

        return envelope;
    }

    /// <summary>Handles a batch in a DI scope, inside one consumer span linked to each event's trace.</summary>
    public async Task HandleAsync(IServiceProvider services, IReadOnlyList<EventEnvelope> envelopes, CancellationToken cancellationToken)
    {
        using var activity = StartConsumerActivity(envelopes);
        JourneyTelemetry.EventsReceived.Add(envelopes.Count, new KeyValuePair<string, object?>("subscription", Name));
        await using var scope = services.CreateAsyncScope();
        try
        {
            await _handle(scope.ServiceProvider, envelopes, cancellationToken);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    private Activity? StartConsumerActivity(IReadOnlyList<EventEnvelope> envelopes)
    {
        var name = $"process {Topic}";
        if (envelopes.Count == 1)
        {
            ActivityContext.TryParse(envelopes[0].Traceparent, envelopes[0].Tracestate, isRemote: true, out var parent);
            var single = JourneyTelemetry.Events.StartActivity(name, ActivityKind.Consumer, parent);
            single?.SetTag("messaging.message.id", envelopes[0].EventId);
            single?.SetTag("messaging.destination.subscription.name", Name);
            return single;
        }

        var links = new List<ActivityLink>(envelopes.Count);
        foreach (var envelope in envelopes)
        {
            if (ActivityContext.TryParse(envelope.Traceparent, envelope.Tracestate, isRemote: true, out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        var batch = JourneyTelemetry.Events.StartActivity(name, ActivityKind.Consumer, default(ActivityContext), links: links);
        batch?.SetTag("messaging.batch.message_count", envelopes.Count);
        batch?.SetTag("messaging.destination.subscription.name", Name);
        return batch;
    }

    internal static EventSubscription Create<TEvent, THandler>(string service, TopicSubscription subscription, int deliveriesInFlight)
        where TEvent : IMessage<TEvent>, new()
        where THandler : IEventHandler<TEvent>
    {
        var descriptor = new TEvent().Descriptor;
        return new EventSubscription(service, subscription, new MessageDescriptorInfo(descriptor.FullName), async (provider, envelopes, ct) =>
        {
            var events = new List<ReceivedEvent<TEvent>>(envelopes.Count);
            foreach (var envelope in envelopes)
            {
                TEvent message;
                try
                {
                    message = (TEvent)descriptor.Parser.ParseFrom(envelope.Payload);
                }
                catch (InvalidProtocolBufferException)
                {
                    throw new PoisonEventException($"The payload of event {envelope.EventId} is not a valid {descriptor.FullName}.");
                }

                events.Add(new ReceivedEvent<TEvent>(envelope.EventId, envelope.Source, envelope.OccurTime?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch, message));
            }

            try
            {
                await provider.GetRequiredService<THandler>().HandleAsync(events, ct);
            }
            catch (DomainException ex) when (ex.Kind == ErrorKind.InvalidArgument)
            {
                // Invalid content will be just as invalid on the next try.
                throw new PoisonEventException(ex.Message);
            }
        }, deliveriesInFlight);
    }
}

/// <summary>The name of a payload type, kept apart so subscriptions need no descriptor at hand.</summary>
/// <param name="FullName">The full proto name.</param>
internal readonly record struct MessageDescriptorInfo(string FullName);

/// <summary>Registration of event handlers.</summary>
public static class EventHandlerRegistration
{
    /// <summary>Subscribes <paramref name="service"/> to <paramref name="subscription"/>'s topic with <typeparamref name="THandler"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="service">The subscribing service.</param>
    /// <param name="subscription">The topic and the services it is accepted from, as the module declares it in <see cref="Hosting.JourneyModule.Subscribes"/>.</param>
    /// <param name="deliveriesInFlight">Batches the in-process bus hands the handler at once (<see cref="EventSubscription.DeliveriesInFlight"/>).</param>
    public static IServiceCollection AddEventHandler<TEvent, THandler>(this IServiceCollection services, string service, TopicSubscription subscription, int deliveriesInFlight = 1)
        where TEvent : IMessage<TEvent>, new()
        where THandler : class, IEventHandler<TEvent>
    {
        services.AddScoped<THandler>();
        services.AddSingleton(EventSubscription.Create<TEvent, THandler>(service, subscription, deliveriesInFlight));
        return services;
    }

    /// <summary>
    /// Where the handlers a host registered and the modules' declared subscriptions disagree, as one
    /// line; null when they agree. Each of <paramref name="services"/> (the enabled ones) must handle
    /// every topic it declares, and every handler must be declared: the pubsub manifests grant what the
    /// declarations say, so a declared subscriber without a handler leaves its events piling up unread.
    /// </summary>
    /// <param name="services">The services the host runs.</param>
    /// <param name="subscriptions">The subscriptions their handlers registered.</param>
    /// <param name="subscribers">The declared subscribers of each topic (<see cref="TopicMap.Subscribers"/>).</param>
    public static string? Disagreement(IEnumerable<string> services, IEnumerable<EventSubscription> subscriptions, IReadOnlyDictionary<string, IReadOnlyList<string>> subscribers)
    {
        var registered = subscriptions.Select(s => (s.Service, s.Topic)).ToHashSet();
        var problems = new List<string>();
        foreach (var service in services.Distinct(StringComparer.Ordinal))
        {
            foreach (var (topic, listed) in subscribers.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                if (listed.Contains(service) && !registered.Contains((service, topic)))
                {
                    problems.Add($"The {service} module subscribes to topic '{topic}', but the {service} service registers no handler for it: add one with AddEventHandler, or remove the topic from the module's Subscribes (and its pubsub grants).");
                }
            }
        }

        foreach (var (service, topic) in registered.OrderBy(r => r.Topic, StringComparer.Ordinal).ThenBy(r => r.Service, StringComparer.Ordinal))
        {
            if (!subscribers.TryGetValue(topic, out var listed) || !listed.Contains(service))
            {
                problems.Add($"The {service} service handles topic '{topic}', but the {service} module does not declare it in Subscribes: add it, so manifests and code agree.");
            }
        }

        return problems.Count == 0 ? null : string.Join(" ", problems);
    }
}
