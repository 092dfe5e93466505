using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>
/// One service's MongoDB database. Writes that change an aggregate and its outbox run in one
/// multi-document transaction (which needs a replica set). Driver outages are translated into
/// <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed class MongoStore
{
    /// <summary>Wraps a database of a client.</summary>
    public MongoStore(IMongoClient client, string databaseName)
    {
        Client = client;
        Database = client.GetDatabase(databaseName);
    }

    /// <summary>The client (shared by every service in the process).</summary>
    public IMongoClient Client { get; }

    /// <summary>This service's database.</summary>
    public IMongoDatabase Database { get; }

    /// <summary>Raised after every committed write transaction.</summary>
    public event Action? Committed;

    /// <summary>Runs <paramref name="work"/> in a transaction, retrying transient transaction errors as the driver advises.</summary>
    public async Task<T> WriteAsync<T>(Func<IClientSessionHandle, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        T result;
        try
        {
            using var session = await Client.StartSessionAsync(cancellationToken: cancellationToken);
            result = await session.WithTransactionAsync((s, ct) => work(s, ct), cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new StoreUnavailableException($"MongoDB database '{Database.DatabaseNamespace.DatabaseName}' cannot take the write.", ex);
        }

        Committed?.Invoke();
        return result;
    }

    /// <summary>Runs a read, translating outages.</summary>
    public async Task<T> ReadAsync<T>(Func<IMongoDatabase, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            return await work(Database, cancellationToken);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new StoreUnavailableException($"MongoDB database '{Database.DatabaseNamespace.DatabaseName}' cannot be read.", ex);
        }
    }

    /// <summary>True for a unique-index violation, which adapters turn into their own domain error.</summary>
    public static bool IsDuplicateKey(Exception ex) => ex switch
    {
        MongoWriteException write => write.WriteError?.Category == ServerErrorCategory.DuplicateKey,
        MongoBulkWriteException bulk => bulk.WriteErrors.Any(e => e.Category == ServerErrorCategory.DuplicateKey),
        MongoCommandException command => command.Code == 11000,
        _ => false,
    };

    private static bool IsUnavailable(Exception ex) =>
        ex is MongoConnectionException or MongoNotPrimaryException or MongoNodeIsRecoveringException or MongoExecutionTimeoutException
            or TimeoutException;
}
