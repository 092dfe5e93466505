using Journey.Events.V1;
using Journey.Shared.Storage;
using Journey.Shared.Telemetry;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Shared.Events;

/// <summary>A delivery that failed for good, kept until someone replays it.</summary>
/// <param name="Id">The dead letter's id, for replay.</param>
/// <param name="Subscription">The subscription (<c>service.topic</c>) it was meant for.</param>
/// <param name="EventId">The event's id.</param>
/// <param name="Attempts">How many deliveries were tried.</param>
/// <param name="Reason">Why it failed: the poison reason, or the last exception's type.</param>
/// <param name="DeadAt">When it was parked.</param>
public sealed record DeadLetter(long Id, string Subscription, string EventId, int Attempts, string Reason, DateTimeOffset DeadAt);

/// <summary>
/// The platform host's broker: a durable log in <c>bus.db</c>. Publishing appends each event once
/// (whatever the number of subscriptions on its topic), in one transaction, so the outbox row can be
/// removed; each subscription keeps a cursor into the log, and its dispatcher hands batches to the
/// handler and moves the cursor past them. A delivery that fails gets a row of its own in
/// <c>deliveries</c>: it is retried with back-off there and parked as a dead letter when it keeps
/// failing, while the cursor goes on. Log rows every cursor has passed are removed in ranges. Events
/// cross as bytes, exactly as on Dapr, so no object is ever shared between services. Once the log has
/// let go of an erasure's events (and so of everything published about the person before them), the
/// file's write-ahead log is scrubbed (ADR 0019).
/// </summary>
public sealed partial class InProcessBus : IEventTransport, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS deliveries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription TEXT NOT NULL,
            event_id TEXT NOT NULL,
            envelope BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            dead INTEGER NOT NULL DEFAULT 0,
            reason TEXT,
            dead_at INTEGER);
        CREATE INDEX IF NOT EXISTS deliveries_by_subscription ON deliveries (subscription, dead, seq)
        """;

    /// <summary>
    /// The log has no topic index: a dispatcher reads forward from its cursor and skips other topics,
    /// which costs less than a second B-tree write on every publish. Deliveries written by earlier
    /// versions (one row per subscription) are simply due retries.
    /// </summary>
    private const string LogSchema = """
        CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, event_id TEXT NOT NULL, envelope BLOB NOT NULL);
        CREATE TABLE cursors (subscription TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID
        """;

    private const string LastLogged = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)";

    private static readonly IReadOnlySet<long> NoRetries = new HashSet<long>();

    private readonly SqliteDatabase _database;
    private readonly HashSet<string> _topics;
    private readonly string _subscriptionNames;
    private readonly ILookup<string, EventSubscription> _byTopic;
    private readonly Dictionary<string, SemaphoreSlim> _wake;
    private readonly EventsOptions _options;
    private readonly TimeProvider _time;
    private int _idleDispatchers;
    private readonly ILogger<InProcessBus> _logger;

    /// <summary>The last log position of an erasure's event still in the log; 0 when none. Read and written under the write lock.</summary>
    private long _scrubThrough;

    /// <summary>Opens the bus in <paramref name="database"/> for the subscriptions of this process.</summary>
    public InProcessBus(SqliteDatabase database, IEnumerable<EventSubscription> subscriptions, IOptions<EventsOptions> options, TimeProvider time, ILogger<InProcessBus> logger)
    {
        _database = database;
        _database.Migrate([("bus-001", Schema), ("bus-002", LogSchema)]);
        Subscriptions = subscriptions.ToList();
        _byTopic = Subscriptions.ToLookup(s => s.Topic);
        _topics = Subscriptions.Select(s => s.Topic).ToHashSet(StringComparer.Ordinal);
        _wake = Subscriptions.ToDictionary(s => s.Name, _ => new SemaphoreSlim(0, 1));
        _subscriptionNames = System.Text.Json.JsonSerializer.Serialize(Subscriptions.Select(s => s.Name));
        _options = options.Value;
        _time = time;
        _logger = logger;

        // A subscription new to this log starts at its end: what was published before it existed was never meant for it.
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, $"INSERT OR IGNORE INTO cursors (subscription, seq) VALUES ($subscription, ({LastLogged}))");
            var name = command.Parameters.Add("$subscription", SqliteType.Text);
            foreach (var subscription in Subscriptions)
            {
                name.Value = subscription.Name;
                await command.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, CancellationToken.None).GetAwaiter().GetResult();
        _scrubThrough = _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic IN ('{Topics.ErasureRequested}', '{Topics.ErasureCompleted}')";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>How many events one dispatch round takes at most.</summary>
    internal int BatchSize => _options.BatchSize;

    /// <summary>The clock the bus's due times and the dispatchers' waits follow.</summary>
    internal TimeProvider Time => _time;

    /// <summary>The subscriptions this bus delivers to.</summary>
    public IReadOnlyList<EventSubscription> Subscriptions { get; }

    /// <inheritdoc />
    public async Task<int> PublishAsync(string source, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        // Events no subscription of this process wants are delivered by being dropped, without a write.
        if (!messages.Any(m => _topics.Contains(m.Topic)))
        {
            return messages.Count;
        }

        var woken = new HashSet<string>();
        await _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "INSERT INTO events (topic, event_id, envelope) VALUES ($topic, $id, $envelope)");
            var topic = command.Parameters.Add("$topic", SqliteType.Text);
            var id = command.Parameters.Add("$id", SqliteType.Text);
            var envelope = command.Parameters.Add("$envelope", SqliteType.Blob);
            foreach (var message in messages)
            {
                if (!_topics.Contains(message.Topic))
                {
                    continue;
                }

                topic.Value = message.Topic;
                id.Value = message.EventId;
                envelope.Value = message.Envelope;
                await command.ExecuteNonQueryAsync(ct);
                if (Topics.EndsAnErasure(message.Topic))
                {
                    await using var last = Command(connection, transaction, "SELECT last_insert_rowid()");
                    _scrubThrough = Math.Max(_scrubThrough, (long)(await last.ExecuteScalarAsync(ct))!);
                }
                foreach (var target in _byTopic[message.Topic])
                {
                    woken.Add(target.Name);
                }
            }

            return 0;
        }, cancellationToken);

        foreach (var name in woken)
        {
            Wake(name);
        }

        return messages.Count;
    }

    /// <summary>Delivers one batch of due events of <paramref name="subscription"/> and moves its cursor; returns how many it took.</summary>
    public async Task<int> DispatchOnceAsync(EventSubscription subscription, IServiceProvider services, CancellationToken cancellationToken)
    {
        var batch = await ReadDueAsync(subscription, after: null, NoRetries, cancellationToken);
        var outcome = await DeliverAsync(subscription, services, batch, cancellationToken);
        await CommitAsync(subscription, outcome, cancellationToken);
        return batch.Rows.Count;
    }

    /// <summary>Hands <paramref name="batch"/> to the handler; poison events and handler failures are recorded in the outcome, not thrown.</summary>
    internal async Task<Outcome> DeliverAsync(EventSubscription subscription, IServiceProvider services, Batch batch, CancellationToken cancellationToken)
    {
        var outcome = new Outcome(batch.From, batch.To);
        var ready = new List<(Row Row, EventEnvelope Envelope)>(batch.Rows.Count);
        foreach (var row in batch.Rows)
        {
            try
            {
                ready.Add((row, subscription.Parse(row.Envelope)));
            }
            catch (PoisonEventException ex)
            {
                Fail(subscription, row, ex, outcome);
            }
        }

        try
        {
            if (ready.Count > 0)
            {
                await subscription.HandleAsync(services, ready.Select(r => r.Envelope).ToList(), cancellationToken);
                outcome.Done.AddRange(ready.Select(r => r.Row));
            }
        }
        catch (Exception) when (ready.Count > 1 && !cancellationToken.IsCancellationRequested)
        {
            // Find the bad event(s): the others must not wait for them.
            foreach (var (row, envelope) in ready)
            {
                try
                {
                    await subscription.HandleAsync(services, [envelope], cancellationToken);
                    outcome.Done.Add(row);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    Fail(subscription, row, ex, outcome);
                }
            }
        }
        catch (Exception ex) when (ready.Count == 1 && !cancellationToken.IsCancellationRequested)
        {
            Fail(subscription, ready[0].Row, ex, outcome);
        }

        return outcome;
    }

    /// <summary>Dead letters, oldest first, after <paramref name="afterId"/>.</summary>
    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string? subscription, int max, long afterId, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<DeadLetter>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT seq, subscription, event_id, attempts, reason, dead_at FROM deliveries
                WHERE dead = 1 AND seq > $after AND ($subscription IS NULL OR subscription = $subscription)
                ORDER BY seq LIMIT $max
                """;
            command.Parameters.AddWithValue("$after", afterId);
            command.Parameters.AddWithValue("$subscription", (object?)subscription ?? DBNull.Value);
            command.Parameters.AddWithValue("$max", max);
            var letters = new List<DeadLetter>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                letters.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
                    reader.IsDBNull(4) ? "" : reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }

            return letters;
        }, cancellationToken);

    /// <summary>Puts dead letters back in their queue with a fresh attempt count; returns how many were found.</summary>
    public async Task<int> ReplayAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>();
        var count = await _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "UPDATE deliveries SET dead = 0, attempts = 0, next_attempt_at = 0, reason = NULL, dead_at = NULL WHERE seq = $seq AND dead = 1 RETURNING subscription");
            var seq = command.Parameters.Add("$seq", SqliteType.Integer);
            var replayed = 0;
            foreach (var id in ids)
            {
                seq.Value = id;
                if (await command.ExecuteScalarAsync(ct) is string name)
                {
                    names.Add(name);
                    replayed++;
                }
            }

            return replayed;
        }, cancellationToken);
        foreach (var name in names)
        {
            Wake(name);
        }

        return count;
    }

    /// <summary>How many deliveries wait (not dead) for <paramref name="subscription"/>: retries and events past its cursor.</summary>
    public Task<long> CountPendingAsync(string subscription, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT (SELECT COUNT(*) FROM deliveries WHERE subscription = $subscription AND dead = 0)
                     + (SELECT COUNT(*) FROM events WHERE topic = $topic AND seq > (SELECT seq FROM cursors WHERE subscription = $subscription))
                """;
            command.Parameters.AddWithValue("$subscription", subscription);
            command.Parameters.AddWithValue("$topic", Subscriptions.FirstOrDefault(s => s.Name == subscription)?.Topic ?? "");
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    /// <summary>How many events the log still holds: those some subscription's cursor has not passed yet.</summary>
    internal Task<long> CountLoggedAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM events";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    /// <summary>Waits for a publish to this subscription or the poll interval; true when woken by a publish.</summary>
    internal async Task<bool> WaitForWorkAsync(string subscription, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _idleDispatchers);
        try
        {
            return await _wake[subscription].WaitAsync(_options.PollInterval, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _idleDispatchers);
        }
    }

    /// <summary>Dispatchers waiting for a publish now, so a test can publish once every round so far has ended.</summary>
    internal int IdleDispatchers => Volatile.Read(ref _idleDispatchers);

    private void Wake(string subscription)
    {
        if (_wake.TryGetValue(subscription, out var wake) && wake.CurrentCount == 0)
        {
            try
            {
                wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    /// <summary>
    /// Due retries first, then the log past <paramref name="after"/> (the stored cursor when null); also
    /// where the cursor may move when nothing of its topic follows. Retries in <paramref name="skipRetries"/>
    /// are being delivered already, by a batch whose commit has not happened yet.
    /// </summary>
    internal Task<Batch> ReadDueAsync(EventSubscription subscription, long? after, IReadOnlySet<long> skipRetries, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            var rows = new List<Row>();
            await using (var retries = connection.CreateCommand())
            {
                retries.CommandText = """
                    SELECT seq, envelope, attempts FROM deliveries
                    WHERE subscription = $subscription AND dead = 0 AND next_attempt_at <= $now
                    ORDER BY seq LIMIT $max
                    """;
                retries.Parameters.AddWithValue("$subscription", subscription.Name);
                retries.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
                retries.Parameters.AddWithValue("$max", _options.BatchSize + skipRetries.Count);
                await using var reader = await retries.ExecuteReaderAsync(ct);
                while (rows.Count < _options.BatchSize && await reader.ReadAsync(ct))
                {
                    var seq = reader.GetInt64(0);
                    if (!skipRetries.Contains(seq))
                    {
                        rows.Add(new Row(seq, 0, "", (byte[])reader.GetValue(1), reader.GetInt32(2)));
                    }
                }
            }

            await using var position = connection.CreateCommand();
            position.CommandText = $"SELECT (SELECT seq FROM cursors WHERE subscription = $subscription), ({LastLogged})";
            position.Parameters.AddWithValue("$subscription", subscription.Name);
            long from, until;
            await using (var reader = await position.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                (from, until) = (after ?? reader.GetInt64(0), reader.GetInt64(1));
            }

            var room = _options.BatchSize - rows.Count;
            if (room <= 0 || until <= from)
            {
                return new Batch(rows, from, from);
            }

            await using var log = connection.CreateCommand();
            log.CommandText = "SELECT seq, event_id, envelope FROM events WHERE seq > $from AND seq <= $until AND topic = $topic ORDER BY seq LIMIT $max";
            log.Parameters.AddWithValue("$from", from);
            log.Parameters.AddWithValue("$until", until);
            log.Parameters.AddWithValue("$topic", subscription.Topic);
            log.Parameters.AddWithValue("$max", room);
            var taken = 0;
            await using (var reader = await log.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    rows.Add(new Row(0, reader.GetInt64(0), reader.GetString(1), (byte[])reader.GetValue(2), 0));
                    taken++;
                }
            }

            // Fewer than asked for: every row up to 'until' was read, so the cursor may skip the other topics' rows too.
            return new Batch(rows, from, taken < room ? until : rows[^1].LogSeq);
        }, cancellationToken);

    /// <summary>Records a failed delivery: a retry later, or a dead letter.</summary>
    private void Fail(EventSubscription subscription, Row row, Exception exception, Outcome outcome)
    {
        var attempts = row.Attempts + 1;
        var poison = exception is PoisonEventException;
        var tag = new KeyValuePair<string, object?>("subscription", subscription.Name);
        if (poison || attempts >= _options.MaxAttempts)
        {
            var reason = poison ? exception.Message : exception.GetType().Name;
            LogDeadLettered(_logger, subscription.Name, attempts, reason);
            JourneyTelemetry.EventsDeadLettered.Add(1, tag);
            outcome.Failed.Add((row, attempts, reason, Dead: true));
            return;
        }

        LogDeliveryFailed(_logger, subscription.Name, attempts, exception);
        JourneyTelemetry.EventsRetried.Add(1, tag);
        outcome.Failed.Add((row, attempts, exception.GetType().Name, Dead: false));
    }

    /// <summary>
    /// One transaction per round: the cursor moves past what was read, delivered retries go, failures
    /// get (or update) their own row, and the log loses what every cursor has passed.
    /// </summary>
    internal Task CommitAsync(EventSubscription subscription, Outcome outcome, CancellationToken cancellationToken)
    {
        if (outcome.Done.Count == 0 && outcome.Failed.Count == 0 && outcome.To == outcome.From)
        {
            return Task.CompletedTask;
        }

        var doneRetries = outcome.Done.Where(r => r.Seq != 0).Select(r => r.Seq).ToList();
        var now = _time.GetUtcNow();
        return _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using (var cursor = Command(connection, transaction, "UPDATE cursors SET seq = max(seq, $seq) WHERE subscription = $subscription"))
            {
                cursor.Parameters.AddWithValue("$seq", outcome.To);
                cursor.Parameters.AddWithValue("$subscription", subscription.Name);
                await cursor.ExecuteNonQueryAsync(ct);
            }

            if (doneRetries.Count > 0)
            {
                await using var delete = Command(connection, transaction, "DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each($seqs))");
                delete.Parameters.AddWithValue("$seqs", "[" + string.Join(',', doneRetries.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]");
                await delete.ExecuteNonQueryAsync(ct);
            }

            foreach (var (row, attempts, reason, dead) in outcome.Failed)
            {
                var at = dead ? now : now + Backoff.After(attempts, _options);
                await using var write = Command(connection, transaction, row.Seq == 0
                    ? """
                      INSERT INTO deliveries (subscription, event_id, envelope, attempts, next_attempt_at, dead, reason, dead_at)
                      VALUES ($subscription, $event_id, $envelope, $attempts, $at, $dead, $reason, CASE WHEN $dead = 1 THEN $at END)
                      """
                    : "UPDATE deliveries SET attempts = $attempts, next_attempt_at = $at, dead = $dead, reason = $reason, dead_at = CASE WHEN $dead = 1 THEN $at END WHERE seq = $seq");
                write.Parameters.AddWithValue("$subscription", subscription.Name);
                write.Parameters.AddWithValue("$event_id", row.EventId);
                write.Parameters.AddWithValue("$envelope", row.Envelope);
                write.Parameters.AddWithValue("$attempts", attempts);
                write.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
                write.Parameters.AddWithValue("$dead", dead ? 1 : 0);
                write.Parameters.AddWithValue("$reason", reason);
                write.Parameters.AddWithValue("$seq", row.Seq);
                await write.ExecuteNonQueryAsync(ct);
            }

            await using (var trim = Command(connection, transaction, "DELETE FROM events WHERE seq <= (SELECT min(seq) FROM cursors WHERE subscription IN (SELECT value FROM json_each($subscriptions)))"))
            {
                trim.Parameters.AddWithValue("$subscriptions", _subscriptionNames);
                await trim.ExecuteNonQueryAsync(ct);
            }

            // A delivered retry of an erasure's event, or the log trimmed past the last one: scrub the log
            // after this commit, so the deleted envelopes' older page images go too.
            var scrub = doneRetries.Count > 0 && Topics.EndsAnErasure(subscription.Topic);
            if (_scrubThrough > 0)
            {
                await using var left = Command(connection, transaction, "SELECT EXISTS (SELECT 1 FROM events WHERE seq <= $through)");
                left.Parameters.AddWithValue("$through", _scrubThrough);
                if ((long)(await left.ExecuteScalarAsync(ct))! == 0)
                {
                    _scrubThrough = 0;
                    scrub = true;
                }
            }

            if (scrub)
            {
                _database.RequestScrub();
            }

            return 0;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var wake in _wake.Values)
        {
            wake.Dispose();
        }
    }

    /// <summary>A delivery read: a retry (<paramref name="Seq"/> of its row) or a log entry (<paramref name="LogSeq"/>).</summary>
    internal sealed record Row(long Seq, long LogSeq, string EventId, byte[] Envelope, int Attempts);

    /// <summary>What one read found; delivering it moves the cursor from <paramref name="From"/> to <paramref name="To"/>.</summary>
    internal sealed record Batch(List<Row> Rows, long From, long To);

    /// <summary>What one dispatch round did: the cursor moves from <see cref="From"/> to <see cref="To"/>.</summary>
    internal sealed class Outcome(long from, long to)
    {
        public long From { get; } = from;

        public long To { get; } = to;

        public List<Row> Done { get; } = [];

        public List<(Row Row, int Attempts, string Reason, bool Dead)> Failed { get; } = [];
    }

    [LoggerMessage(EventId = 110, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "Delivery to {Subscription} failed (attempt {Attempts}); it will be retried")]
    private static partial void LogDeliveryFailed(ILogger logger, string subscription, int attempts, Exception exception);

    [LoggerMessage(EventId = 111, EventName = "DeliveryDeadLettered", Level = LogLevel.Error, Message = "Delivery to {Subscription} parked as a dead letter after {Attempts} attempts: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string subscription, int attempts, string reason);
}
