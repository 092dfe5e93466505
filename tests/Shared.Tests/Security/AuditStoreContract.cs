using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Shared.Tests.Security;

/// <summary>The audit trail port's contract: every adapter must pass it.</summary>
public abstract class AuditStoreContract
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, 123, TimeSpan.Zero);

    /// <summary>The trail under test, empty at the start of each test.</summary>
    protected abstract IAuditStore Store { get; }

    [ContractFact]
    public async Task List_WhenNothingWasAppended_ReturnsNothing()
    {
        Assert.Empty(await Store.ListAsync(0, 10, default));
    }

    [ContractFact]
    public async Task List_AfterAppends_ReturnsEveryFieldOldestFirstWithRisingSequences()
    {
        await AppendAsync(3);

        var entries = await Store.ListAsync(0, 10, default);

        Assert.Equal(["/journey.profile.v1.ProfileService/Identify0", "/journey.profile.v1.ProfileService/Identify1", "/journey.profile.v1.ProfileService/Identify2"], entries.Select(e => e.Method));
        Assert.Equal([Start, Start.AddSeconds(1), Start.AddSeconds(2)], entries.Select(e => e.At));
        Assert.Equal(["svc-0", "svc-1", "svc-2"], entries.Select(e => e.Caller));
        Assert.Equal(["profiles/p0 segments/s0", "profiles/p1 segments/s1", "profiles/p2 segments/s2"], entries.Select(e => e.Target));
        Assert.Equal(["OK", "InvalidArgument", "OK"], entries.Select(e => e.Outcome));
        Assert.True(entries[0].Sequence < entries[1].Sequence && entries[1].Sequence < entries[2].Sequence, "sequences must rise with the order of appends");
    }

    [ContractFact]
    public async Task List_AfterTheLastSequenceOfAPage_ContinuesWithTheNextEntries()
    {
        await AppendAsync(5);

        var first = await Store.ListAsync(0, 2, default);
        Assert.Equal(2, first.Count);
        var second = await Store.ListAsync(first[^1].Sequence, 2, default);
        Assert.Equal(2, second.Count);
        var third = await Store.ListAsync(second[^1].Sequence, 2, default);
        Assert.Single(third);
        var past = await Store.ListAsync(third[^1].Sequence, 2, default);

        Assert.Equal(["svc-0", "svc-1", "svc-2", "svc-3", "svc-4"], first.Concat(second).Concat(third).Select(e => e.Caller));
        Assert.Empty(past);
    }

    [ContractFact]
    public async Task List_AfterAnEntryStampedEarlierThanTheLastOne_ReturnsOnlyTheNewEntry()
    {
        // Clocks of several replicas disagree; the trail orders by append, not by the stamped time.
        await Store.AppendAsync(Start.AddSeconds(5), "/journey.profile.v1.ProfileService/Erase", "svc-late", "profiles/p1", "OK", default);
        var seen = await Store.ListAsync(0, 10, default);
        Assert.Single(seen);

        await Store.AppendAsync(Start.AddSeconds(1), "/journey.profile.v1.ProfileService/Export", "svc-early", "profiles/p1", "OK", default);
        var next = await Store.ListAsync(seen[^1].Sequence, 10, default);

        Assert.Equal(["svc-early"], next.Select(e => e.Caller));
        Assert.Equal(Start.AddSeconds(1), next[0].At);
    }

    private async Task AppendAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Store.AppendAsync(Start.AddSeconds(i), $"/journey.profile.v1.ProfileService/Identify{i}", $"svc-{i}", $"profiles/p{i} segments/s{i}", i % 2 == 0 ? "OK" : "InvalidArgument", default);
        }
    }
}

public sealed class SqliteAuditStoreTests : AuditStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new();

    public SqliteAuditStoreTests() => Store = new SqliteAuditStore(_sqlite.Database);

    protected override IAuditStore Store { get; }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoAuditStoreTests : AuditStoreContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new("profile");

    protected override IAuditStore Store => field ??= new MongoAuditStore(_mongo.Store, new StorageOptions().AuditRetention);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}
