using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// A subscriber with a real store: each event appends a row to <c>effects</c> and claims its id in the
/// inbox in the same transaction, as a service handler must. Tests steer failures per event value.
/// </summary>
internal sealed class RecordingHandler([FromKeyedServices("profile")] SqliteDatabase database, RecordingHandler.Script script) : IEventHandler<StringValue>
{
    public const string EffectsSchema = "CREATE TABLE IF NOT EXISTS effects (event_id TEXT NOT NULL, value TEXT NOT NULL)";

    public async Task HandleAsync(IReadOnlyList<ReceivedEvent<StringValue>> events, CancellationToken cancellationToken)
    {
        script.Batches.Enqueue(events.Count);
        foreach (var received in events)
        {
            script.TraceIds.Enqueue(System.Diagnostics.Activity.Current?.TraceId.ToString() ?? "");
            if (script.FailuresLeft.TryGetValue(received.Message.Value, out var left) && left > 0)
            {
                script.FailuresLeft[received.Message.Value] = left - 1;
                throw new InvalidOperationException("scripted failure");
            }
        }

        await database.WriteAsync(async (connection, transaction, ct) =>
        {
            foreach (var received in events)
            {
                if (!await SqliteInbox.TryClaimAsync(connection, transaction, "profile.test", received.EventId, DateTimeOffset.UtcNow, ct))
                {
                    continue;
                }

                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "INSERT INTO effects (event_id, value) VALUES ($id, $value)";
                command.Parameters.AddWithValue("$id", received.EventId);
                command.Parameters.AddWithValue("$value", received.Message.Value);
                await command.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, cancellationToken);
    }

    public static Task<List<string>> EffectsAsync(SqliteDatabase database) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT value FROM effects ORDER BY rowid";
            var values = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                values.Add(reader.GetString(0));
            }

            return values;
        }, CancellationToken.None);

    public static void EnsureSchema(SqliteDatabase database) =>
        database.Migrate([("effects-001", EffectsSchema), ("inbox-001", SqliteInbox.Schema)]);

    /// <summary>What the test wants to happen, and what happened.</summary>
    internal sealed class Script
    {
        public ConcurrentDictionary<string, int> FailuresLeft { get; } = new();

        public ConcurrentQueue<int> Batches { get; } = new();

        public ConcurrentQueue<string> TraceIds { get; } = new();
    }
}

/// <summary>Topics the pipeline tests publish, named like real ones so the transports' rules see familiar shapes.</summary>
internal static class TestTopics
{
    public const string InteractionRecorded = "interaction-recorded";

    public const string ProfileUpdated = "profile-updated";

    public const string SegmentMembershipChanged = "segment-membership-changed";

    /// <summary>A subscription to <see cref="InteractionRecorded"/> from the "touchpoint" publisher.</summary>
    public static readonly TopicSubscription FromTouchpoint = new(InteractionRecorded, "touchpoint");
}

/// <summary>Builds the pieces of an event pipeline around <see cref="RecordingHandler"/>.</summary>
internal static class TestPipeline
{
    public static OutboxMessage Event(string value) =>
        EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = value }, DateTimeOffset.UtcNow);

    public static async Task AppendAsync(SqliteDatabase database, params OutboxMessage[] messages) =>
        await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await SqliteOutbox.AppendAsync(connection, transaction, messages, ct);
            return 0;
        }, CancellationToken.None);

    public static async Task<long> CountAsync(SqliteDatabase database, string table) =>
        await database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);

}

/// <summary>
/// An in-process bus's log in a fresh SQLite database and the services its handlers are resolved from;
/// disposing it disposes both.
/// </summary>
internal sealed class TestBus : IDisposable
{
    private readonly TemporarySqlite _log = new("bus");

    public TestBus(Action<IServiceCollection> addHandlers)
    {
        var collection = new ServiceCollection();
        addHandlers(collection);
        Services = collection.BuildServiceProvider();
    }

    public SqliteDatabase Database => _log.Database;

    public ServiceProvider Services { get; }

    /// <summary>A bus over this log delivering to the given subscriptions.</summary>
    public InProcessBus Open(EventsOptions options, TimeProvider time, params EventSubscription[] subscriptions) =>
        new(_log.Database, subscriptions, Options.Create(options), time, NullLogger<InProcessBus>.Instance);

    public void Dispose()
    {
        Services.Dispose();
        _log.Dispose();
    }
}
