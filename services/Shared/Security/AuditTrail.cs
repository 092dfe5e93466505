using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Shared.Security;

/// <summary>One sensitive operation: who did what to which resource, when, and how it ended.</summary>
/// <param name="Sequence">Order within the service's trail.</param>
/// <param name="At">When it finished.</param>
/// <param name="Method">The gRPC method, <c>/package.Service/Method</c>.</param>
/// <param name="Caller">The token's subject (a user or workload id, never a customer's data).</param>
/// <param name="Target">Resource names the request or reply named, e.g. <c>touchpoints/lease-calculator</c>; empty when none.</param>
/// <param name="Outcome">The status code name, <c>OK</c> on success.</param>
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string Method, string Caller, string Target, string Outcome);

/// <summary>A service's audit trail in its own store. Append-only.</summary>
public interface IAuditStore
{
    /// <summary>Appends an entry.</summary>
    Task AppendAsync(DateTimeOffset at, string method, string caller, string target, string outcome, CancellationToken cancellationToken);

    /// <summary>Entries after <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence, int max, CancellationToken cancellationToken);
}

/// <summary>
/// Routes each audited call to the trail of the service that owns the method (from its proto
/// package, <c>journey.&lt;service&gt;.v1</c>). Targets are resource names only, so the trail proves
/// who changed what without copying personal data into it.
/// </summary>
public sealed partial class AuditTrail(IServiceProvider services, TimeProvider time, ILogger<AuditTrail> logger)
{
    /// <summary>Records a finished call.</summary>
    public async Task RecordAsync(string method, string caller, string target, string outcome, CancellationToken cancellationToken)
    {
        var service = ServiceOf(method);
        var store = service is null ? null : services.GetKeyedService<IAuditStore>(service);
        LogAudited(logger, method, caller, target, outcome);
        if (store is not null)
        {
            await store.AppendAsync(time.GetUtcNow(), method, caller, target, outcome, cancellationToken);
        }
    }

    /// <summary>The trail of <paramref name="service"/>; null when this process does not run it.</summary>
    public IAuditStore? For(string service) => services.GetKeyedService<IAuditStore>(service);

    /// <summary>The resource names a request and reply carry, at their top level or one message down.</summary>
    public static string TargetOf(IMessage? request, IMessage? response)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        Collect(request, names, depth: 0);
        Collect(response, names, depth: 0);
        return string.Join(' ', names);
    }

    private static void Collect(IMessage? message, SortedSet<string> names, int depth)
    {
        if (message is null || depth > 1)
        {
            return;
        }

        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.IsRepeated || field.IsMap)
            {
                continue;
            }

            var value = field.Accessor.GetValue(message);
            if (field.FieldType == FieldType.String && value is string text && ResourceName().IsMatch(text))
            {
                names.Add(text);
            }
            else if (field.FieldType == FieldType.Message && value is IMessage nested)
            {
                Collect(nested, names, depth + 1);
            }
        }
    }

    private static string? ServiceOf(string method)
    {
        var match = ServicePackage().Match(method);
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"^[a-z][a-zA-Z]*/[A-Za-z0-9._~-]{1,128}(/[a-z][a-zA-Z]*/[A-Za-z0-9._~-]{1,128})*$")]
    private static partial Regex ResourceName();

    [GeneratedRegex(@"^/journey\.([a-z]+)\.v[0-9]+\.")]
    private static partial Regex ServicePackage();

    [LoggerMessage(EventId = 300, EventName = "Audited", Level = LogLevel.Information, Message = "Audit: {Method} by {Caller} on [{Target}]: {Outcome}")]
    private static partial void LogAudited(ILogger logger, string method, string caller, string target, string outcome);
}

/// <summary>The audit table of a service's SQLite database.</summary>
internal sealed class SqliteAuditStore : IAuditStore
{
    private readonly SqliteDatabase _database;

    public SqliteAuditStore(SqliteDatabase database)
    {
        _database = database;
        _database.Migrate([("audit-001", """
            CREATE TABLE IF NOT EXISTS audit (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
                method TEXT NOT NULL,
                caller TEXT NOT NULL,
                target TEXT NOT NULL,
                outcome TEXT NOT NULL)
            """)]);
    }

    public Task AppendAsync(DateTimeOffset at, string method, string caller, string target, string outcome, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = Command(connection, transaction, "INSERT INTO audit (at, method, caller, target, outcome) VALUES ($at, $method, $caller, $target, $outcome)");
            command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$method", method);
            command.Parameters.AddWithValue("$caller", caller);
            command.Parameters.AddWithValue("$target", target);
            command.Parameters.AddWithValue("$outcome", outcome);
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence, int max, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<AuditEntry>>(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq, at, method, caller, target, outcome FROM audit WHERE seq > $after ORDER BY seq LIMIT $max";
            command.Parameters.AddWithValue("$after", afterSequence);
            command.Parameters.AddWithValue("$max", max);
            var entries = new List<AuditEntry>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                entries.Add(new AuditEntry(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5)));
            }

            return entries;
        }, cancellationToken);
}

/// <summary>
/// The audit collection of a service's MongoDB database. Each entry's key is its sequence, taken from
/// a counter document, so paging by sequence is a range on the key rather than a skip. Two appends
/// running at once may become visible out of sequence order for the moment between their inserts;
/// a reader that pages during that moment can pass the lower one, which is why the trail is read
/// for review, not consumed as a queue.
/// </summary>
internal sealed class MongoAuditStore : IAuditStore
{
    private const string CollectionName = "audit";
    private const string CounterId = "audit";
    private readonly MongoStore _store;
    private readonly IMongoCollection<AuditDocument> _collection;
    private readonly IMongoCollection<BsonDocument> _counters;

    /// <summary>Wraps the trail of <paramref name="store"/>; entries older than <paramref name="retention"/> are removed by a TTL index on their time.</summary>
    public MongoAuditStore(MongoStore store, TimeSpan retention)
    {
        _store = store;
        _collection = store.Database.GetCollection<AuditDocument>(CollectionName);
        _counters = store.Database.GetCollection<BsonDocument>("counters");
        store.Indexes.Declare(RetentionIndex(retention));
    }

    /// <summary>The TTL index on the entry's time (<see cref="StorageOptions.AuditRetention"/>).</summary>
    public static MongoIndex RetentionIndex(TimeSpan retention) =>
        new(CollectionName, new BsonDocument("At", 1)) { ExpireAfter = retention };

    public Task AppendAsync(DateTimeOffset at, string method, string caller, string target, string outcome, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var counter = await _counters.FindOneAndUpdateAsync(
                Builders<BsonDocument>.Filter.Eq("_id", CounterId),
                Builders<BsonDocument>.Update.Inc("value", 1L),
                new FindOneAndUpdateOptions<BsonDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After },
                ct);
            await _collection.InsertOneAsync(new AuditDocument
            {
                Sequence = counter["value"].ToInt64(),
                At = at.UtcDateTime,
                Method = method,
                Caller = caller,
                Target = target,
                Outcome = outcome,
            }, cancellationToken: ct);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ListAsync(long afterSequence, int max, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<AuditEntry>>(async (_, ct) =>
        {
            var documents = await _collection.Find(d => d.Sequence > afterSequence).SortBy(d => d.Sequence).Limit(max).ToListAsync(ct);
            return documents.Select(d => new AuditEntry(d.Sequence, new DateTimeOffset(d.At, TimeSpan.Zero), d.Method, d.Caller, d.Target, d.Outcome)).ToList();
        }, cancellationToken);

    internal sealed class AuditDocument
    {
        [BsonId]
        public long Sequence { get; set; }

        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime At { get; set; }

        public string Method { get; set; } = "";

        public string Caller { get; set; } = "";

        public string Target { get; set; } = "";

        public string Outcome { get; set; } = "";
    }
}
