using Journey.Events.V1;
using Journey.Shared.Storage;
using Journey.Shared.Telemetry;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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
/// The platform host's broker: a durable queue in <c>bus.db</c> with one delivery row per event and
/// subscription. Publishing writes the rows in one transaction (so the outbox row can be removed),
/// a dispatcher per subscription hands batches to its handler, retries with back-off, and parks an
/// event that keeps failing as a dead letter. Events cross as bytes, exactly as on Dapr, so no object
/// is ever shared between services.
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

    private readonly SqliteDatabase _database;
    private readonly ILookup<string, EventSubscription> _byTopic;
    private readonly Dictionary<string, SemaphoreSlim> _wake;
    private readonly EventsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<InProcessBus> _logger;

    /// <summary>Opens the bus in <paramref name="database"/> for the subscriptions of this process.</summary>
    public InProcessBus(SqliteDatabase database, IEnumerable<EventSubscription> subscriptions, IOptions<EventsOptions> options, TimeProvider time, ILogger<InProcessBus> logger)
    {
        _database = database;
        _database.Migrate([("bus-001", Schema)]);
        Subscriptions = subscriptions.ToList();
        _byTopic = Subscriptions.ToLookup(s => s.Topic);
        _wake = Subscriptions.ToDictionary(s => s.Name, _ => new SemaphoreSlim(0, 1));
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The subscriptions this bus delivers to.</summary>
    public IReadOnlyList<EventSubscription> Subscriptions { get; }

    /// <inheritdoc />
    public async Task<int> PublishAsync(string source, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var woken = new HashSet<string>();
        await _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO deliveries (subscription, event_id, envelope) VALUES ($subscription, $id, $envelope)";
            var subscription = command.Parameters.Add("$subscription", SqliteType.Text);
            var id = command.Parameters.Add("$id", SqliteType.Text);
            var envelope = command.Parameters.Add("$envelope", SqliteType.Blob);
            foreach (var message in messages)
            {
                foreach (var target in _byTopic[message.Topic])
                {
                    subscription.Value = target.Name;
                    id.Value = message.EventId;
                    envelope.Value = message.Envelope;
                    await command.ExecuteNonQueryAsync(ct);
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

    /// <summary>Delivers one batch of due events of <paramref name="subscription"/>; returns how many it took.</summary>
    public async Task<int> DispatchOnceAsync(EventSubscription subscription, IServiceProvider services, CancellationToken cancellationToken)
    {
        var rows = await ReadDueAsync(subscription.Name, cancellationToken);
        if (rows.Count == 0)
        {
            return 0;
        }

        var done = new List<long>(rows.Count);
        var ready = new List<(Row Row, EventEnvelope Envelope)>(rows.Count);
        foreach (var row in rows)
        {
            try
            {
                ready.Add((row, subscription.Parse(row.Envelope)));
            }
            catch (PoisonEventException ex)
            {
                await FailAsync(subscription, row, ex, cancellationToken);
            }
        }

        try
        {
            if (ready.Count > 0)
            {
                await subscription.HandleAsync(services, ready.Select(r => r.Envelope).ToList(), cancellationToken);
                done.AddRange(ready.Select(r => r.Row.Seq));
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
                    done.Add(row.Seq);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    await FailAsync(subscription, row, ex, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ready.Count == 1 && !cancellationToken.IsCancellationRequested)
        {
            await FailAsync(subscription, ready[0].Row, ex, cancellationToken);
        }

        await DeleteAsync(done, cancellationToken);
        return rows.Count;
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
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE deliveries SET dead = 0, attempts = 0, next_attempt_at = 0, reason = NULL, dead_at = NULL WHERE seq = $seq AND dead = 1 RETURNING subscription";
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

    /// <summary>How many deliveries wait (not dead) for <paramref name="subscription"/>.</summary>
    public Task<long> CountPendingAsync(string subscription, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM deliveries WHERE subscription = $subscription AND dead = 0";
            command.Parameters.AddWithValue("$subscription", subscription);
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);

    internal Task WaitForWorkAsync(string subscription, CancellationToken cancellationToken) =>
        _wake[subscription].WaitAsync(_options.PollInterval, cancellationToken);

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

    private Task<List<Row>> ReadDueAsync(string subscription, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT seq, envelope, attempts FROM deliveries
                WHERE subscription = $subscription AND dead = 0 AND next_attempt_at <= $now
                ORDER BY seq LIMIT $max
                """;
            command.Parameters.AddWithValue("$subscription", subscription);
            command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$max", _options.BatchSize);
            var rows = new List<Row>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new Row(reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetInt32(2)));
            }

            return rows;
        }, cancellationToken);

    private Task DeleteAsync(List<long> done, CancellationToken cancellationToken) =>
        done.Count == 0 ? Task.CompletedTask : _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM deliveries WHERE seq = $seq";
            var seq = command.Parameters.Add("$seq", SqliteType.Integer);
            foreach (var id in done)
            {
                seq.Value = id;
                await command.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, cancellationToken);

    private Task<int> FailAsync(EventSubscription subscription, Row row, Exception exception, CancellationToken cancellationToken)
    {
        var attempts = row.Attempts + 1;
        var now = _time.GetUtcNow();
        var poison = exception is PoisonEventException;
        if (poison || attempts >= _options.MaxAttempts)
        {
            var reason = poison ? exception.Message : exception.GetType().Name;
            LogDeadLettered(_logger, subscription.Name, attempts, reason);
            JourneyTelemetry.EventsDeadLettered.Add(1, new KeyValuePair<string, object?>("subscription", subscription.Name));
            return UpdateAsync("UPDATE deliveries SET attempts = $attempts, dead = 1, reason = $reason, dead_at = $at WHERE seq = $seq", row.Seq, attempts, reason, now.ToUnixTimeMilliseconds(), cancellationToken);
        }

        LogDeliveryFailed(_logger, subscription.Name, attempts, exception);
        JourneyTelemetry.EventsRetried.Add(1, new KeyValuePair<string, object?>("subscription", subscription.Name));
        var retryAt = now + Backoff.After(attempts, _options);
        return UpdateAsync("UPDATE deliveries SET attempts = $attempts, next_attempt_at = $at, reason = $reason WHERE seq = $seq", row.Seq, attempts, exception.GetType().Name, retryAt.ToUnixTimeMilliseconds(), cancellationToken);
    }

    private Task<int> UpdateAsync(string sql, long seq, int attempts, string reason, long at, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.AddWithValue("$seq", seq);
            command.Parameters.AddWithValue("$attempts", attempts);
            command.Parameters.AddWithValue("$reason", reason);
            command.Parameters.AddWithValue("$at", at);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var wake in _wake.Values)
        {
            wake.Dispose();
        }
    }

    private sealed record Row(long Seq, byte[] Envelope, int Attempts);

    [LoggerMessage(EventId = 110, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "Delivery to {Subscription} failed (attempt {Attempts}); it will be retried")]
    private static partial void LogDeliveryFailed(ILogger logger, string subscription, int attempts, Exception exception);

    [LoggerMessage(EventId = 111, EventName = "DeliveryDeadLettered", Level = LogLevel.Error, Message = "Delivery to {Subscription} parked as a dead letter after {Attempts} attempts: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string subscription, int attempts, string reason);
}

/// <summary>Runs one dispatcher loop per subscription of the <see cref="InProcessBus"/>.</summary>
internal sealed partial class InProcessBusWorker(InProcessBus bus, IServiceProvider services, IOptions<EventsOptions> options, ILogger<InProcessBusWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.DeliveryEnabled
            ? Task.WhenAll(bus.Subscriptions.Select(s => Task.Run(() => RunAsync(s, stoppingToken), stoppingToken)))
            : Task.CompletedTask;

    private async Task RunAsync(EventSubscription subscription, CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                int taken;
                try
                {
                    taken = await bus.DispatchOnceAsync(subscription, services, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogDispatchFailed(logger, subscription.Name, ex);
                    taken = 0;
                }

                if (taken < options.Value.BatchSize)
                {
                    await bus.WaitForWorkAsync(subscription.Name, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 112, EventName = "DispatchFailed", Level = LogLevel.Error, Message = "The dispatcher of {Subscription} failed a round; it will try again")]
    private static partial void LogDispatchFailed(ILogger logger, string subscription, Exception exception);
}
