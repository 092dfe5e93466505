using System.Text.Json;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The catalog in SQLite. Listing by filter walks one index in id order (the stage table for a stage,
/// else the channel or ownership index, else the primary key) and checks the other filters on the
/// rows it meets, so a page costs about page-size rows, not the catalog.
/// </summary>
internal sealed class SqliteTouchpointCatalogStore([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database) : ITouchpointCatalogStore
{
    private const string Columns = "t.id, t.display_name, t.channel, t.ownership, t.stage_mask, t.criticality, t.target, t.statement, t.owning_team, t.topics, t.retired, t.version, t.created_at, t.updated_at, t.retired_at";

    private readonly SqliteDatabase _database = database.Migrated(SqliteSchema.Migrations);

    public Task CreateAsync(TouchpointDefinition touchpoint, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO touchpoints (id, display_name, channel, ownership, stage_mask, criticality, target, statement, owning_team, topics, retired, version, created_at, updated_at, retired_at)
                VALUES ($id, $display_name, $channel, $ownership, $stage_mask, $criticality, $target, $statement, $owning_team, $topics, $retired, $version, $created_at, $updated_at, $retired_at)
                ON CONFLICT (id) DO NOTHING
                """);
            Bind(command, touchpoint);
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new AlreadyExistsException("Touchpoint", touchpoint.Name);
            }

            await WriteStagesAsync(connection, transaction, touchpoint, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, events, ct);
            return 0;
        }, cancellationToken);

    public Task<TouchpointDefinition?> GetAsync(string id, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM touchpoints t WHERE t.id = $id";
            command.Parameters.AddWithValue("$id", id);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? Read(reader) : null;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, TouchpointDefinition>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyDictionary<string, TouchpointDefinition>>(async (connection, ct) =>
        {
            var result = new Dictionary<string, TouchpointDefinition>(ids.Count, StringComparer.Ordinal);
            foreach (var chunk in ids.Chunk(500))
            {
                await using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$p" + i;
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText = $"SELECT {Columns} FROM touchpoints t WHERE t.id IN ({string.Join(',', names)})";
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var touchpoint = Read(reader);
                    result[touchpoint.Id] = touchpoint;
                }
            }

            return result;
        }, cancellationToken);

    public Task UpdateAsync(TouchpointDefinition touchpoint, long expectedVersion, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, """
                UPDATE touchpoints SET display_name = $display_name, channel = $channel, ownership = $ownership, stage_mask = $stage_mask,
                    criticality = $criticality, target = $target, statement = $statement, owning_team = $owning_team, topics = $topics,
                    retired = $retired, version = $version, created_at = $created_at, updated_at = $updated_at, retired_at = $retired_at
                WHERE id = $id AND version = $expected
                """);
            Bind(command, touchpoint);
            command.Parameters.AddWithValue("$expected", expectedVersion);
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new ConcurrencyConflictException("Touchpoint", touchpoint.Name);
            }

            await using var delete = Command(connection, transaction, "DELETE FROM touchpoint_stages WHERE stage BETWEEN 1 AND 6 AND touchpoint_id = $id");
            delete.Parameters.AddWithValue("$id", touchpoint.Id);
            await delete.ExecuteNonQueryAsync(ct);
            await WriteStagesAsync(connection, transaction, touchpoint, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, events, ct);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<TouchpointDefinition>> ListAsync(TouchpointFilter filter, string? afterId, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<TouchpointDefinition>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            var conditions = new List<string> { "t.id > $after" };
            command.Parameters.AddWithValue("$after", afterId ?? "");
            command.Parameters.AddWithValue("$limit", limit);
            string from;
            if (filter.Stage != JourneyStage.Unspecified)
            {
                from = "touchpoint_stages s JOIN touchpoints t ON t.id = s.touchpoint_id";
                conditions[0] = "s.stage = $stage AND s.touchpoint_id > $after";
                command.Parameters.AddWithValue("$stage", (int)filter.Stage);
            }
            else if (filter.Channel != Channel.Unspecified)
            {
                from = "touchpoints t INDEXED BY touchpoints_by_channel";
            }
            else if (filter.Ownership != Ownership.Unspecified)
            {
                from = "touchpoints t INDEXED BY touchpoints_by_ownership";
            }
            else
            {
                from = "touchpoints t";
            }

            if (filter.Channel != Channel.Unspecified)
            {
                conditions.Add("t.channel = $channel");
                command.Parameters.AddWithValue("$channel", (int)filter.Channel);
            }

            if (filter.Ownership != Ownership.Unspecified)
            {
                conditions.Add("t.ownership = $ownership");
                command.Parameters.AddWithValue("$ownership", (int)filter.Ownership);
            }

            if (filter.MinCriticality > 0)
            {
                conditions.Add("t.criticality >= $criticality");
                command.Parameters.AddWithValue("$criticality", filter.MinCriticality);
            }

            if (!filter.IncludeRetired)
            {
                conditions.Add("t.retired = 0");
            }

            var order = filter.Stage != JourneyStage.Unspecified ? "s.touchpoint_id" : "t.id";
            command.CommandText = $"SELECT {Columns} FROM {from} WHERE {string.Join(" AND ", conditions)} ORDER BY {order} LIMIT $limit";
            var rows = new List<TouchpointDefinition>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(Read(reader));
            }

            return rows;
        }, cancellationToken);

    private static async Task WriteStagesAsync(SqliteConnection connection, SqliteTransaction transaction, TouchpointDefinition touchpoint, CancellationToken ct)
    {
        await using var insert = Command(connection, transaction, "INSERT INTO touchpoint_stages (stage, touchpoint_id) VALUES ($stage, $id)");
        var stage = insert.Parameters.Add("$stage", SqliteType.Integer);
        insert.Parameters.AddWithValue("$id", touchpoint.Id);
        foreach (var s in touchpoint.Stages)
        {
            stage.Value = (int)s;
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    private static void Bind(SqliteCommand command, TouchpointDefinition t)
    {
        command.Parameters.AddWithValue("$id", t.Id);
        command.Parameters.AddWithValue("$display_name", t.DisplayName);
        command.Parameters.AddWithValue("$channel", (int)t.Channel);
        command.Parameters.AddWithValue("$ownership", (int)t.Ownership);
        command.Parameters.AddWithValue("$stage_mask", t.StageMask);
        command.Parameters.AddWithValue("$criticality", t.Criticality);
        command.Parameters.AddWithValue("$target", t.IntendedExperience.TargetSatisfaction);
        command.Parameters.AddWithValue("$statement", t.IntendedExperience.Statement);
        command.Parameters.AddWithValue("$owning_team", t.OwningTeam);
        command.Parameters.AddWithValue("$topics", JsonSerializer.Serialize(t.Topics));
        command.Parameters.AddWithValue("$retired", t.Retired ? 1 : 0);
        command.Parameters.AddWithValue("$version", t.Version);
        command.Parameters.AddWithValue("$created_at", t.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$updated_at", t.UpdatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$retired_at", t.RetiredAt is { } at ? at.ToUnixTimeMilliseconds() : DBNull.Value);
    }

    private static TouchpointDefinition Read(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        (Channel)r.GetInt32(2),
        (Ownership)r.GetInt32(3),
        StageMask.Stages(r.GetInt32(4)),
        r.GetInt32(5),
        new IntendedExperience(r.GetDouble(6), r.GetString(7)),
        r.GetString(8),
        JsonSerializer.Deserialize<List<string>>(r.GetString(9)) ?? [],
        r.GetInt32(10) != 0,
        r.GetInt64(11),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(12)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(13)),
        r.IsDBNull(14) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(14)));
}
