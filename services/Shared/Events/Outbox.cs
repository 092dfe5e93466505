using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;

namespace Journey.Shared.Events;

/// <summary>A pending outbox row as the relay sees it.</summary>
/// <param name="Key">The row's key in its store.</param>
/// <param name="Message">The event.</param>
/// <param name="Attempts">How many publish attempts failed so far.</param>
public sealed record PendingOutboxMessage(long Key, OutboxMessage Message, int Attempts);

/// <summary>
/// One service's outbox, as the relay drives it. Rows are written by the service's own store
/// adapter inside its write transaction (<see cref="SqliteOutbox.AppendAsync"/>,
/// <see cref="MongoOutbox.AppendAsync"/>), so an event exists exactly when its change does.
/// </summary>
public interface IOutboxStore
{
    /// <summary>The service that owns this outbox.</summary>
    string Service { get; }

    /// <summary>Up to <paramref name="max"/> rows due at <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes rows that were handed to the transport.</summary>
    Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken);

    /// <summary>Records a failed attempt; the row is tried again at <paramref name="retryAt"/>.</summary>
    Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, DateTimeOffset retryAt, CancellationToken cancellationToken);

    /// <summary>Raised after the owning store commits a write, so the relay wakes at once.</summary>
    event Action? Committed;
}

/// <summary>The outbox table inside a service's SQLite database.</summary>
public sealed class SqliteOutbox : IOutboxStore
{
    /// <summary>Schema: the integer key keeps inserts at the end of the B-tree, so the outbox costs little on the ingest path.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            envelope BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0)
        """;

    private readonly SqliteDatabase _database;

    /// <summary>Wraps the outbox of <paramref name="database"/>; creates the table when missing.</summary>
    public SqliteOutbox(string service, SqliteDatabase database)
    {
        Service = service;
        _database = database;
        using var connection = database.OpenConnectionAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = connection.CreateCommand();
        command.CommandText = Schema;
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public string Service { get; }

    /// <inheritdoc />
    public event Action? Committed
    {
        add => _database.Committed += value;
        remove => _database.Committed -= value;
    }

    /// <summary>Writes <paramref name="messages"/> in the caller's transaction.</summary>
    public static async Task AppendAsync(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox (event_id, topic, envelope) VALUES ($id, $topic, $envelope)";
        var id = command.Parameters.Add("$id", SqliteType.Text);
        var topic = command.Parameters.Add("$topic", SqliteType.Text);
        var envelope = command.Parameters.Add("$envelope", SqliteType.Blob);
        foreach (var message in messages)
        {
            id.Value = message.EventId;
            topic.Value = message.Topic;
            envelope.Value = message.Envelope;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<PendingOutboxMessage>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq, event_id, topic, envelope, attempts FROM outbox WHERE next_attempt_at <= $now ORDER BY seq LIMIT $max";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$max", max);
            var rows = new List<PendingOutboxMessage>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new PendingOutboxMessage(
                    reader.GetInt64(0),
                    new OutboxMessage(reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3)),
                    reader.GetInt32(4)));
            }

            return rows;
        }, cancellationToken);

    /// <inheritdoc />
    public Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken) =>
        UpdateAsync(sent, "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each($seqs))", null, cancellationToken);

    /// <inheritdoc />
    public Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, DateTimeOffset retryAt, CancellationToken cancellationToken) =>
        UpdateAsync(failed, "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $at WHERE seq IN (SELECT value FROM json_each($seqs))", retryAt.ToUnixTimeMilliseconds(), cancellationToken);

    /// <summary>One statement for the whole batch (the keys as a JSON array): a statement per row costs more than the rows.</summary>
    private Task UpdateAsync(IReadOnlyList<PendingOutboxMessage> rows, string sql, long? at, CancellationToken cancellationToken) =>
        rows.Count == 0 ? Task.CompletedTask : _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', rows.Select(r => r.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]");
            if (at is not null)
            {
                command.Parameters.AddWithValue("$at", at.Value);
            }

            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
}

/// <summary>The outbox collection inside a service's MongoDB database.</summary>
public sealed class MongoOutbox : IOutboxStore
{
    /// <summary>The collection name.</summary>
    public const string CollectionName = "outbox";

    private readonly MongoStore _store;
    private readonly IMongoCollection<OutboxDocument> _collection;

    /// <summary>Wraps the outbox of <paramref name="store"/>; creates its index when missing.</summary>
    public MongoOutbox(string service, MongoStore store)
    {
        Service = service;
        _store = store;
        _collection = store.Database.GetCollection<OutboxDocument>(CollectionName);
        _collection.Indexes.CreateOne(new CreateIndexModel<OutboxDocument>(
            Builders<OutboxDocument>.IndexKeys.Ascending(d => d.NextAttemptAt).Ascending(d => d.Seq)));
    }

    /// <inheritdoc />
    public string Service { get; }

    /// <inheritdoc />
    public event Action? Committed
    {
        add => _store.Committed += value;
        remove => _store.Committed -= value;
    }

    /// <summary>Writes <paramref name="messages"/> in the caller's transaction.</summary>
    public static Task AppendAsync(IClientSessionHandle session, IMongoDatabase database, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return Task.CompletedTask;
        }

        // UUIDv7 ticks give a time-ordered key without a shared counter between replicas.
        var documents = messages.Select(m => new OutboxDocument
        {
            Id = m.EventId,
            Seq = Guid.Parse(m.EventId).ToString("N"),
            Topic = m.Topic,
            Envelope = m.Envelope,
            NextAttemptAt = DateTime.UnixEpoch,
        });
        return database.GetCollection<OutboxDocument>(CollectionName).InsertManyAsync(session, documents, cancellationToken: cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<PendingOutboxMessage>>(async (_, ct) =>
        {
            var documents = await _collection.Find(d => d.NextAttemptAt <= now.UtcDateTime)
                .SortBy(d => d.Seq).Limit(max).ToListAsync(ct);
            return documents.Select((d, i) => new PendingOutboxMessage(i, new OutboxMessage(d.Id, d.Topic, d.Envelope), d.Attempts)).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken)
    {
        var ids = sent.Select(s => s.Message.EventId).ToList();
        return _store.ReadAsync((_, ct) => _collection.DeleteManyAsync(d => ids.Contains(d.Id), ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        var ids = failed.Select(s => s.Message.EventId).ToList();
        var update = Builders<OutboxDocument>.Update.Inc(d => d.Attempts, 1).Set(d => d.NextAttemptAt, retryAt.UtcDateTime);
        return _store.ReadAsync((_, ct) => _collection.UpdateManyAsync(d => ids.Contains(d.Id), update, cancellationToken: ct), cancellationToken);
    }

    internal sealed class OutboxDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        [BsonElement("seq")]
        public string Seq { get; set; } = "";

        [BsonElement("topic")]
        public string Topic { get; set; } = "";

        [BsonElement("envelope")]
        public byte[] Envelope { get; set; } = [];

        [BsonElement("attempts")]
        public int Attempts { get; set; }

        [BsonElement("next_attempt_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime NextAttemptAt { get; set; }
    }
}
