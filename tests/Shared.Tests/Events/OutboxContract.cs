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
    public async Task Defer_HidesRowsUntilDueAndCountsTheAttempt()
    {
        await AppendAsync([TestPipeline.Event("a")], commit: true);
        var due = await Outbox.ReadDueAsync(10, Now, default);

        await Outbox.DeferAsync(due, Now.AddSeconds(30), default);

        Assert.Empty(await Outbox.ReadDueAsync(10, Now.AddSeconds(29), default));
        var later = Assert.Single(await Outbox.ReadDueAsync(10, Now.AddSeconds(30), default));
        Assert.Equal(1, later.Attempts);
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
        // The adapter first, as before the rows: it creates the collection and its index, which the
        // transaction below should not have to do implicitly.
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
