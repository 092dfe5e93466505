using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// Reads of the aggregates <see cref="SqliteInteractionLog"/> maintains. Per-day tables are keyed by
/// day first; a touchpoint's days are reached by one index seek per day of the period.
/// </summary>
internal sealed class SqliteJourneyAggregates([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database) : IJourneyAggregates
{
    /// <summary>The people whose last interaction falls in the period and who never bought: they dropped off.</summary>
    private const string SilentPeople = "FROM person_state WHERE last_at >= $from AND last_at < $to AND last_purchase_at IS NULL";

    private const string DaysCte = "WITH RECURSIVE days(d) AS (SELECT $from UNION ALL SELECT d + 1 FROM days WHERE d < $to) ";

    private readonly SqliteDatabase _database = database.Migrated(SqliteSchema.Migrations);

    public Task<TouchpointTotals> TouchpointTotalsAsync(string touchpointId, int fromDay, int toDay, TimeSpan purchaseWindow, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var totals = Query(connection, DaysCte + """
                SELECT coalesce(sum(t.interactions), 0), coalesce(sum(t.rating_sum), 0), coalesce(sum(t.rating_count), 0)
                FROM days JOIN touchpoint_days t ON t.day = days.d AND t.touchpoint_id = $tp
                """, fromDay, toDay);
            totals.Parameters.AddWithValue("$tp", touchpointId);
            long interactions, ratingSum, ratingCount;
            await using (var reader = await totals.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                (interactions, ratingSum, ratingCount) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
            }

            await using var people = Query(connection, DaysCte + """
                SELECT count(DISTINCT p.person_id),
                       count(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM purchases u WHERE u.person_id = p.person_id AND u.at >= p.first_at AND u.at <= p.last_at + $window)
                                           THEN p.person_id END)
                FROM days JOIN touchpoint_day_people p ON p.day = days.d AND p.touchpoint_id = $tp
                """, fromDay, toDay);
            people.Parameters.AddWithValue("$tp", touchpointId);
            people.Parameters.AddWithValue("$window", (long)purchaseWindow.TotalMilliseconds);
            await using var peopleReader = await people.ExecuteReaderAsync(ct);
            await peopleReader.ReadAsync(ct);
            return new TouchpointTotals(interactions, ratingSum, ratingCount, peopleReader.GetInt64(0), peopleReader.GetInt64(1));
        }, cancellationToken);

    public Task<FunnelTotals> FunnelTotalsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            var perPerson = string.Join(", ", Enumerable.Range(0, 6).Select(i => $"max((stage_mask & {1 << i}) <> 0) s{i}"));
            var sums = string.Join(", ", Enumerable.Range(0, 6).Select(i => $"coalesce(sum(s{i}), 0)")
                .Concat(Enumerable.Range(0, 5).Select(i => $"coalesce(sum(s{i} * s{i + 1}), 0)")));
            await using var command = Query(connection,
                $"SELECT {sums} FROM (SELECT {perPerson} FROM person_stage_days WHERE day BETWEEN $from AND $to GROUP BY person_id)", fromDay, toDay);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var values = Enumerable.Range(0, 11).Select(reader.GetInt64).ToList();
            return new FunnelTotals(values.Take(6).ToList(), values.Skip(6).ToList());
        }, cancellationToken);

    public Task<IReadOnlyList<long>> TouchpointsBeforePurchaseAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<long>>(async (connection, ct) =>
        {
            await using var command = Query(connection, """
                SELECT (SELECT count(*) FROM person_touchpoints t WHERE t.person_id = p.person_id AND t.first_at < p.at)
                FROM (SELECT person_id, min(at) AS at FROM purchases WHERE day BETWEEN $from AND $to GROUP BY person_id) p
                """, fromDay, toDay);
            var counts = new List<long>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                counts.Add(reader.GetInt64(0));
            }

            return counts;
        }, cancellationToken);

    public Task<DropOffTotals> DropOffsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = Query(connection, $"""
                SELECT last_touchpoint_id, count(*) AS people {SilentPeople}
                GROUP BY last_touchpoint_id ORDER BY people DESC, last_touchpoint_id LIMIT $limit;
                SELECT count(*) {SilentPeople};
                """, from, toExclusive);
            command.Parameters.AddWithValue("$limit", limit);
            var rows = new List<(string, long)>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1)));
            }

            await reader.NextResultAsync(ct);
            await reader.ReadAsync(ct);
            return new DropOffTotals(reader.GetInt64(0), rows);
        }, cancellationToken);

    public Task<PathTotals> PurchasePathsAsync(int fromDay, int toDay, int maxPeople, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            const string FirstPurchases = "SELECT person_id, min(at) AS at FROM purchases WHERE day BETWEEN $from AND $to GROUP BY person_id";
            await using var command = Query(connection, $"""
                SELECT p.person_id, t.touchpoint_id
                FROM ({FirstPurchases} ORDER BY at DESC, person_id LIMIT $max) p
                JOIN person_touchpoints t ON t.person_id = p.person_id AND t.first_at <= p.at
                ORDER BY p.at DESC, p.person_id, t.first_at, t.touchpoint_id;
                SELECT count(*) FROM ({FirstPurchases});
                """, fromDay, toDay);
            command.Parameters.AddWithValue("$max", maxPeople);
            return await ReadPathsAsync(command, ct);
        }, cancellationToken);

    public Task<PathTotals> DropOffPathsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = Query(connection, $"""
                SELECT p.person_id, t.touchpoint_id
                FROM (SELECT person_id, last_at {SilentPeople} ORDER BY last_at DESC, person_id LIMIT $max) p
                JOIN person_touchpoints t ON t.person_id = p.person_id
                ORDER BY p.last_at DESC, p.person_id, t.first_at, t.touchpoint_id;
                SELECT count(*) {SilentPeople};
                """, from, toExclusive);
            command.Parameters.AddWithValue("$max", maxPeople);
            return await ReadPathsAsync(command, ct);
        }, cancellationToken);

    public Task<PathTotals> TouchpointPathsAsync(string touchpointId, DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            // person_touchpoints_by_touchpoint finds who first met the touchpoint in the period; the
            // outer join keeps those who met nothing before it, as an empty sequence.
            const string Reached = "FROM person_touchpoints WHERE touchpoint_id = $tp AND first_at >= $from AND first_at < $to";
            await using var command = Query(connection, $"""
                SELECT p.person_id, t.touchpoint_id
                FROM (SELECT person_id, first_at AS at {Reached} ORDER BY first_at DESC, person_id LIMIT $max) p
                LEFT JOIN person_touchpoints t ON t.person_id = p.person_id AND t.first_at <= p.at AND t.touchpoint_id <> $tp
                ORDER BY p.at DESC, p.person_id, t.first_at, t.touchpoint_id;
                SELECT count(*) {Reached};
                """, from, toExclusive);
            command.Parameters.AddWithValue("$tp", touchpointId);
            command.Parameters.AddWithValue("$max", maxPeople);
            return await ReadPathsAsync(command, ct);
        }, cancellationToken);

    /// <summary>
    /// Reads (person, touchpoint) rows grouped by person in order (a null touchpoint: a person with
    /// an empty sequence), then the count of everyone.
    /// </summary>
    private static async Task<PathTotals> ReadPathsAsync(SqliteCommand command, CancellationToken ct)
    {
        var sequences = new List<IReadOnlyList<string>>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        List<string>? current = null;
        long person = -1;
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetInt64(0);
            if (current is null || id != person)
            {
                current = [];
                sequences.Add(current);
                person = id;
            }

            if (!reader.IsDBNull(1))
            {
                current.Add(reader.GetString(1));
            }
        }

        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        return new PathTotals(reader.GetInt64(0), sequences);
    }

    public Task<IReadOnlyList<RatingTotals>> RatingsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<RatingTotals>>(async (connection, ct) =>
        {
            await using var command = Query(connection, """
                SELECT touchpoint_id, sum(rating_sum), sum(rating_count) FROM touchpoint_days
                WHERE day BETWEEN $from AND $to AND rating_count > 0 GROUP BY touchpoint_id
                """, fromDay, toDay);
            var rows = new List<RatingTotals>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new RatingTotals(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }

            return rows;
        }, cancellationToken);

    private static SqliteCommand Query(SqliteConnection connection, string sql, int fromDay, int toDay)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$from", fromDay);
        command.Parameters.AddWithValue("$to", toDay);
        return command;
    }

    /// <summary>A command over a period of time, <c>$from</c> inclusive to <c>$to</c> exclusive, in Unix milliseconds.</summary>
    private static SqliteCommand Query(SqliteConnection connection, string sql, DateTimeOffset from, DateTimeOffset toExclusive)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", toExclusive.ToUnixTimeMilliseconds());
        return command;
    }
}
