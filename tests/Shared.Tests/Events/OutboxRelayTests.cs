using System.Collections.Concurrent;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// The relay as several replicas run it over one outbox: leasing, attempts, parking. The store is
/// SQLite, whose adapter shares the relay's logic with the MongoDB one; the clock is manual, so a
/// lease expires or a retry comes due only when the test says so.
/// </summary>
public sealed class OutboxRelayTests : IDisposable
{
    private static readonly EventsOptions Settings = new()
    {
        BatchSize = 16,
        MaxAttempts = 3,
        InitialBackoff = TimeSpan.FromSeconds(1),
        MaxBackoff = TimeSpan.FromSeconds(10),
    };

    private readonly TemporarySqlite _sqlite = new("profile");
    private readonly FakeTimeProvider _clock = TestClocks.Create();
    private readonly ScriptedTransport _transport = new();
    private readonly SqliteOutbox _outbox;

    public OutboxRelayTests() => _outbox = new SqliteOutbox("profile", _sqlite.Database);

    [Fact]
    public async Task RelayOnce_WhenTwoRelaysShareAnOutbox_PublishesEachEventOnce()
    {
        var events = await AppendAsync(100);
        var first = Relay();
        var second = Relay();

        await Task.WhenAll(DrainAsync(first), DrainAsync(second));

        Assert.Equal(events.Select(e => e.EventId).Order(), _transport.Published.Order());
        Assert.All(_transport.Attempts.Values, tries => Assert.Equal(1, tries));
    }

    [Fact]
    public async Task RelayOnce_WhenTheHolderStops_AnotherRelayTakesOverOnlyAfterItsLeaseExpires()
    {
        var events = await AppendAsync(40);
        var crashed = Relay();
        var survivor = Relay();

        await crashed.RelayOnceAsync(_outbox, default);
        await survivor.RelayOnceAsync(_outbox, default);
        Assert.Equal(Settings.BatchSize, _transport.Published.Count);

        _clock.Advance(Settings.OutboxLease + TimeSpan.FromSeconds(1));
        await DrainAsync(survivor);

        Assert.Equal(events.Select(e => e.EventId), _transport.Published);
    }

    [Fact]
    public async Task RelayOnce_WhenTheTransportAlwaysRefusesOneEvent_TheOthersFlowAndItIsParkedAfterMaxAttempts()
    {
        var events = await AppendAsync(5);
        var poison = events[1].EventId;
        _transport.Refused.Add(poison);
        var relay = Relay();

        for (var round = 0; round < 10; round++)
        {
            await AppendAsync(1);
            await relay.RelayOnceAsync(_outbox, default);
            _clock.Advance(Settings.MaxBackoff);
        }

        Assert.Equal(Settings.MaxAttempts, _transport.Attempts[poison]);
        Assert.DoesNotContain(poison, _transport.Published);
        Assert.Equal(14, _transport.Published.Count);
        Assert.Empty(await _outbox.ReadDueAsync(100, DateTimeOffset.MaxValue, default));
        var parked = Assert.Single(await _outbox.ListParkedAsync(10, default));
        Assert.Equal((poison, Settings.MaxAttempts, Settings.MaxAttempts), (parked.EventId, parked.Attempts, parked.Refusals));
    }

    [Fact]
    public async Task RelayOnce_WhenTheTransportIsDown_CountsEachRealAttemptOnceAndParksNothing()
    {
        var events = await AppendAsync(20);
        _transport.Down = true;
        var relays = new[] { Relay(), Relay() };

        for (var round = 0; round < 12; round++)
        {
            await relays[round % 2].RelayOnceAsync(_outbox, default);
            _clock.Advance(Settings.MaxBackoff + Settings.OutboxLease);
        }

        var stored = await _outbox.ReadDueAsync(100, DateTimeOffset.MaxValue, default);
        Assert.Equal(events.Count, stored.Count);
        Assert.All(stored, row => Assert.Equal(_transport.Attempts.GetValueOrDefault(row.Message.EventId), row.Attempts));

        _transport.Down = false;
        await DrainAsync(relays[0]);

        Assert.Equal(events.Select(e => e.EventId).Order(), _transport.Published.Order());
    }

    public void Dispose() => _sqlite.Dispose();

    private OutboxRelay Relay() => new([_outbox], _transport, Options.Create(Settings), _clock, NullLogger<OutboxRelay>.Instance);

    private async Task<List<OutboxMessage>> AppendAsync(int count)
    {
        var events = Enumerable.Range(0, count).Select(i => TestPipeline.Event($"e{i}")).ToList();
        foreach (var chunk in events.Chunk(7))
        {
            await TestPipeline.AppendAsync(_sqlite.Database, chunk);
        }

        return events;
    }

    /// <summary>Runs rounds until nothing is due (other relays may still be finishing theirs).</summary>
    private async Task DrainAsync(OutboxRelay relay)
    {
        for (var rounds = 0; rounds < 1_000 && (await _outbox.ReadDueAsync(1, _clock.GetUtcNow(), default)).Count > 0; rounds++)
        {
            await relay.RelayOnceAsync(_outbox, default);
            await Task.Yield();
        }
    }

    /// <summary>A broker that takes events in order and stops at the first it refuses, counting every try.</summary>
    private sealed class ScriptedTransport : IEventTransport
    {
        public ConcurrentQueue<string> PublishedQueue { get; } = new();

        public List<string> Published => [.. PublishedQueue];

        public ConcurrentDictionary<string, int> Attempts { get; } = new();

        public HashSet<string> Refused { get; } = [];

        public bool Down { get; set; }

        public async Task<int> PublishAsync(string source, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
        {
            var taken = 0;
            foreach (var message in messages)
            {
                // Let another relay's round interleave, as a network call would.
                await Task.Delay(1, cancellationToken);
                Attempts.AddOrUpdate(message.EventId, 1, (_, tries) => tries + 1);
                if (Down || Refused.Contains(message.EventId))
                {
                    return taken;
                }

                PublishedQueue.Enqueue(message.EventId);
                taken++;
            }

            return taken;
        }
    }
}
