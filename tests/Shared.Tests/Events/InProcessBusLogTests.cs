using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary>The bus's log: one row per event whatever the number of subscriptions, a cursor per subscription, trimmed behind the slowest.</summary>
public sealed class InProcessBusLogTests : IDisposable
{
    private readonly TestBus _bus;
    private readonly EventSubscription _profile;
    private readonly EventSubscription _recommendation;
    private readonly EventSubscription _erasure;

    public InProcessBusLogTests()
    {
        _bus = new TestBus(handlers => handlers
            .AddSingleton<Received>()
            .AddEventHandler<StringValue, ProfileHandler>("profile", TestTopics.FromTouchpoint)
            .AddEventHandler<StringValue, RecommendationHandler>("recommendation", TestTopics.FromTouchpoint)
            .AddEventHandler<StringValue, TouchpointHandler>("touchpoint", new TopicSubscription(Topics.ErasureRequested, "consent")));
        var subscriptions = _bus.Services.GetServices<EventSubscription>().ToList();
        (_profile, _recommendation, _erasure) = (subscriptions[0], subscriptions[1], subscriptions[2]);
    }

    private Received Seen => _bus.Services.GetRequiredService<Received>();

    [Fact]
    public async Task Publish_WithTwoSubscriptionsOnATopic_LogsTheEventOnceAndDeliversItToBoth()
    {
        using var bus = Open(_profile, _recommendation, _erasure);

        await bus.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("b")], default);
        Assert.Equal(2, await TestPipeline.CountAsync(_bus.Database, "events"));

        await bus.DispatchOnceAsync(_profile, _bus.Services, default);
        await bus.DispatchOnceAsync(_recommendation, _bus.Services, default);

        Assert.Equal(["a", "b"], Seen.Of(_profile));
        Assert.Equal(["a", "b"], Seen.Of(_recommendation));
        Assert.Equal(0, await bus.CountPendingAsync(_profile.Name, default));
    }

    [Fact]
    public async Task Dispatch_TrimsTheLogOnlyBehindTheSlowestSubscription()
    {
        using var bus = Open(_profile, _recommendation, _erasure);
        await bus.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("b")], default);

        await bus.DispatchOnceAsync(_profile, _bus.Services, default);
        await bus.DispatchOnceAsync(_erasure, _bus.Services, default);
        Assert.Equal(2, await TestPipeline.CountAsync(_bus.Database, "events"));
        Assert.Equal(2, await bus.CountPendingAsync(_recommendation.Name, default));

        await bus.DispatchOnceAsync(_recommendation, _bus.Services, default);

        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "events"));
        Assert.Empty(Seen.Of(_erasure));
    }

    [Fact]
    public async Task Dispatch_SkipsOtherTopicsAndKeepsTheOrderOfItsOwn()
    {
        using var bus = Open(_profile, _erasure);
        var erasure = EventEnvelopes.Create(Topics.ErasureRequested, "consent", new StringValue { Value = "forget" }, DateTimeOffset.UtcNow);

        await bus.PublishAsync("touchpoint", [TestPipeline.Event("a")], default);
        await bus.PublishAsync("consent", [erasure], default);
        await bus.PublishAsync("touchpoint", [TestPipeline.Event("b")], default);
        await bus.DispatchOnceAsync(_profile, _bus.Services, default);
        await bus.DispatchOnceAsync(_erasure, _bus.Services, default);

        Assert.Equal(["a", "b"], Seen.Of(_profile));
        Assert.Equal(["forget"], Seen.Of(_erasure));
    }

    [Fact]
    public async Task Dispatch_WhenBatchSizeIsReached_TakesTheRestNextRound()
    {
        using var bus = _bus.Open(new EventsOptions { BatchSize = 3 }, TimeProvider.System, _profile);
        await bus.PublishAsync("touchpoint", [.. Enumerable.Range(0, 5).Select(i => TestPipeline.Event($"e{i}"))], default);

        Assert.Equal(3, await bus.DispatchOnceAsync(_profile, _bus.Services, default));
        Assert.Equal(2, await bus.DispatchOnceAsync(_profile, _bus.Services, default));
        Assert.Equal(0, await bus.DispatchOnceAsync(_profile, _bus.Services, default));

        Assert.Equal(["e0", "e1", "e2", "e3", "e4"], Seen.Of(_profile));
    }

    [Fact]
    public async Task Reopen_DeliversWhatWasLoggedButNotDelivered()
    {
        using (var before = Open(_profile))
        {
            await before.PublishAsync("touchpoint", [TestPipeline.Event("kept")], default);
        }

        using var after = Open(_profile);
        await after.DispatchOnceAsync(_profile, _bus.Services, default);

        Assert.Equal(["kept"], Seen.Of(_profile));
    }

    [Fact]
    public async Task Open_WithANewSubscription_StartsItAtTheEndOfTheLog()
    {
        using (var before = Open(_profile))
        {
            await before.PublishAsync("touchpoint", [TestPipeline.Event("old")], default);
        }

        using var after = Open(_profile, _recommendation);
        await after.PublishAsync("touchpoint", [TestPipeline.Event("new")], default);
        await after.DispatchOnceAsync(_profile, _bus.Services, default);
        await after.DispatchOnceAsync(_recommendation, _bus.Services, default);

        Assert.Equal(["old", "new"], Seen.Of(_profile));
        Assert.Equal(["new"], Seen.Of(_recommendation));
    }

    [Fact]
    public async Task Dispatch_WhenTheLogLetsGoOfAnErasureRequest_LeavesNoEnvelopeBeforeItInAnyFile()
    {
        using var bus = Open(_profile, _erasure);
        var needles = new Dictionary<string, byte[]> { ["interaction"] = "person-4711-interaction"u8.ToArray(), ["erasure"] = "person-4711-erasure"u8.ToArray() };
        await bus.PublishAsync("touchpoint", [TestPipeline.Event("person-4711-interaction")], default);
        await bus.PublishAsync("consent", [EventEnvelopes.Create(Topics.ErasureRequested, "consent", new StringValue { Value = "person-4711-erasure" }, DateTimeOffset.UtcNow)], default);
        Assert.Equal(2, StoredBytes.Find(StoredBytes.FilesOf(_bus.Database.Path), needles).Count);

        await bus.DispatchOnceAsync(_profile, _bus.Services, default);
        await bus.DispatchOnceAsync(_erasure, _bus.Services, default);

        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "events"));
        Assert.Empty(StoredBytes.Find(StoredBytes.FilesOf(_bus.Database.Path), needles));
    }

    public void Dispose() => _bus.Dispose();

    private InProcessBus Open(params EventSubscription[] subscriptions) =>
        _bus.Open(new EventsOptions(), TimeProvider.System, subscriptions);

    /// <summary>What each subscription's handler was given, in order.</summary>
    internal sealed class Received
    {
        private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _values = new();

        public void Add(string service, string value) => _values.GetOrAdd(service, _ => new()).Enqueue(value);

        public List<string> Of(EventSubscription subscription) => [.. _values.GetValueOrDefault(subscription.Service) ?? []];
    }

    internal abstract class ListingHandler(Received received, string service) : IEventHandler<StringValue>
    {
        public Task HandleAsync(IReadOnlyList<ReceivedEvent<StringValue>> events, CancellationToken cancellationToken)
        {
            foreach (var e in events)
            {
                received.Add(service, e.Message.Value);
            }

            return Task.CompletedTask;
        }
    }

    internal sealed class ProfileHandler(Received received) : ListingHandler(received, "profile");

    internal sealed class RecommendationHandler(Received received) : ListingHandler(received, "recommendation");

    internal sealed class TouchpointHandler(Received received) : ListingHandler(received, "touchpoint");
}
