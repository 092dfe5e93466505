using System.Collections.Concurrent;
using Journey.Events.V1;
using Journey.Shared.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Consent.Tests.Grpc;

/// <summary>Collects the ConsentChanged events a subscriber receives.</summary>
public sealed class ConsentChangedCapture
{
    public ConcurrentQueue<ConsentChanged> Events { get; } = new();

    public ConcurrentQueue<ConsentChanged> Expired => new(Events.Where(e => e.Cause == ConsentChangeCause.Expired));

    /// <summary>Subscribes this capture to consent-changed in <paramref name="services"/>, standing in for the profile service.</summary>
    public void Subscribe(IServiceCollection services)
    {
        services.AddSingleton(this);
        services.AddEventHandler<ConsentChanged, Handler>("profile", new TopicSubscription(ConsentTopics.ConsentChanged, ConsentModule.Name));
    }

    internal sealed class Handler(ConsentChangedCapture capture) : IEventHandler<ConsentChanged>
    {
        public Task HandleAsync(IReadOnlyList<ReceivedEvent<ConsentChanged>> events, CancellationToken cancellationToken)
        {
            foreach (var received in events)
            {
                capture.Events.Enqueue(received.Message);
            }

            return Task.CompletedTask;
        }
    }
}
