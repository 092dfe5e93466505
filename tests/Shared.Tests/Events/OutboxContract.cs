using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Testing;

namespace Journey.Shared.Tests.Events;

/// <summary>The outbox port's contract: every adapter must pass it.</summary>
public abstract class OutboxContract
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The outbox under test.</summary>
    protected abstract IOutboxStore Outbox { get; }

    /// <summary>Appends in a store transaction, committed or rolled back.</summary>
    protected abstract Task AppendAsync(IReadOnlyList<OutboxMessage> messages, bool commit);

    [ContractFact]
    public async Task ReadDue_WhenAppendCommitted_ReturnsEveryFieldInAppendOrder()
    {
        var messages = Enumerable.Range(0, 5).Select(i => TestPipeline.Event($"e{i}")).ToList();

        await AppendAsync(messages, commit: true);

        var due = await Outbox.ReadDueAsync(10, Now, default);
        Assert.Equal(messages.Select(m => m.EventId), due.Select(d => d.Message.EventId));
        Assert.Equal(messages.Select(m => m.Topic), due.Select(d => d.Message.Topic));
        Assert.Equal(messages.Select(m => Convert.ToHexString(m.Envelope)), due.Select(d => Convert.ToHexString(d.Message.Envelope)));
        Assert.All(due, d => Assert.Equal(0, d.Attempts));
    }

    [ContractFact]
    public async Task ReadDue_WhenAppendRolledBack_ReturnsNothing()
    {
        await AppendAsync([TestPipeline.Event("lost")], commit: false);

        Assert.Empty(await Outbox.ReadDueAsync(10, Now, default));
    }

    [ContractFact]
    public async Task ReadDue_WhenMoreThanMax_ReturnsOldestFirst()
    {
        var messages = Enumerable.Range(0, 4).Select(i => TestPipeline.Event($"e{i}")).ToList();
        await AppendAsync(messages, commit: true);

        var due = await Outbox.ReadDueAsync(2, Now, default);

        Assert.Equal(messages.Take(2).Select(m => m.EventId), due.Select(d => d.Message.EventId));
    }

    [ContractFact]
    public async Task MarkSent_RemovesOnlyThoseRows()
    {
        await AppendAsync([TestPipeline.Event("a"), TestPipeline.Event("b")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);

        await Outbox.MarkSentAsync([due[0]], default);

        Assert.Equal([due[1].Message.EventId], (await Outbox.ReadDueAsync(10, Now, default)).Select(d => d.Message.EventId));
    }

    [ContractFact]
    public async Task ReadDue_WhenManyEventsInOneTransactionAndAnother_ReturnsAppendOrder()
    {
        var sameMillisecond = Enumerable.Range(0, 300).Select(i => EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = $"e{i}" }, Now)).ToList();
        var olderButLater = Enumerable.Range(0, 5).Select(i => EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = $"o{i}" }, Now.AddHours(-1))).ToList();

        await AppendAsync(sameMillisecond, commit: true);
        await AppendAsync(olderButLater, commit: true);

        var due = await Outbox.ReadDueAsync(1_000, Now, default);
        Assert.Equal(sameMillisecond.Concat(olderButLater).Select(m => m.EventId), due.Select(d => d.Message.EventId));
    }

    [ContractFact]
    public async Task Defer_HidesRowsUntilDueAndCountsTheAttempt()
    {
        await AppendAsync([TestPipeline.Event("a")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);

        await Outbox.DeferAsync(due, refused: false, Now.AddSeconds(30), default);

        Assert.Empty(await Outbox.ReadDueAsync(10, Now.AddSeconds(29), default));
        Assert.False(await Outbox.HasDueAsync(Now.AddSeconds(29), default));
        var later = Assert.Single(await Outbox.ReadDueAsync(10, Now.AddSeconds(30), default));
        Assert.True(await Outbox.HasDueAsync(Now.AddSeconds(30), default));
        Assert.Equal((1, 0), (later.Attempts, later.Refusals));
    }

    [ContractFact]
    public async Task Defer_WhenRefused_CountsTheAttemptAndTheRefusalOnce()
    {
        await AppendAsync([TestPipeline.Event("a"), TestPipeline.Event("b")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);

        await Outbox.DeferAsync([due[0]], refused: true, Now, default);
        await Outbox.DeferAsync([due[0]], refused: false, Now, default);

        var rows = await Outbox.ReadDueAsync(10, Now, default);
        Assert.Equal([(2, 1), (0, 0)], rows.Select(r => (r.Attempts, r.Refusals)));
    }

    [ContractFact]
    public async Task HasDue_WhenEmpty_IsFalse()
    {
        Assert.False(await Outbox.HasDueAsync(Now, default));

        await AppendAsync([TestPipeline.Event("a")], commit: true);

        Assert.True(await Outbox.HasDueAsync(Now, default));
    }

    [ContractFact]
    public async Task Lease_WhenHeldByAnother_IsRefusedUntilItRunsOut()
    {
        var lease = TimeSpan.FromSeconds(30);

        Assert.True(await Outbox.TryLeaseAsync("a", Now, lease, default));
        Assert.False(await Outbox.TryLeaseAsync("b", Now, lease, default));
        Assert.True(await Outbox.TryLeaseAsync("a", Now.AddSeconds(10), lease, default));
        Assert.False(await Outbox.TryLeaseAsync("b", Now.AddSeconds(39), lease, default));
        Assert.True(await Outbox.TryLeaseAsync("b", Now.AddSeconds(40), lease, default));
        Assert.False(await Outbox.TryLeaseAsync("a", Now.AddSeconds(41), lease, default));
    }

    [ContractFact]
    public async Task Lease_WhenReleasedByItsHolder_IsFreeAtOnce()
    {
        var lease = TimeSpan.FromSeconds(30);
        Assert.True(await Outbox.TryLeaseAsync("a", Now, lease, default));

        await Outbox.ReleaseLeaseAsync("b", default);
        Assert.False(await Outbox.TryLeaseAsync("b", Now, lease, default));
        await Outbox.ReleaseLeaseAsync("a", default);

        Assert.True(await Outbox.TryLeaseAsync("b", Now, lease, default));
    }

    [ContractFact]
    public async Task Park_MovesTheRowOutOfTheOutboxAndListsIt()
    {
        await AppendAsync([TestPipeline.Event("a"), TestPipeline.Event("b")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);
        await Outbox.DeferAsync([due[0]], refused: true, Now, default);
        var refused = (await Outbox.ReadDueAsync(10, Now, default))[0];

        await Outbox.ParkAsync(refused, "refused", Now.AddMinutes(1), default);

        Assert.Equal([due[1].Message.EventId], (await Outbox.ReadDueAsync(10, DateTimeOffset.MaxValue, default)).Select(d => d.Message.EventId));
        var parked = Assert.Single(await Outbox.ListParkedAsync(10, default));
        Assert.Equal(new ParkedOutboxMessage(due[0].Message.EventId, TestTopics.InteractionRecorded, 2, 2, "refused", Now.AddMinutes(1)), parked);
    }

    [ContractFact]
    public async Task RequeueParked_PutsTheRowBackInItsPlaceWithFreshCounts()
    {
        await AppendAsync([TestPipeline.Event("a"), TestPipeline.Event("b")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);
        await Outbox.ParkAsync(due[0], "refused", Now, default);

        var requeued = await Outbox.RequeueParkedAsync([due[0].Message.EventId, "no-such-event"], default);

        Assert.Equal(1, requeued);
        Assert.Empty(await Outbox.ListParkedAsync(10, default));
        var rows = await Outbox.ReadDueAsync(10, Now, default);
        Assert.Equal(due.Select(d => d.Message.EventId), rows.Select(r => r.Message.EventId));
        Assert.Equal(Convert.ToHexString(due[0].Message.Envelope), Convert.ToHexString(rows[0].Message.Envelope));
        Assert.All(rows, r => Assert.Equal((0, 0), (r.Attempts, r.Refusals)));
    }

    [ContractFact]
    public async Task Committed_WhenStoreCommits_IsRaised()
    {
        var raised = 0;
        Outbox.Committed += () => Interlocked.Increment(ref raised);

        await AppendAsync([TestPipeline.Event("a")], commit: true);

        Assert.True(raised >= 1);
    }
}

public sealed class SqliteOutboxTests : OutboxContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new();

    public SqliteOutboxTests() => Outbox = new SqliteOutbox("profile", _sqlite.Database);

    protected override IOutboxStore Outbox { get; }

    protected override async Task AppendAsync(IReadOnlyList<OutboxMessage> messages, bool commit)
    {
        try
        {
            await _sqlite.Database.WriteAsync<int>(async (connection, transaction, ct) =>
            {
                await SqliteOutbox.AppendAsync(connection, transaction, messages, ct);
                return commit ? 0 : throw new RolledBack();
            }, default);
        }
        catch (RolledBack)
        {
        }
    }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoOutboxTests : OutboxContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new("profile");

    protected override IOutboxStore Outbox => field ??= new MongoOutbox("profile", _mongo.Store);

    protected override async Task AppendAsync(IReadOnlyList<OutboxMessage> messages, bool commit)
    {
        // The adapter first, as before the rows: it declares the collection's indexes, which the
        // store puts in place before its first write.
        _ = Outbox;
        var store = _mongo.Store;
        try
        {
            await store.WriteAsync<int>(async (session, ct) =>
            {
                await MongoOutbox.AppendAsync(session, store.Database, messages, ct);
                return commit ? 0 : throw new RolledBack();
            }, default);
        }
        catch (RolledBack)
        {
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}

/// <summary>Thrown inside a write to make the store roll it back.</summary>
internal sealed class RolledBack : Exception;
