using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Events;

/// <summary>The dispatcher under load: it reads the next batch and writes the last cursor move while the handler works, and hands over several batches at once where the subscription allows it.</summary>
public sealed class DispatchPipelineTests : IDisposable
{
    private readonly Deliveries _deliveries = new();
    private readonly TestBus _bus;
    private readonly EventSubscription _subscription;

    // Retry back-offs are due by the bus's clock: the tests move it past them (1 ms jittered up to 1.2 ms) instead of waiting.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly InProcessBus _sut;

    public DispatchPipelineTests()
    {
        _bus = new TestBus(handlers => handlers
            .AddSingleton(_deliveries)
            .AddEventHandler<StringValue, CountingHandler>("profile", TestTopics.FromTouchpoint));
        _subscription = _bus.Services.GetRequiredService<EventSubscription>();
        _sut = _bus.Open(new EventsOptions { BatchSize = 2, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) }, _time, _subscription);
    }

    [Fact]
    public async Task Rounds_WhileBatchesAreFull_DeliverEachEventOnceInOrderAndWriteTheCursorWhenTheyRunOut()
    {
        await _sut.PublishAsync("touchpoint", [.. Enumerable.Range(0, 5).Select(i => TestPipeline.Event($"e{i}"))], default);
        var pipeline = new DispatchPipeline(_sut, _subscription, _bus.Services);

        Assert.Equal(2, await pipeline.RunRoundAsync(default));
        Assert.Equal(2, await pipeline.RunRoundAsync(default));
        Assert.Equal(1, await pipeline.RunRoundAsync(default));

        Assert.Equal(["e0", "e1", "e2", "e3", "e4"], _deliveries.Values);
        Assert.Equal(0, await _sut.CountPendingAsync(_subscription.Name, default));
        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "events"));
    }

    [Fact]
    public async Task Rounds_WithARetryInABatchStillBeingHandled_DoNotReadTheRetryAgain()
    {
        _deliveries.FailuresLeft["r"] = 1;
        await _sut.PublishAsync("touchpoint", [TestPipeline.Event("r")], default);
        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);
        _time.Advance(TimeSpan.FromSeconds(1)); // past the retry's back-off (1 ms, jittered up to 1.2 ms)
        await _sut.PublishAsync("touchpoint", [.. Enumerable.Range(0, 4).Select(i => TestPipeline.Event($"e{i}"))], default);
        var pipeline = new DispatchPipeline(_sut, _subscription, _bus.Services);

        // The first batch is the retry and e0; the batch read ahead while it is handled must not hold the retry again.
        while (await pipeline.RunRoundAsync(default) == 2)
        {
        }

        Assert.Equal(["r", "r", "e0", "e1", "e2", "e3"], _deliveries.Values);
        Assert.Equal(0, await _sut.CountPendingAsync(_subscription.Name, default));
        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "deliveries"));
    }

    [Fact]
    public async Task Reset_WithABatchReadAheadButNotHandled_DeliversItFromTheStoredCursor()
    {
        await _sut.PublishAsync("touchpoint", [.. Enumerable.Range(0, 4).Select(i => TestPipeline.Event($"e{i}"))], default);
        var pipeline = new DispatchPipeline(_sut, _subscription, _bus.Services);
        Assert.Equal(2, await pipeline.RunRoundAsync(default)); // e0 and e1 handled; e2 and e3 read ahead

        // As after a failed round: what was read ahead is dropped, and the stored cursor decides what comes next.
        await pipeline.ResetAsync();
        Assert.Equal(2, await _sut.CountPendingAsync(_subscription.Name, default));
        while (await pipeline.RunRoundAsync(default) > 0)
        {
        }

        Assert.Equal(["e0", "e1", "e2", "e3"], _deliveries.Values);
        Assert.Equal(0, await _sut.CountPendingAsync(_subscription.Name, default));
    }

    [Fact]
    public async Task Rounds_WhenTwoBatchesMayBeInFlight_HandleTheNextWhileTheFirstWaitsAndMoveTheCursorOnlyPastBoth()
    {
        var collection = new ServiceCollection();
        collection.AddSingleton(_deliveries);
        collection.AddEventHandler<StringValue, CountingHandler>("profile", TestTopics.FromTouchpoint, deliveriesInFlight: 2);
        await using var services = collection.BuildServiceProvider();
        var subscription = services.GetRequiredService<EventSubscription>();
        using var bus = _bus.Open(new EventsOptions { BatchSize = 2 }, TimeProvider.System, subscription);
        await bus.PublishAsync("touchpoint", [.. Enumerable.Range(0, 4).Select(i => TestPipeline.Event($"e{i}"))], default);
        var firstBatchWaits = new TaskCompletionSource();
        _deliveries.Gates["e0"] = firstBatchWaits.Task;
        var pipeline = new DispatchPipeline(bus, subscription, services);

        Assert.Equal(2, await pipeline.RunRoundAsync(default).WaitAsync(Timeout));
        var second = pipeline.RunRoundAsync(default);
        var deadline = DateTime.UtcNow + Timeout;
        while (!_deliveries.Values.Contains("e3") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        // The second batch was handled while the first still waited; no cursor move may pass the first.
        Assert.Equal(["e2", "e3"], _deliveries.Values);
        Assert.False(second.IsCompleted);
        Assert.Equal(4, await bus.CountPendingAsync(subscription.Name, default));

        firstBatchWaits.SetResult();
        Assert.Equal(2, await second.WaitAsync(Timeout));
        while (await pipeline.RunRoundAsync(default).WaitAsync(Timeout) > 0)
        {
        }

        Assert.Equal(["e0", "e1", "e2", "e3"], _deliveries.Values.Order());
        Assert.Equal(0, await bus.CountPendingAsync(subscription.Name, default));
    }

    [Fact]
    public async Task Worker_WhenEventsArriveWithinTheCoalescingWindow_HandsThemOverInOneRound()
    {
        // The coalescing wait follows the bus's clock: until the test moves it, the round that the
        // first event woke cannot start, however slowly the second event is published.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options.Create(new EventsOptions { Coalescing = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromSeconds(30) });
        using var bus = _bus.Open(options.Value, time, _subscription);
        using var worker = new InProcessBusWorker(bus, _bus.Services, options, NullLogger<InProcessBusWorker>.Instance);
        await worker.StartAsync(default);
        // The worker's first round finds nothing; the events go out once it waits for work.
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(bus.IdleDispatchers > 0)), "the worker never waited for work");

        await bus.PublishAsync("touchpoint", [TestPipeline.Event("a")], default);
        await bus.PublishAsync("touchpoint", [TestPipeline.Event("b")], default);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_deliveries.Values.Count < 2 && DateTime.UtcNow < deadline)
        {
            time.Advance(TimeSpan.FromMilliseconds(300));
            await Task.Delay(10);
        }

        await worker.StopAsync(default);
        Assert.Equal(["a", "b"], _deliveries.Values);
        Assert.Equal([2], _deliveries.Batches);
    }

    private static TimeSpan Timeout => TimeSpan.FromSeconds(10);

    public void Dispose()
    {
        _sut.Dispose();
        _bus.Dispose();
    }

    /// <summary>Every delivery, repeats included, with scripted failures and events that wait before they are handled.</summary>
    internal sealed class Deliveries
    {
        private readonly ConcurrentQueue<string> _values = new();

        public ConcurrentDictionary<string, int> FailuresLeft { get; } = new();

        public ConcurrentDictionary<string, Task> Gates { get; } = new();

        public List<string> Values => [.. _values];

        public ConcurrentQueue<int> Batches { get; } = new();

        public void Add(string value) => _values.Enqueue(value);
    }

    internal sealed class CountingHandler(Deliveries deliveries) : IEventHandler<StringValue>
    {
        public async Task HandleAsync(IReadOnlyList<ReceivedEvent<StringValue>> events, CancellationToken cancellationToken)
        {
            deliveries.Batches.Enqueue(events.Count);
            foreach (var received in events)
            {
                if (deliveries.Gates.TryGetValue(received.Message.Value, out var gate))
                {
                    await gate.WaitAsync(Timeout, cancellationToken);
                }

                deliveries.Add(received.Message.Value);
                if (deliveries.FailuresLeft.TryGetValue(received.Message.Value, out var left) && left > 0)
                {
                    deliveries.FailuresLeft[received.Message.Value] = left - 1;
                    throw new InvalidOperationException("scripted failure");
                }
            }
        }
    }
}
