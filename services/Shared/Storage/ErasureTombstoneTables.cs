using System.Text.Json;
using Journey.Shared.Privacy;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>
/// Erasure tombstones (<see cref="ErasureTombstones"/>) in a service's SQLite file, written and checked
/// inside the store's own write transactions: SQLite has one writer at a time, so a write that checks
/// finds every tombstone committed before it, and an erasure that commits later deletes what it wrote.
/// Expired tombstones go whenever another erasure is written.
/// </summary>
public static class SqliteErasureTombstones
{
    /// <summary>Schema: one row per tombstone key; keys are keyed hashes, so nothing in the table names a person.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS erasure_tombstones (
            key TEXT PRIMARY KEY,
            blocks_until INTEGER NOT NULL,
            expires_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS erasure_tombstones_by_expiry ON erasure_tombstones (expires_at)
        """;

    /// <summary>Writes <paramref name="tombstones"/> (a later one for a key extends it) and removes those expired by <paramref name="now"/>.</summary>
    public static async Task RememberAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ErasureTombstone> tombstones, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var purge = SqliteCommands.Command(connection, transaction, "DELETE FROM erasure_tombstones WHERE expires_at <= $now");
        purge.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await purge.ExecuteNonQueryAsync(cancellationToken);
        if (tombstones.Count == 0)
        {
            return;
        }

        await using var upsert = SqliteCommands.Command(connection, transaction, """
            INSERT INTO erasure_tombstones (key, blocks_until, expires_at) VALUES ($key, $until, $expires)
            ON CONFLICT (key) DO UPDATE SET blocks_until = max(blocks_until, excluded.blocks_until), expires_at = max(expires_at, excluded.expires_at)
            """);
        var key = upsert.Parameters.Add("$key", SqliteType.Text);
        var until = upsert.Parameters.Add("$until", SqliteType.Integer);
        var expires = upsert.Parameters.Add("$expires", SqliteType.Integer);
        foreach (var tombstone in tombstones)
        {
            key.Value = tombstone.Key;
            until.Value = tombstone.BlocksUntil.ToUnixTimeMilliseconds();
            expires.Value = tombstone.ExpiresAt.ToUnixTimeMilliseconds();
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The tombstones among <paramref name="keys"/>: key to <see cref="ErasureTombstone.BlocksUntil"/>.</summary>
    public static async Task<IReadOnlyDictionary<string, DateTimeOffset>> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var wanted = JsonSerializer.Serialize(keys.Distinct(StringComparer.Ordinal));
        if (wanted == "[]")
        {
            return found;
        }

        await using var command = SqliteCommands.Command(connection, transaction, "SELECT key, blocks_until FROM erasure_tombstones WHERE key IN (SELECT value FROM json_each($keys))");
        command.Parameters.AddWithValue("$keys", wanted);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
        }

        return found;
    }

    /// <summary>Throws <see cref="ErasedIdentifiersException"/> when a tombstone blocks any of <paramref name="checks"/>.</summary>
    public static Task ThrowIfBlockedAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<ErasureCheck> checks, CancellationToken cancellationToken) =>
        ErasureTombstones.ThrowIfBlockedAsync(checks, keys => FindAsync(connection, transaction, keys, cancellationToken));
}

/// <summary>
/// Erasure tombstones in a service's MongoDB database, collection <c>erasure_tombstones</c>: written
/// in the erasure's transaction and read in the transactions that could bring the person back. A TTL
/// index on <c>expires_at</c> lets the server remove them when they expire.
/// </summary>
public static class MongoErasureTombstones
{
    /// <summary>The collection name.</summary>
    public const string CollectionName = "erasure_tombstones";

    /// <summary>The TTL index, declared by every adapter that writes or reads tombstones (docs/adr/0017-mongodb-index-lifecycle.md).</summary>
    public static MongoIndex Index { get; } =
        new(CollectionName, new BsonDocument("expires_at", 1)) { Name = "expiry", ExpireAfter = TimeSpan.Zero };

    /// <summary>Writes <paramref name="tombstones"/> inside <paramref name="session"/>'s transaction; a later one for a key extends it.</summary>
    public static async Task RememberAsync(IClientSessionHandle session, IMongoDatabase database, IReadOnlyList<ErasureTombstone> tombstones, CancellationToken cancellationToken)
    {
        if (tombstones.Count == 0)
        {
            return;
        }

        var collection = database.GetCollection<BsonDocument>(CollectionName);
        var writes = tombstones.Select(t => new UpdateOneModel<BsonDocument>(
            new BsonDocument("_id", t.Key),
            new BsonDocument("$max", new BsonDocument { ["blocks_until"] = t.BlocksUntil.UtcDateTime, ["expires_at"] = t.ExpiresAt.UtcDateTime }))
        { IsUpsert = true }).ToList();
        await collection.BulkWriteAsync(session, writes, cancellationToken: cancellationToken);
    }

    /// <summary>The tombstones among <paramref name="keys"/>: key to <see cref="ErasureTombstone.BlocksUntil"/>.</summary>
    public static async Task<IReadOnlyDictionary<string, DateTimeOffset>> FindAsync(IClientSessionHandle? session, IMongoDatabase database, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var wanted = new BsonArray(keys.Distinct(StringComparer.Ordinal));
        if (wanted.Count == 0)
        {
            return found;
        }

        var collection = database.GetCollection<BsonDocument>(CollectionName);
        var filter = new BsonDocument("_id", new BsonDocument("$in", wanted));
        var documents = session is null
            ? await collection.Find(filter).ToListAsync(cancellationToken)
            : await collection.Find(session, filter).ToListAsync(cancellationToken);
        foreach (var document in documents)
        {
            found[document["_id"].AsString] = new DateTimeOffset(document["blocks_until"].ToUniversalTime(), TimeSpan.Zero);
        }

        return found;
    }

    /// <summary>Throws <see cref="ErasedIdentifiersException"/> when a tombstone blocks any of <paramref name="checks"/>.</summary>
    public static Task ThrowIfBlockedAsync(IClientSessionHandle session, IMongoDatabase database, IReadOnlyList<ErasureCheck> checks, CancellationToken cancellationToken) =>
        ErasureTombstones.ThrowIfBlockedAsync(checks, keys => FindAsync(session, database, keys, cancellationToken));
}
