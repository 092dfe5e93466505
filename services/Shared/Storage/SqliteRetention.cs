using Journey.Shared.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Journey.Shared.Storage;

/// <summary>
/// One kind of row a service's SQLite file keeps only for a while: what MongoDB removes through a TTL
/// index (<see cref="MongoIndex.ExpireAfter"/>), the embedded store removes with this rule. A slice's
/// keys are found by a read, which may scan a table the age column has no index on without holding
/// the single writer; the write then deletes those keys, each only if it is still past the cutoff.
/// </summary>
/// <param name="Name">What the rows are, for the log ("inbox entries").</param>
/// <param name="FindSliceSql">
/// Returns one value: a JSON array of the keys of at most <c>$max</c> rows older than <c>$cutoff</c> (a
/// key is a JSON value, an array for a composite key). Tables whose keys rise with time find their
/// old rows first.
/// </param>
/// <param name="DeleteSql">Deletes the rows whose keys are in the JSON array <c>$keys</c> and that are older than <c>$cutoff</c>.</param>
/// <param name="Cutoff">The <c>$cutoff</c> value for a sweep at the given time, in the column's own unit.</param>
public sealed record SqliteRetentionRule(string Name, string FindSliceSql, string DeleteSql, Func<DateTimeOffset, object> Cutoff)
{
    /// <summary>Handled events' ids (the inbox), kept <see cref="StorageOptions.InboxRetention"/> after they were received.</summary>
    public static SqliteRetentionRule Inbox(TimeSpan retention) => new(
        "inbox entries",
        "SELECT json_group_array(json_array(consumer, event_id)) FROM (SELECT consumer, event_id FROM inbox WHERE received_at < $cutoff LIMIT $max)",
        """
        DELETE FROM inbox WHERE (consumer, event_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($keys))
            AND received_at < $cutoff
        """,
        now => (now - retention).ToUnixTimeMilliseconds());

    /// <summary>Audit trail entries, kept <see cref="StorageOptions.AuditRetention"/> after they were written.</summary>
    public static SqliteRetentionRule Audit(TimeSpan retention) => new(
        "audit entries",
        "SELECT json_group_array(seq) FROM (SELECT seq FROM audit WHERE at < $cutoff ORDER BY seq LIMIT $max)",
        "DELETE FROM audit WHERE seq IN (SELECT value FROM json_each($keys)) AND at < $cutoff",
        now => (now - retention).ToUnixTimeMilliseconds());
}

/// <summary>
/// Applies a service's <see cref="SqliteRetentionRule"/>s to its SQLite file at start and then every
/// <see cref="Interval"/>, on the background threads, below the priority of calls.
/// </summary>
public sealed partial class SqliteRetentionSweep(string service, SqliteDatabase database, IReadOnlyList<SqliteRetentionRule> rules, TimeProvider time, ILogger<SqliteRetentionSweep> logger) : BackgroundService
{
    /// <summary>How often the rules run: the retention windows are days long, so an hour late is nothing.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>The most rows one slice (one read, then one write transaction) deletes.</summary>
    public const int Slice = 5000;

    /// <summary>Runs every rule to the end once; returns how many rows each removed, by rule name.</summary>
    public async Task<IReadOnlyDictionary<string, long>> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var removed = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            var cutoff = rule.Cutoff(now);
            long total = 0;
            while (true)
            {
                var (keys, found) = await database.ReadAsync(async (connection, ct) =>
                {
                    await using var find = connection.CreateCommand();
                    find.CommandText = rule.FindSliceSql;
                    find.Parameters.AddWithValue("$cutoff", cutoff);
                    find.Parameters.AddWithValue("$max", Slice);
                    var json = (string)(await find.ExecuteScalarAsync(ct))!;
                    using var parsed = System.Text.Json.JsonDocument.Parse(json);
                    return (json, parsed.RootElement.GetArrayLength());
                }, cancellationToken);
                if (found == 0)
                {
                    break;
                }

                var deleted = await database.WriteAsync(async (connection, transaction, ct) =>
                {
                    await using var delete = SqliteCommands.Command(connection, transaction, rule.DeleteSql);
                    delete.Parameters.AddWithValue("$keys", keys);
                    delete.Parameters.AddWithValue("$cutoff", cutoff);
                    return await delete.ExecuteNonQueryAsync(ct);
                }, cancellationToken);
                total += deleted;
                // A full slice of which nothing went would be found again: stop rather than go round.
                if (found < Slice || deleted == 0)
                {
                    break;
                }
            }

            removed[rule.Name] = total;
            if (total > 0)
            {
                LogSwept(logger, service, total, rule.Name);
            }
        }

        return removed;
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundScheduler.Shared.Run(() => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, service, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1, EventName = "RetentionSwept", Level = LogLevel.Information, Message = "The {Service} store removed {Count} {Rows} past their retention")]
    private static partial void LogSwept(ILogger logger, string service, long count, string rows);

    [LoggerMessage(EventId = 2, EventName = "RetentionSweepFailed", Level = LogLevel.Warning, Message = "The {Service} store's retention sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, string service, Exception exception);
}
