using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Driver;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Shared.Events;

/// <summary>
/// The consumer side of exactly-once in effect: a handler claims an event id in the same transaction
/// as its effect, and skips the effect when the claim shows the id was seen before. Transports
/// deliver at least once; the inbox removes the "at least".
/// </summary>
public static class SqliteInbox
{
    /// <summary>Schema: keyed by consumer then event id (UUIDv7, time ordered, so inserts append).</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS inbox (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (consumer, event_id)) WITHOUT ROWID
        """;

    /// <summary>Claims <paramref name="eventId"/> for <paramref name="consumer"/>; false when it was claimed before.</summary>
    public static async Task<bool> TryClaimAsync(SqliteConnection connection, SqliteTransaction transaction, string consumer, string eventId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "INSERT OR IGNORE INTO inbox (consumer, event_id, received_at) VALUES ($consumer, $id, $at)");
        command.Parameters.AddWithValue("$consumer", consumer);
        command.Parameters.AddWithValue("$id", eventId);
        command.Parameters.AddWithValue("$at", now.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}

/// <summary>The inbox collection of a service's MongoDB database; see <see cref="SqliteInbox"/>.</summary>
public static class MongoInbox
{
    /// <summary>The collection name.</summary>
    public const string CollectionName = "inbox";

    /// <summary>
    /// The TTL index that removes claims <paramref name="retention"/> after they were made
    /// (<see cref="StorageOptions.InboxRetention"/>): the inbox only has to outlast
    /// every redelivery of an event, and without it the collection grows with every event handled.
    /// </summary>
    public static MongoIndex RetentionIndex(TimeSpan retention) =>
        new(CollectionName, new BsonDocument("received_at", 1)) { ExpireAfter = retention };

    /// <summary>Whether <paramref name="consumer"/> has claimed <paramref name="eventId"/>, read outside any transaction.</summary>
    public static Task<bool> IsClaimedAsync(IMongoDatabase database, string consumer, string eventId, CancellationToken cancellationToken) =>
        database.GetCollection<BsonDocument>(CollectionName).Find(new BsonDocument("_id", Id(consumer, eventId))).AnyAsync(cancellationToken);

    /// <summary>Claims <paramref name="eventId"/> inside <paramref name="session"/>'s transaction; false when it was claimed before.</summary>
    public static async Task<bool> TryClaimAsync(IClientSessionHandle session, IMongoDatabase database, string consumer, string eventId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var collection = database.GetCollection<BsonDocument>(CollectionName);
        var id = Id(consumer, eventId);
        // Read before insert: a duplicate-key error would abort the whole transaction.
        if (await collection.Find(session, new BsonDocument("_id", id)).AnyAsync(cancellationToken))
        {
            return false;
        }

        await collection.InsertOneAsync(session, new BsonDocument { ["_id"] = id, ["received_at"] = now.UtcDateTime }, cancellationToken: cancellationToken);
        return true;
    }

    private static string Id(string consumer, string eventId) => $"{consumer}/{eventId}";
}
