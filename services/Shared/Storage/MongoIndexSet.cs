using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>
/// The indexes one service's MongoDB database should have: what its adapters declare (and retire),
/// and whether the server has them yet. Nothing is sent to the server when an adapter declares; a
/// pass (<see cref="EnsureAsync"/>) lists each collection's indexes and creates, changes or drops
/// what differs (<see cref="MongoIndexPlanner"/>). <see cref="MongoIndexInitializer"/> runs passes
/// in the background after start-up until one succeeds, readiness reports the set not ready until
/// then, and <see cref="MongoStore.WriteAsync{T}"/> runs or joins a pass before its first write, so
/// no write ever lands before the unique indexes that guard it (docs/adr/0017-mongodb-index-lifecycle.md).
/// </summary>
public sealed partial class MongoIndexSet
{
    private readonly IMongoIndexCatalog _catalog;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<MongoIndex> _declared = [];
    private readonly List<RetiredMongoIndex> _retired = [];
    private int _version;
    private int _builtVersion;
    private Task<int>? _pass;
    private string? _status;

    internal MongoIndexSet(string database, IMongoIndexCatalog catalog, ILogger? logger = null)
    {
        Database = database;
        _catalog = catalog;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The database's name.</summary>
    public string Database { get; }

    /// <summary>True when every declared index exists as declared (TTL changes the account may not make aside).</summary>
    public bool Ready
    {
        get
        {
            lock (_gate)
            {
                return _builtVersion == _version;
            }
        }
    }

    /// <summary>Why the set is not ready, for the readiness probe's description; "ready" when it is.</summary>
    public string Status
    {
        get
        {
            lock (_gate)
            {
                return _builtVersion == _version ? "ready" : _status ?? $"{_declared.Count} declared indexes being put in place";
            }
        }
    }

    /// <summary>The declared indexes, in declaration order.</summary>
    public IReadOnlyList<MongoIndex> Declared
    {
        get
        {
            lock (_gate)
            {
                return [.. _declared];
            }
        }
    }

    /// <summary>The retired indexes.</summary>
    public IReadOnlyList<RetiredMongoIndex> Retired
    {
        get
        {
            lock (_gate)
            {
                return [.. _retired];
            }
        }
    }

    /// <summary>Declares indexes; one already declared (same collection and name) is kept once. Sends nothing to the server.</summary>
    public void Declare(params IEnumerable<MongoIndex> indexes)
    {
        lock (_gate)
        {
            foreach (var index in indexes)
            {
                var same = _declared.FindIndex(d => d.Collection == index.Collection && d.Name == index.Name);
                if (same >= 0 && _declared[same] == index)
                {
                    continue;
                }

                if (same >= 0)
                {
                    throw new InvalidOperationException($"Index '{index.Name}' on {index.Collection} is declared twice with different definitions.");
                }

                _declared.Add(index);
                _version++;
            }
        }
    }

    /// <summary>Declares indexes a former version created and this one drops once its own exist.</summary>
    public void Retire(params IEnumerable<RetiredMongoIndex> indexes)
    {
        lock (_gate)
        {
            foreach (var index in indexes.Where(i => !_retired.Contains(i)))
            {
                _retired.Add(index);
                _version++;
            }
        }
    }

    /// <summary>
    /// Runs a pass, or joins the one under way, until a pass has covered every declaration: returns
    /// when the set is ready or a conflict an operator must resolve stops it (<see cref="Ready"/> then
    /// stays false); throws what the server or the driver threw when it could not be reached.
    /// </summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<int> pass;
            lock (_gate)
            {
                if (_builtVersion == _version)
                {
                    return;
                }

                if (_pass is null || _pass.IsCompleted)
                {
                    _pass = RunPassAsync(_version, [.. _declared], [.. _retired]);
                }

                pass = _pass;
            }

            var covered = await pass.WaitAsync(cancellationToken);
            lock (_gate)
            {
                if (_builtVersion == _version || covered == _version)
                {
                    return;
                }
            }
        }
    }

    private async Task<int> RunPassAsync(int version, IReadOnlyList<MongoIndex> declared, IReadOnlyList<RetiredMongoIndex> retired)
    {
        // Off the caller's stack: a pass outlives a cancelled caller, and later callers join it.
        await Task.Yield();
        var started = Stopwatch.GetTimestamp();
        var conflicts = new List<string>();
        var created = 0;
        try
        {
            foreach (var collection in declared.Select(i => i.Collection).Concat(retired.Select(r => r.Collection)).Distinct(StringComparer.Ordinal))
            {
                var existing = await _catalog.ListAsync(collection, CancellationToken.None);
                var plan = MongoIndexPlanner.Plan(collection, declared, retired, existing);
                if (plan.Create.Count > 0)
                {
                    await _catalog.CreateAsync(collection, plan.Create, CancellationToken.None);
                    created += plan.Create.Count;
                }

                foreach (var change in plan.ChangeExpiry)
                {
                    await ChangeExpiryAsync(change);
                }

                foreach (var name in plan.Drop)
                {
                    await _catalog.DropAsync(collection, name, CancellationToken.None);
                    LogRetiredIndexDropped(_logger, Database, collection, name);
                }

                conflicts.AddRange(plan.Conflicts);
            }
        }
        catch (Exception ex)
        {
            lock (_gate)
            {
                _status = $"{declared.Count} declared indexes not in place yet: the last pass failed ({Summary(ex)}); it is tried again";
            }

            throw;
        }

        lock (_gate)
        {
            if (conflicts.Count == 0)
            {
                _builtVersion = Math.Max(_builtVersion, version);
            }
            else
            {
                _status = string.Join("; ", conflicts);
            }
        }

        foreach (var conflict in conflicts)
        {
            LogIndexConflict(_logger, Database, conflict);
        }

        if (conflicts.Count == 0)
        {
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            LogIndexesInPlace(_logger, Database, declared.Count, created, seconds);
        }

        return version;
    }

    private async Task ChangeExpiryAsync(MongoExpiryChange change)
    {
        try
        {
            await _catalog.SetExpiryAsync(change.Collection, change.Name, change.ToSeconds, CancellationToken.None);
            LogExpiryChanged(_logger, Database, change.Collection, change.Name, change.FromSeconds, change.ToSeconds);
        }
        catch (MongoCommandException ex)
        {
            // The server answered and refused (Unauthorized: the account lacks collMod). The index
            // exists and serves queries; only documents expire on the old schedule, so the service
            // keeps serving and the operator is told exactly what to run.
            var codeName = ex.CodeName ?? ex.Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var command = change.Command(Database);
            LogExpiryChangeRefused(_logger, Database, change.Collection, change.Name, change.FromSeconds, change.ToSeconds, codeName, command);
        }
    }

    /// <summary>What went wrong, without the driver's message (which names the servers).</summary>
    internal static string Summary(Exception ex) => ex switch
    {
        TimeoutException => "no MongoDB server answered within the server selection timeout",
        MongoCommandException command => $"the server refused {command.Command?.GetElement(0).Name ?? "a command"}: {command.CodeName}",
        MongoConnectionException => "the connection to MongoDB failed",
        _ => ex.GetType().Name,
    };

    [LoggerMessage(EventId = 410, EventName = "MongoIndexesInPlace", Level = LogLevel.Information, Message = "MongoDB indexes of {Database} in place: {Declared} declared, {Created} created, in {Seconds:0.0} s")]
    private static partial void LogIndexesInPlace(ILogger logger, string database, int declared, int created, double seconds);

    [LoggerMessage(EventId = 411, EventName = "MongoIndexExpiryChanged", Level = LogLevel.Information, Message = "MongoDB TTL index {Name} on {Database}.{Collection} changed from {FromSeconds} s to {ToSeconds} s")]
    private static partial void LogExpiryChanged(ILogger logger, string database, string collection, string name, long? fromSeconds, long toSeconds);

    [LoggerMessage(EventId = 412, EventName = "MongoIndexExpiryChangeRefused", Level = LogLevel.Warning,
        Message = "MongoDB refused to change TTL index {Name} on {Database}.{Collection} from {FromSeconds} s to the configured {ToSeconds} s ({CodeName}); documents keep expiring on the old schedule until an account with the collMod privilege runs: {Command}")]
    private static partial void LogExpiryChangeRefused(ILogger logger, string database, string collection, string name, long? fromSeconds, long toSeconds, string codeName, string command);

    [LoggerMessage(EventId = 413, EventName = "MongoIndexConflict", Level = LogLevel.Error, Message = "MongoDB indexes of {Database} cannot be put in place: {Conflict}")]
    private static partial void LogIndexConflict(ILogger logger, string database, string conflict);

    [LoggerMessage(EventId = 414, EventName = "MongoRetiredIndexDropped", Level = LogLevel.Information, Message = "Retired MongoDB index {Name} on {Database}.{Collection} dropped")]
    private static partial void LogRetiredIndexDropped(ILogger logger, string database, string collection, string name);
}

/// <summary>The index commands a pass sends; the MongoDB implementation is <see cref="MongoIndexCatalog"/>, tests use fakes.</summary>
internal interface IMongoIndexCatalog
{
    /// <summary>The collection's indexes as <c>listIndexes</c> returns them; empty when the collection does not exist.</summary>
    Task<IReadOnlyList<BsonDocument>> ListAsync(string collection, CancellationToken cancellationToken);

    /// <summary>Creates the indexes in one <c>createIndexes</c> command (which also creates the collection).</summary>
    Task CreateAsync(string collection, IReadOnlyList<MongoIndex> indexes, CancellationToken cancellationToken);

    /// <summary>Changes a TTL index's expiry with <c>collMod</c>.</summary>
    Task SetExpiryAsync(string collection, string name, long seconds, CancellationToken cancellationToken);

    /// <summary>Drops an index; one already gone is no error.</summary>
    Task DropAsync(string collection, string name, CancellationToken cancellationToken);
}

/// <summary>The index commands against a MongoDB database.</summary>
internal sealed class MongoIndexCatalog(IMongoDatabase database) : IMongoIndexCatalog
{
    private const int IndexNotFound = 27;

    public async Task<IReadOnlyList<BsonDocument>> ListAsync(string collection, CancellationToken cancellationToken)
    {
        // The driver answers an empty list for a collection that does not exist (NamespaceNotFound).
        using var cursor = await database.GetCollection<BsonDocument>(collection).Indexes.ListAsync(cancellationToken);
        return await cursor.ToListAsync(cancellationToken);
    }

    public Task CreateAsync(string collection, IReadOnlyList<MongoIndex> indexes, CancellationToken cancellationToken) =>
        database.RunCommandAsync<BsonDocument>(
            new BsonDocument { ["createIndexes"] = collection, ["indexes"] = new BsonArray(indexes.Select(i => i.ToSpecification())) },
            cancellationToken: cancellationToken);

    public Task SetExpiryAsync(string collection, string name, long seconds, CancellationToken cancellationToken) =>
        database.RunCommandAsync<BsonDocument>(
            new BsonDocument { ["collMod"] = collection, ["index"] = new BsonDocument { ["name"] = name, ["expireAfterSeconds"] = MongoIndex.Seconds(seconds) } },
            cancellationToken: cancellationToken);

    public async Task DropAsync(string collection, string name, CancellationToken cancellationToken)
    {
        try
        {
            await database.GetCollection<BsonDocument>(collection).Indexes.DropOneAsync(name, cancellationToken);
        }
        catch (MongoCommandException ex) when (ex.Code == IndexNotFound)
        {
        }
    }
}
