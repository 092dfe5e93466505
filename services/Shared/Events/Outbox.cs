using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Shared.Events;

/// <summary>A pending outbox row as the relay sees it.</summary>
/// <param name="Key">The row's key in its store.</param>
/// <param name="Message">The event.</param>
/// <param name="Attempts">How many times the transport was tried with it and failed.</param>
/// <param name="Refusals">How many of those failures were the transport refusing this event while it took others.</param>
public sealed record PendingOutboxMessage(long Key, OutboxMessage Message, int Attempts, int Refusals = 0);

/// <summary>An outbox event the transport kept refusing, set aside so that it blocks nothing.</summary>
/// <param name="EventId">The event's id.</param>
/// <param name="Topic">Its topic.</param>
/// <param name="Attempts">How many times the transport was tried with it.</param>
/// <param name="Refusals">How many of those it refused while it took other events.</param>
/// <param name="Reason">Why it was parked.</param>
/// <param name="ParkedAt">When.</param>
public sealed record ParkedOutboxMessage(string EventId, string Topic, int Attempts, int Refusals, string Reason, DateTimeOffset ParkedAt);

/// <summary>
/// One service's outbox, as the relay drives it. Rows are written by the service's own store
/// adapter inside its write transaction (<see cref="SqliteOutbox.AppendAsync"/>,
/// <see cref="MongoOutbox.AppendAsync"/>), so an event exists exactly when its change does. Rows
/// are read in append order: within a transaction in the order given, across transactions in the
/// order they were appended.
/// </summary>
public interface IOutboxStore
{
    /// <summary>The service that owns this outbox.</summary>
    string Service { get; }

    /// <summary>
    /// Takes or renews the outbox's relay lease for <paramref name="holder"/> until
    /// <paramref name="now"/> + <paramref name="duration"/>, atomically in the store: true when
    /// <paramref name="holder"/> holds it, false while another holder's lease runs. Only the holder
    /// publishes, so replicas sharing the store publish each event once.
    /// </summary>
    Task<bool> TryLeaseAsync(string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives up the lease if <paramref name="holder"/> holds it, so another replica need not wait for it to expire.</summary>
    Task ReleaseLeaseAsync(string holder, CancellationToken cancellationToken);

    /// <summary>Whether any row is due at <paramref name="now"/>; reads no event.</summary>
    Task<bool> HasDueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="max"/> rows due at <paramref name="now"/>, in append order.</summary>
    Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes rows that were handed to the transport.</summary>
    Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken);

    /// <summary>
    /// Records one failed attempt of each row (and one refusal when <paramref name="refused"/>); the
    /// rows are tried again at <paramref name="retryAt"/>.
    /// </summary>
    Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, bool refused, DateTimeOffset retryAt, CancellationToken cancellationToken);

    /// <summary>Records the last refusal of <paramref name="row"/> and moves it out of the outbox into its parked rows.</summary>
    Task ParkAsync(PendingOutboxMessage row, string reason, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="max"/> parked rows, in append order.</summary>
    Task<IReadOnlyList<ParkedOutboxMessage>> ListParkedAsync(int max, CancellationToken cancellationToken);

    /// <summary>Puts parked rows back in the outbox at their original place with fresh counts; returns how many were found.</summary>
    Task<int> RequeueParkedAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken);

    /// <summary>Raised after the owning store commits a write, so the relay wakes at once.</summary>
    event Action? Committed;
}

/// <summary>
/// The outbox table inside a service's SQLite database. Its integer key is the append order: SQLite
/// has one writer, so keys are given in commit order.
/// </summary>
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

    /// <summary>What the relay adds to <see cref="Schema"/>: refusals, the lease (one row) and the parked rows.</summary>
    private const string RelaySchema = """
        ALTER TABLE outbox ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE outbox_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, until INTEGER NOT NULL);
        CREATE TABLE outbox_parked (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            envelope BLOB NOT NULL,
            attempts INTEGER NOT NULL,
            refusals INTEGER NOT NULL,
            reason TEXT NOT NULL,
            parked_at INTEGER NOT NULL)
        """;

    private readonly SqliteDatabase _database;

    /// <summary>Wraps the outbox of <paramref name="database"/>; creates the tables when missing.</summary>
    public SqliteOutbox(string service, SqliteDatabase database)
    {
        Service = service;
        _database = database;
        using (var connection = database.OpenConnectionAsync(CancellationToken.None).GetAwaiter().GetResult())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = Schema;
            command.ExecuteNonQuery();
        }

        database.Migrate([("outbox-relay-001", RelaySchema)]);
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

        await using var command = Command(connection, transaction, "INSERT INTO outbox (event_id, topic, envelope) VALUES ($id, $topic, $envelope)");
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
    public Task<bool> TryLeaseAsync(string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            // The update applies only for the holder or over an expired lease; otherwise nothing is returned.
            await using var command = Command(connection, transaction, """
                INSERT INTO outbox_lease (id, holder, until) VALUES (1, $holder, $until)
                ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, until = excluded.until
                WHERE outbox_lease.holder = excluded.holder OR outbox_lease.until <= $now
                RETURNING holder
                """);
            command.Parameters.AddWithValue("$holder", holder);
            command.Parameters.AddWithValue("$until", (now + duration).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteScalarAsync(ct) is string;
        }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseLeaseAsync(string holder, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "UPDATE outbox_lease SET until = 0 WHERE holder = $holder");
            command.Parameters.AddWithValue("$holder", holder);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> HasDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT EXISTS (SELECT 1 FROM outbox WHERE next_attempt_at <= $now)";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return (long)(await command.ExecuteScalarAsync(ct))! == 1;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<PendingOutboxMessage>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq, event_id, topic, envelope, attempts, refusals FROM outbox WHERE next_attempt_at <= $now ORDER BY seq LIMIT $max";
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$max", max);
            var rows = new List<PendingOutboxMessage>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new PendingOutboxMessage(
                    reader.GetInt64(0),
                    new OutboxMessage(reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3)),
                    reader.GetInt32(4),
                    reader.GetInt32(5)));
            }

            return rows;
        }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Sending an erasure's events (an erasure request carries every identifier of the person; a
    /// completion follows everything the service published about them before) scrubs the file's log
    /// once they are gone from it (ADR 0019).
    /// </remarks>
    public Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken) =>
        UpdateAsync(sent, "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each($seqs))", null, cancellationToken,
            scrub: sent.Any(s => Topics.EndsAnErasure(s.Message.Topic)));

    /// <inheritdoc />
    public Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, bool refused, DateTimeOffset retryAt, CancellationToken cancellationToken) =>
        UpdateAsync(
            failed,
            $"UPDATE outbox SET attempts = attempts + 1, refusals = refusals + {(refused ? 1 : 0)}, next_attempt_at = $at WHERE seq IN (SELECT value FROM json_each($seqs))",
            retryAt.ToUnixTimeMilliseconds(),
            cancellationToken);

    /// <inheritdoc />
    public Task ParkAsync(PendingOutboxMessage row, string reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, """
                INSERT INTO outbox_parked (seq, event_id, topic, envelope, attempts, refusals, reason, parked_at)
                SELECT seq, event_id, topic, envelope, attempts + 1, refusals + 1, $reason, $now FROM outbox WHERE seq = $seq;
                DELETE FROM outbox WHERE seq = $seq
                """);
            command.Parameters.AddWithValue("$seq", row.Key);
            command.Parameters.AddWithValue("$reason", reason);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ParkedOutboxMessage>> ListParkedAsync(int max, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<ParkedOutboxMessage>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT event_id, topic, attempts, refusals, reason, parked_at FROM outbox_parked ORDER BY seq LIMIT $max";
            command.Parameters.AddWithValue("$max", max);
            var rows = new List<ParkedOutboxMessage>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new ParkedOutboxMessage(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }

            return rows;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<int> RequeueParkedAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken) =>
        eventIds.Count == 0 ? Task.FromResult(0) : _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var ids = System.Text.Json.JsonSerializer.Serialize(eventIds);
            await using var requeue = Command(connection, transaction, """
                INSERT INTO outbox (seq, event_id, topic, envelope)
                SELECT seq, event_id, topic, envelope FROM outbox_parked WHERE event_id IN (SELECT value FROM json_each($ids))
                """);
            requeue.Parameters.AddWithValue("$ids", ids);
            var count = await requeue.ExecuteNonQueryAsync(ct);
            await using var remove = Command(connection, transaction, "DELETE FROM outbox_parked WHERE event_id IN (SELECT value FROM json_each($ids))");
            remove.Parameters.AddWithValue("$ids", ids);
            await remove.ExecuteNonQueryAsync(ct);
            return count;
        }, cancellationToken);

    /// <summary>One statement for the whole batch (the keys as a JSON array): a statement per row costs more than the rows.</summary>
    private Task UpdateAsync(IReadOnlyList<PendingOutboxMessage> rows, string sql, long? at, CancellationToken cancellationToken, bool scrub = false) =>
        rows.Count == 0 ? Task.CompletedTask : _database.WriteAsync(async (connection, transaction, ct) =>
        {
            if (scrub)
            {
                _database.RequestScrub();
            }

            await using var command = Command(connection, transaction, sql);
            command.Parameters.AddWithValue("$seqs", "[" + string.Join(',', rows.Select(r => r.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]");
            if (at is not null)
            {
                command.Parameters.AddWithValue("$at", at.Value);
            }

            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
}

/// <summary>
/// The outbox collection inside a service's MongoDB database. Rows are ordered by <c>seq</c>, a key
/// <see cref="OutboxSequence"/> gives at append time: in list order within a transaction, and in
/// append order across the transactions of one process. Parked rows move to
/// <c>outbox_parked</c>; the relay lease is the one document of <c>outbox_lease</c>.
/// </summary>
public sealed class MongoOutbox : IOutboxStore
{
    /// <summary>The collection name.</summary>
    public const string CollectionName = "outbox";

    /// <summary>Where parked rows go.</summary>
    public const string ParkedCollectionName = "outbox_parked";

    /// <summary>The lease's collection.</summary>
    public const string LeaseCollectionName = "outbox_lease";

    private const string LeaseId = "relay";

    private readonly MongoStore _store;
    private readonly IMongoCollection<OutboxDocument> _collection;
    private readonly IMongoCollection<OutboxDocument> _due;
    private readonly IMongoCollection<ParkedDocument> _parked;
    private readonly IMongoCollection<LeaseDocument> _lease;

    /// <summary>
    /// The outbox's indexes. The due query has no equality, sorts on <c>seq</c> and takes a range of
    /// <c>next_attempt_at</c>: by the equality, sort, range rule the sort key comes first, so the query
    /// walks the index in append order and checks each entry's time in the index itself, with no
    /// in-memory sort and no document fetched for a row that is not due.
    /// </summary>
    public static IReadOnlyList<MongoIndex> Indexes { get; } =
    [
        new(CollectionName, new BsonDocument { ["seq"] = 1, ["next_attempt_at"] = 1 }),
        // Also creates the collection, which a transaction moving a row into it then need not do.
        new(ParkedCollectionName, new BsonDocument("seq", 1)),
    ];

    /// <summary>The due index of earlier versions, range before sort, which the due query could not walk in order.</summary>
    public static IReadOnlyList<RetiredMongoIndex> RetiredIndexes { get; } = [new(CollectionName, "next_attempt_at_1_seq_1")];

    /// <summary>Wraps the outbox of <paramref name="store"/> and declares its indexes; sends nothing to the server.</summary>
    public MongoOutbox(string service, MongoStore store)
    {
        Service = service;
        _store = store;
        _collection = store.Database.GetCollection<OutboxDocument>(CollectionName);
        // The relay reads what a majority has written: a row of a transaction that a failover rolls
        // back is never published (with the default "local", the old primary could hand it over
        // before the rollback).
        _due = _collection.WithReadConcern(ReadConcern.Majority);
        _parked = store.Database.GetCollection<ParkedDocument>(ParkedCollectionName);
        _lease = store.Database.GetCollection<LeaseDocument>(LeaseCollectionName);
        store.Indexes.Declare(Indexes);
        store.Indexes.Retire(RetiredIndexes);
    }

    /// <inheritdoc />
    public string Service { get; }

    /// <summary>The collection the relay's reads go through.</summary>
    internal IMongoCollection<OutboxDocument> DueReads => _due;

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

        return database.GetCollection<OutboxDocument>(CollectionName).InsertManyAsync(session, Documents(messages), cancellationToken: cancellationToken);
    }

    /// <summary>The documents for <paramref name="messages"/>, keyed in list order.</summary>
    internal static List<OutboxDocument> Documents(IReadOnlyList<OutboxMessage> messages) =>
        messages.Select(m => new OutboxDocument
        {
            Id = m.EventId,
            Seq = OutboxSequence.Shared.Next(),
            Topic = m.Topic,
            Envelope = m.Envelope,
            NextAttemptAt = DateTime.UnixEpoch,
        }).ToList();

    /// <inheritdoc />
    public Task<bool> TryLeaseAsync(string holder, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            // Matches the holder's lease or an expired one; when neither, the upsert inserts a second
            // document with the same _id, which the unique _id index refuses: another holder's lease runs.
            var filter = Builders<LeaseDocument>.Filter.Eq(d => d.Id, LeaseId)
                & (Builders<LeaseDocument>.Filter.Eq(d => d.Holder, holder) | Builders<LeaseDocument>.Filter.Lte(d => d.Until, now.UtcDateTime));
            var update = Builders<LeaseDocument>.Update.Set(d => d.Holder, holder).Set(d => d.Until, (now + duration).UtcDateTime);
            try
            {
                await _lease.UpdateOneAsync(filter, update, new UpdateOptions { IsUpsert = true }, ct);
                return true;
            }
            catch (MongoWriteException ex) when (MongoStore.IsDuplicateKey(ex))
            {
                return false;
            }
        }, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseLeaseAsync(string holder, CancellationToken cancellationToken) =>
        _store.ReadAsync((_, ct) => _lease.UpdateOneAsync(
            d => d.Id == LeaseId && d.Holder == holder,
            Builders<LeaseDocument>.Update.Set(d => d.Until, DateTime.UnixEpoch),
            cancellationToken: ct), cancellationToken);

    /// <inheritdoc />
    public Task<bool> HasDueAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.ReadAsync((_, ct) => _due.Find(d => d.NextAttemptAt <= now.UtcDateTime).SortBy(d => d.Seq).Project(d => d.Seq).Limit(1).AnyAsync(ct), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingOutboxMessage>> ReadDueAsync(int max, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<PendingOutboxMessage>>(async (_, ct) =>
        {
            var documents = await _due.Find(d => d.NextAttemptAt <= now.UtcDateTime)
                .SortBy(d => d.Seq).Limit(max).ToListAsync(ct);
            return documents.Select((d, i) => new PendingOutboxMessage(i, new OutboxMessage(d.Id, d.Topic, d.Envelope), d.Attempts, d.Refusals)).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task MarkSentAsync(IReadOnlyList<PendingOutboxMessage> sent, CancellationToken cancellationToken)
    {
        var ids = sent.Select(s => s.Message.EventId).ToList();
        return ids.Count == 0 ? Task.CompletedTask : _store.ReadAsync((_, ct) => _collection.DeleteManyAsync(d => ids.Contains(d.Id), ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task DeferAsync(IReadOnlyList<PendingOutboxMessage> failed, bool refused, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        var ids = failed.Select(s => s.Message.EventId).ToList();
        var update = Builders<OutboxDocument>.Update.Inc(d => d.Attempts, 1).Inc(d => d.Refusals, refused ? 1 : 0).Set(d => d.NextAttemptAt, retryAt.UtcDateTime);
        return ids.Count == 0 ? Task.CompletedTask : _store.ReadAsync((_, ct) => _collection.UpdateManyAsync(d => ids.Contains(d.Id), update, cancellationToken: ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task ParkAsync(PendingOutboxMessage row, string reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var document = await _collection.Find(session, d => d.Id == row.Message.EventId).FirstOrDefaultAsync(ct);
            if (document is null)
            {
                return 0;
            }

            await _parked.InsertOneAsync(session, new ParkedDocument
            {
                Id = document.Id,
                Seq = document.Seq,
                Topic = document.Topic,
                Envelope = document.Envelope,
                Attempts = document.Attempts + 1,
                Refusals = document.Refusals + 1,
                Reason = reason,
                ParkedAt = now.UtcDateTime,
            }, cancellationToken: ct);
            await _collection.DeleteOneAsync(session, d => d.Id == document.Id, cancellationToken: ct);
            return 1;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ParkedOutboxMessage>> ListParkedAsync(int max, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ParkedOutboxMessage>>(async (_, ct) =>
        {
            var documents = await _parked.Find(FilterDefinition<ParkedDocument>.Empty).SortBy(d => d.Seq).Limit(max).ToListAsync(ct);
            return documents.Select(d => new ParkedOutboxMessage(d.Id, d.Topic, d.Attempts, d.Refusals, d.Reason, new DateTimeOffset(d.ParkedAt, TimeSpan.Zero))).ToList();
        }, cancellationToken);

    /// <inheritdoc />
    public Task<int> RequeueParkedAsync(IReadOnlyList<string> eventIds, CancellationToken cancellationToken) =>
        eventIds.Count == 0 ? Task.FromResult(0) : _store.WriteAsync(async (session, ct) =>
        {
            var parked = await _parked.Find(session, d => eventIds.Contains(d.Id)).ToListAsync(ct);
            if (parked.Count == 0)
            {
                return 0;
            }

            await _collection.InsertManyAsync(session, parked.Select(d => new OutboxDocument
            {
                Id = d.Id,
                Seq = d.Seq,
                Topic = d.Topic,
                Envelope = d.Envelope,
                NextAttemptAt = DateTime.UnixEpoch,
            }), cancellationToken: ct);
            var ids = parked.Select(d => d.Id).ToList();
            await _parked.DeleteManyAsync(session, d => ids.Contains(d.Id), cancellationToken: ct);
            return parked.Count;
        }, cancellationToken);

    /// <summary>
    /// The fields a pending row and a parked row both store, under the same names. Each collection is read and
    /// written as its own document type, so the driver writes no discriminator.
    /// </summary>
    internal abstract class EnvelopeDocument
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

        /// <summary>Missing in rows written before refusals were counted, which reads as 0.</summary>
        [BsonElement("refusals")]
        public int Refusals { get; set; }
    }

    internal sealed class OutboxDocument : EnvelopeDocument
    {
        [BsonElement("next_attempt_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime NextAttemptAt { get; set; }
    }

    internal sealed class ParkedDocument : EnvelopeDocument
    {
        [BsonElement("reason")]
        public string Reason { get; set; } = "";

        [BsonElement("parked_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime ParkedAt { get; set; }
    }

    internal sealed class LeaseDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        [BsonElement("holder")]
        public string Holder { get; set; } = "";

        [BsonElement("until")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime Until { get; set; }
    }
}

/// <summary>
/// Order keys for the MongoDB outbox: 16 hex digits of Unix milliseconds shifted left by 16 bits plus
/// a counter, strictly increasing within the process even when the clock stands still or steps back,
/// then 8 hex digits naming the process, which orders keys that two replicas make alike. Fixed-width
/// lower-case hex, so string order is number order; the first 12 digits are the millisecond, as in
/// the UUIDv7 keys of rows written before, so old and new rows interleave by time. Replicas order
/// against each other only as well as their clocks agree.
/// </summary>
internal sealed class OutboxSequence(TimeProvider time, uint process)
{
    private long _last;

    /// <summary>The process's sequence, on the system clock.</summary>
    public static OutboxSequence Shared { get; } = new(TimeProvider.System, (uint)System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue));

    /// <summary>The next key.</summary>
    public string Next()
    {
        var floor = time.GetUtcNow().ToUnixTimeMilliseconds() << 16;
        long last, next;
        do
        {
            last = Volatile.Read(ref _last);
            next = Math.Max(last + 1, floor);
        }
        while (Interlocked.CompareExchange(ref _last, next, last) != last);

        return next.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) + process.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }
}
