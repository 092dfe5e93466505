using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Touchpoint.Storage;

/// <summary>Tracking sources in SQLite, in the touchpoint service's file (so identities share its outbox).</summary>
internal sealed class SqliteTrackingSourceStore([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database) : ITrackingSourceStore
{
    private readonly SqliteDatabase _database = database.Migrated(SqliteSchema.Migrations);

    /// <summary>Identity claims go <paramref name="retention"/> after they were made, as MongoDB's TTL index removes them.</summary>
    internal static SqliteRetentionRule IdentityRetention(TimeSpan retention) => new(
        "tracking identity claims",
        "SELECT json_group_array(json_array(source_id, message_id)) FROM (SELECT source_id, message_id FROM tracking_identities WHERE claimed_at < $cutoff ORDER BY claimed_at LIMIT $max)",
        """
        DELETE FROM tracking_identities
        WHERE (source_id, message_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($keys))
            AND claimed_at < $cutoff
        """,
        now => (now - retention).ToUnixTimeMilliseconds());

    public Task CreateAsync(TrackingSource source, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "INSERT INTO tracking_sources (id, version, data) VALUES ($id, $version, $data) ON CONFLICT (id) DO NOTHING");
            command.Parameters.AddWithValue("$id", source.Id);
            command.Parameters.AddWithValue("$version", source.Version);
            command.Parameters.AddWithValue("$data", TrackingSourceDocument.Serialize(source));
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new AlreadyExistsException("Source", source.Name);
            }

            await WriteKeysAsync(connection, transaction, source, ct);
            return 0;
        }, cancellationToken);

    public Task<TrackingSource?> GetAsync(string id, CancellationToken cancellationToken) =>
        ReadSourceAsync("SELECT data FROM tracking_sources WHERE id = $id", "$id", id, cancellationToken);

    public Task<TrackingSource?> FindByKeyHashAsync(string hash, CancellationToken cancellationToken) =>
        ReadSourceAsync("SELECT s.data FROM tracking_keys k JOIN tracking_sources s ON s.id = k.source_id WHERE k.hash = $hash", "$hash", hash, cancellationToken);

    // The source whose stored document sql selects by its one parameter, or null.
    private Task<TrackingSource?> ReadSourceAsync(string sql, string parameter, string value, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue(parameter, value);
            return await command.ExecuteScalarAsync(ct) is string data ? TrackingSourceDocument.Deserialize(data) : null;
        }, cancellationToken);

    public Task UpdateAsync(TrackingSource source, long expectedVersion, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "UPDATE tracking_sources SET version = $version, data = $data WHERE id = $id AND version = $expected");
            command.Parameters.AddWithValue("$id", source.Id);
            command.Parameters.AddWithValue("$version", source.Version);
            command.Parameters.AddWithValue("$expected", expectedVersion);
            command.Parameters.AddWithValue("$data", TrackingSourceDocument.Serialize(source));
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new ConcurrencyConflictException("Source", source.Name);
            }

            await using var delete = Command(connection, transaction, "DELETE FROM tracking_keys WHERE source_id = $id");
            delete.Parameters.AddWithValue("$id", source.Id);
            await delete.ExecuteNonQueryAsync(ct);
            await WriteKeysAsync(connection, transaction, source, ct);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<TrackingSource>> ListAsync(string? afterId, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<TrackingSource>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT data FROM tracking_sources WHERE id > $after ORDER BY id LIMIT $limit";
            command.Parameters.AddWithValue("$after", afterId ?? "");
            command.Parameters.AddWithValue("$limit", limit);
            var rows = new List<TrackingSource>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(TrackingSourceDocument.Deserialize(reader.GetString(0)));
            }

            return rows;
        }, cancellationToken);

    public Task CountIssuesAsync(string sourceId, IReadOnlyList<TrackingIssueKey> issues, DateTimeOffset at, int maxDistinct, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var update = Command(connection, transaction, """
                UPDATE tracking_issues SET count = count + $count, first_at = MIN(first_at, $at), last_at = MAX(last_at, $at)
                WHERE source_id = $source AND kind = $kind AND name = $name AND detail = $detail
                """);
            await using var insert = Command(connection, transaction, """
                INSERT INTO tracking_issues (source_id, kind, name, detail, count, first_at, last_at)
                VALUES ($source, $kind, $name, $detail, $count, $at, $at)
                ON CONFLICT (source_id, kind, name, detail) DO UPDATE SET
                    count = count + excluded.count, first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)
                """);
            await using var distinct = Command(connection, transaction, "SELECT COUNT(*) FROM tracking_issues WHERE source_id = $source");
            distinct.Parameters.AddWithValue("$source", sourceId);
            foreach (var group in issues.GroupBy(i => i))
            {
                if (await CountAsync(update, sourceId, group.Key, group.Count(), at, ct) > 0)
                {
                    continue;
                }

                var key = (long)(await distinct.ExecuteScalarAsync(ct))! < maxDistinct ? group.Key : group.Key.Other;
                await CountAsync(insert, sourceId, key, group.Count(), at, ct);
            }

            return 0;
        }, cancellationToken);

    private static async Task<int> CountAsync(SqliteCommand command, string sourceId, TrackingIssueKey key, int count, DateTimeOffset at, CancellationToken ct)
    {
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$source", sourceId);
        command.Parameters.AddWithValue("$kind", (int)key.Kind);
        command.Parameters.AddWithValue("$name", key.Name);
        command.Parameters.AddWithValue("$detail", key.Detail);
        command.Parameters.AddWithValue("$count", count);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct);
    }

    public Task<IReadOnlyList<TrackingIssue>> ListIssuesAsync(string sourceId, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<TrackingIssue>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT kind, name, detail, count, first_at, last_at FROM tracking_issues WHERE source_id = $source ORDER BY count DESC, kind, name, detail LIMIT $limit";
            command.Parameters.AddWithValue("$source", sourceId);
            command.Parameters.AddWithValue("$limit", limit);
            var rows = new List<TrackingIssue>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new TrackingIssue(
                    new TrackingIssueKey((TrackingIssueKind)reader.GetInt32(0), reader.GetString(1), reader.GetString(2)),
                    reader.GetInt64(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }

            return rows;
        }, cancellationToken);

    public Task<int> AppendIdentitiesAsync(string sourceId, IReadOnlyList<ObservedIdentity> identities, DateTimeOffset at, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var claim = Command(connection, transaction, "INSERT INTO tracking_identities (source_id, message_id, claimed_at) VALUES ($source, $message, $at) ON CONFLICT DO NOTHING");
            claim.Parameters.AddWithValue("$source", sourceId);
            claim.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            var message = claim.Parameters.Add("$message", SqliteType.Text);
            var fresh = new List<OutboxMessage>();
            foreach (var identity in identities)
            {
                message.Value = identity.MessageId;
                if (await claim.ExecuteNonQueryAsync(ct) == 1)
                {
                    fresh.Add(identity.Event);
                }
            }

            await SqliteOutbox.AppendAsync(connection, transaction, fresh, ct);
            return fresh.Count;
        }, cancellationToken);

    private static async Task WriteKeysAsync(SqliteConnection connection, SqliteTransaction transaction, TrackingSource source, CancellationToken ct)
    {
        await using var insert = Command(connection, transaction, "INSERT INTO tracking_keys (hash, source_id) VALUES ($hash, $id)");
        insert.Parameters.AddWithValue("$id", source.Id);
        var hash = insert.Parameters.Add("$hash", SqliteType.Text);
        foreach (var key in source.WriteKeys)
        {
            hash.Value = key.Hash;
            try
            {
                await insert.ExecuteNonQueryAsync(ct);
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode is 1555 or 2067)
            {
                throw new AlreadyExistsException("Write key", $"{source.Name}/keys/{key.Id}");
            }
        }
    }
}
