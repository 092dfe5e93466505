using System.Text.Json;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The catalog in SQLite. Stages live in their own table keyed (stage, id) and channel, ownership and
/// criticality are indexed, so a filtered list walks an index in id order instead of the catalog.
/// </summary>
internal sealed class SqliteTouchpointStore : ITouchpointStore
{
    private readonly SqliteDatabase _database;

    public SqliteTouchpointStore([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database)
    {
        _database = database;
        _database.Migrate([("touchpoint-001", """
            CREATE TABLE touchpoints (
                id TEXT PRIMARY KEY,
                display_name TEXT NOT NULL,
                channel INTEGER NOT NULL,
                ownership INTEGER NOT NULL,
                criticality INTEGER NOT NULL,
                target_rating REAL NOT NULL,
                statement TEXT NOT NULL,
                owning_team TEXT NOT NULL,
                topics TEXT NOT NULL,
                stages TEXT NOT NULL,
                retired INTEGER NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX touchpoints_by_channel ON touchpoints (channel, id);
            CREATE INDEX touchpoints_by_ownership ON touchpoints (ownership, id);
            CREATE TABLE touchpoint_stages (stage INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY (stage, id)) WITHOUT ROWID
            """)]);
    }

    public Task InsertAsync(TouchpointEntry entry, OutboxMessage changed, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            try
            {
                await WriteRowAsync(connection, transaction, "INSERT INTO touchpoints", entry, ct);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new AlreadyExistsException("Touchpoint", $"touchpoints/{entry.Id}");
            }

            await WriteStagesAsync(connection, transaction, entry, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, [changed], ct);
            return 0;
        }, cancellationToken);

    public Task UpdateAsync(TouchpointEntry entry, long expectedVersion, OutboxMessage changed, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using (var check = connection.CreateCommand())
            {
                check.Transaction = transaction;
                check.CommandText = "SELECT version FROM touchpoints WHERE id = $id";
                check.Parameters.AddWithValue("$id", entry.Id);
                if (await check.ExecuteScalarAsync(ct) is not long version || version != expectedVersion)
                {
                    throw new ConcurrencyConflictException("Touchpoint", $"touchpoints/{entry.Id}");
                }
            }

            await WriteRowAsync(connection, transaction, "INSERT OR REPLACE INTO touchpoints", entry, ct);
            await using (var clear = connection.CreateCommand())
            {
                clear.Transaction = transaction;
                clear.CommandText = "DELETE FROM touchpoint_stages WHERE id = $id";
                clear.Parameters.AddWithValue("$id", entry.Id);
                await clear.ExecuteNonQueryAsync(ct);
            }

            await WriteStagesAsync(connection, transaction, entry, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, [changed], ct);
            return 0;
        }, cancellationToken);

    public Task<TouchpointEntry?> GetAsync(string id, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM touchpoints WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? Read(reader) : null;
        }, cancellationToken);

    public Task<Page<TouchpointEntry>> ListAsync(TouchpointFilter filter, string? afterId, int max, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            var from = filter.Stage is null ? "touchpoints t" : "touchpoint_stages s JOIN touchpoints t ON t.id = s.id";
            var where = new List<string> { "t.id > $after" };
            if (filter.Stage is { } stage)
            {
                where.Add("s.stage = $stage");
                command.Parameters.AddWithValue("$stage", (int)stage);
            }

            if (filter.Channel is { } channel)
            {
                where.Add("t.channel = $channel");
                command.Parameters.AddWithValue("$channel", (int)channel);
            }

            if (filter.Ownership is { } ownership)
            {
                where.Add("t.ownership = $ownership");
                command.Parameters.AddWithValue("$ownership", (int)ownership);
            }

            if (filter.MinCriticality > 0)
            {
                where.Add("t.criticality >= $criticality");
                command.Parameters.AddWithValue("$criticality", filter.MinCriticality);
            }

            if (!filter.IncludeRetired)
            {
                where.Add("t.retired = 0");
            }

            command.CommandText = $"SELECT {string.Join(", ", Columns.Split(", ").Select(c => "t." + c))} FROM {from} WHERE {string.Join(" AND ", where)} ORDER BY t.id LIMIT $max";
            command.Parameters.AddWithValue("$after", afterId ?? "");
            command.Parameters.AddWithValue("$max", max + 1);
            var items = new List<TouchpointEntry>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                items.Add(Read(reader));
            }

            return items.Count > max ? new Page<TouchpointEntry>(items[..max], items[max - 1].Id) : new Page<TouchpointEntry>(items, null);
        }, cancellationToken);

    private const string Columns = "id, display_name, channel, ownership, criticality, target_rating, statement, owning_team, topics, stages, retired, version, created_at, updated_at";

    private static async Task WriteRowAsync(SqliteConnection connection, SqliteTransaction transaction, string verb, TouchpointEntry entry, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"{verb} ({Columns}) VALUES ($id, $name, $channel, $ownership, $criticality, $target, $statement, $team, $topics, $stages, $retired, $version, $created, $updated)";
        command.Parameters.AddWithValue("$id", entry.Id);
        command.Parameters.AddWithValue("$name", entry.DisplayName);
        command.Parameters.AddWithValue("$channel", (int)entry.Channel);
        command.Parameters.AddWithValue("$ownership", (int)entry.Ownership);
        command.Parameters.AddWithValue("$criticality", entry.Criticality);
        command.Parameters.AddWithValue("$target", entry.IntendedExperience.TargetRating);
        command.Parameters.AddWithValue("$statement", entry.IntendedExperience.Statement);
        command.Parameters.AddWithValue("$team", entry.OwningTeam);
        command.Parameters.AddWithValue("$topics", JsonSerializer.Serialize(entry.Topics));
        command.Parameters.AddWithValue("$stages", JsonSerializer.Serialize(entry.Stages.Select(s => (int)s)));
        command.Parameters.AddWithValue("$retired", entry.Retired ? 1 : 0);
        command.Parameters.AddWithValue("$version", entry.Version);
        command.Parameters.AddWithValue("$created", entry.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$updated", entry.UpdatedAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task WriteStagesAsync(SqliteConnection connection, SqliteTransaction transaction, TouchpointEntry entry, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO touchpoint_stages (stage, id) VALUES ($stage, $id)";
        var stage = command.Parameters.Add("$stage", SqliteType.Integer);
        command.Parameters.AddWithValue("$id", entry.Id);
        foreach (var s in entry.Stages)
        {
            stage.Value = (int)s;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static TouchpointEntry Read(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        (Channel)reader.GetInt32(2),
        (Ownership)reader.GetInt32(3),
        JsonSerializer.Deserialize<int[]>(reader.GetString(9))!.Select(s => (JourneyStage)s).ToList(),
        reader.GetInt32(4),
        new IntendedExperience(reader.GetDouble(5), reader.GetString(6)),
        reader.GetString(7),
        JsonSerializer.Deserialize<string[]>(reader.GetString(8))!,
        reader.GetInt64(10) == 1,
        reader.GetInt64(11),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(12)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)));
}
