using Journey.Shared.Events;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// What MongoDB's TTL indexes remove, the embedded store's sweep removes too: handled events' ids past
/// the inbox retention and audit entries past the audit retention, in slices, keeping everything younger.
/// </summary>
public sealed class SqliteRetentionSweepTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporarySqlite _sqlite = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly SqliteAuditStore _audit;

    public SqliteRetentionSweepTests()
    {
        _sqlite.Database.Migrate([("inbox-001", SqliteInbox.Schema)]);
        _audit = new SqliteAuditStore(_sqlite.Database);
    }

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task SweepOnce_RemovesInboxEntriesAndAuditEntriesPastTheirRetention_AndKeepsTheRest()
    {
        var options = new StorageOptions();
        // More old entries than one slice holds, so the sweep has to go on past its first transaction.
        await ClaimAsync("old", SqliteRetentionSweep.Slice + 7, Now - options.InboxRetention - TimeSpan.FromMinutes(1));
        await ClaimAsync("young", 3, Now - options.InboxRetention + TimeSpan.FromMinutes(1));
        await _audit.AppendAsync(Now - options.AuditRetention - TimeSpan.FromDays(1), "/m/Old", "caller", "target", "OK", default);
        await _audit.AppendAsync(Now - options.AuditRetention + TimeSpan.FromDays(1), "/m/Young", "caller", "target", "OK", default);
        var sweep = new SqliteRetentionSweep(
            "test", _sqlite.Database, [SqliteRetentionRule.Inbox(options.InboxRetention), SqliteRetentionRule.Audit(options.AuditRetention)], _time, NullLogger<SqliteRetentionSweep>.Instance);

        var removed = await sweep.SweepOnceAsync(default);

        Assert.Equal(SqliteRetentionSweep.Slice + 7, removed["inbox entries"]);
        Assert.Equal(1, removed["audit entries"]);
        Assert.Equal(3, await CountAsync("SELECT COUNT(*) FROM inbox WHERE consumer = 'young'"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM inbox WHERE consumer = 'old'"));
        Assert.Equal(["/m/Young"], (await _audit.ListAsync(0, 10, default)).Select(e => e.Method));
    }

    [Fact]
    public async Task SweepOnce_WhenTimeMovesOn_RemovesWhatHasSinceAged()
    {
        var retention = TimeSpan.FromDays(1);
        await ClaimAsync("c", 2, Now);
        var sweep = new SqliteRetentionSweep("test", _sqlite.Database, [SqliteRetentionRule.Inbox(retention)], _time, NullLogger<SqliteRetentionSweep>.Instance);

        Assert.Equal(0, (await sweep.SweepOnceAsync(default))["inbox entries"]);
        _time.Advance(retention + TimeSpan.FromMilliseconds(1));

        Assert.Equal(2, (await sweep.SweepOnceAsync(default))["inbox entries"]);
    }

    private async Task ClaimAsync(string consumer, int count, DateTimeOffset at) =>
        await _sqlite.Database.WriteAsync(async (connection, transaction, ct) =>
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await SqliteInbox.TryClaimAsync(connection, transaction, consumer, $"{consumer}-{i:D6}", at, ct));
            }

            return 0;
        }, default);

    private Task<long> CountAsync(string sql) =>
        _sqlite.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);
}
