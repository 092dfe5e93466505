using Journey.Shared.Storage;
using MongoDB.Bson;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// A database's indexes in memory, with the index commands a pass sends: it can fail its first
/// calls as an unreachable server does, and refuse <c>collMod</c> as an account without the
/// privilege is refused.
/// </summary>
internal sealed class FakeIndexCatalog : IMongoIndexCatalog
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<BsonDocument>> _collections = new(StringComparer.Ordinal);

    /// <summary>How many of the next calls fail with <see cref="Failure"/>.</summary>
    public int FailuresLeft { get; set; }

    /// <summary>What a failing call throws: by default the driver's server-selection timeout.</summary>
    public Exception Failure { get; set; } = new TimeoutException("A timeout occurred after 5000ms selecting a server.");

    /// <summary>When set, <c>collMod</c> throws it.</summary>
    public Exception? CollModRefusal { get; set; }

    /// <summary>Every command sent, e.g. <c>listIndexes interactions</c>, in order.</summary>
    public List<string> Commands { get; } = [];

    /// <summary>Counts calls that failed, so a test can wait for an attempt.</summary>
    public int FailedCalls { get; private set; }

    public void Add(string collection, BsonDocument index)
    {
        lock (_gate)
        {
            Indexes(collection).Add(index);
        }
    }

    public IReadOnlyList<BsonDocument> On(string collection)
    {
        lock (_gate)
        {
            return [.. Indexes(collection)];
        }
    }

    public Task<IReadOnlyList<BsonDocument>> ListAsync(string collection, CancellationToken cancellationToken) =>
        Run($"listIndexes {collection}", () => (IReadOnlyList<BsonDocument>)[.. Indexes(collection).Select(i => i.DeepClone().AsBsonDocument)]);

    public Task CreateAsync(string collection, IReadOnlyList<MongoIndex> indexes, CancellationToken cancellationToken) =>
        Run($"createIndexes {collection} {string.Join(",", indexes.Select(i => i.Name))}", () =>
        {
            Indexes(collection).AddRange(indexes.Select(i => i.ToSpecification()));
            return 0;
        });

    public Task SetExpiryAsync(string collection, string name, long seconds, CancellationToken cancellationToken) =>
        Run($"collMod {collection} {name} {seconds}", () =>
        {
            if (CollModRefusal is { } refusal)
            {
                throw refusal;
            }

            Indexes(collection).Single(i => i["name"] == name)["expireAfterSeconds"] = seconds;
            return 0;
        });

    public Task DropAsync(string collection, string name, CancellationToken cancellationToken) =>
        Run($"dropIndex {collection} {name}", () => Indexes(collection).RemoveAll(i => i["name"] == name));

    private Task<T> Run<T>(string command, Func<T> action)
    {
        lock (_gate)
        {
            Commands.Add(command);
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                FailedCalls++;
                return Task.FromException<T>(Failure);
            }

            try
            {
                return Task.FromResult(action());
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }
        }
    }

    private List<BsonDocument> Indexes(string collection)
    {
        if (!_collections.TryGetValue(collection, out var indexes))
        {
            indexes = [new BsonDocument { ["v"] = 2, ["key"] = new BsonDocument("_id", 1), ["name"] = "_id_" }];
            _collections[collection] = indexes;
        }

        return indexes;
    }
}
