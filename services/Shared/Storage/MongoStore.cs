using Microsoft.Extensions.Logging;
using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>
/// One service's MongoDB database. Writes that change an aggregate and its outbox run in one
/// multi-document transaction (which needs a replica set), retried within a bounded time after the
/// errors MongoDB labels retryable. Driver outages, and conflicts that outlast the retry budget, are
/// translated into <see cref="StoreUnavailableException"/>. Constructing a store sends nothing to
/// the server.
/// </summary>
public sealed class MongoStore
{
    private readonly TransactionRetry _retry;

    /// <summary>Wraps a database of a client.</summary>
    /// <param name="client">The client (shared by every service in the process).</param>
    /// <param name="databaseName">This service's database.</param>
    /// <param name="options">The MongoDB settings (the transaction retry budget); defaults when null.</param>
    /// <param name="time">The clock of retry waits; the system clock when null.</param>
    /// <param name="loggers">Where index passes log; nowhere when null.</param>
    public MongoStore(IMongoClient client, string databaseName, MongoStorageOptions? options = null, TimeProvider? time = null, ILoggerFactory? loggers = null)
        : this(client, databaseName, options, time, loggers, catalog: null)
    {
    }

    /// <summary>As the public constructor, with the index commands sent through <paramref name="catalog"/> (tests).</summary>
    internal MongoStore(IMongoClient client, string databaseName, MongoStorageOptions? options, TimeProvider? time, ILoggerFactory? loggers, IMongoIndexCatalog? catalog)
    {
        Client = client;
        Database = client.GetDatabase(databaseName);
        Indexes = new MongoIndexSet(databaseName, catalog ?? new MongoIndexCatalog(Database), loggers?.CreateLogger<MongoIndexSet>());
        _retry = new TransactionRetry(time ?? TimeProvider.System, (options ?? new MongoStorageOptions()).TransactionRetryTime);
    }

    /// <summary>The client (shared by every service in the process).</summary>
    public IMongoClient Client { get; }

    /// <summary>This service's database.</summary>
    public IMongoDatabase Database { get; }

    /// <summary>The indexes this database's adapters declared, and whether they are in place.</summary>
    public MongoIndexSet Indexes { get; }

    /// <summary>Raised after every committed write transaction.</summary>
    public event Action? Committed;

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction. A write conflict, a failover or an unknown commit
    /// result runs it again (or commits again) until <see cref="MongoStorageOptions.TransactionRetryTime"/>
    /// is spent, then fails as unavailable; <paramref name="work"/> may therefore run more than once
    /// and must keep its effects inside the transaction. The first write waits until the declared
    /// indexes exist, so none lands before the unique indexes that guard it.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<IClientSessionHandle, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        T result;
        try
        {
            if (!Indexes.Ready)
            {
                try
                {
                    await Indexes.EnsureAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever stopped the pass (an outage, or a unique index whose build existing
                    // duplicates refuse) stops the write too: it is the store not being ready.
                    throw new StoreUnavailableException($"MongoDB database '{Database.DatabaseNamespace.DatabaseName}' takes no writes until its indexes are in place ({MongoIndexSet.Summary(ex)}).", ex);
                }

                if (!Indexes.Ready)
                {
                    throw new StoreUnavailableException($"MongoDB database '{Database.DatabaseNamespace.DatabaseName}' takes no writes until its indexes are in place: {Indexes.Status}", new InvalidOperationException(Indexes.Status));
                }
            }

            using var session = await Client.StartSessionAsync(cancellationToken: cancellationToken);
            result = await _retry.RunAsync(
                async ct =>
                {
                    session.StartTransaction();
                    try
                    {
                        return await work(session, ct);
                    }
                    catch when (session.IsInTransaction)
                    {
                        // The driver ignores the server's answer to an abort, as the transactions specification says.
                        await session.AbortTransactionAsync(CancellationToken.None);
                        throw;
                    }
                },
                ct => session.CommitTransactionAsync(ct),
                cancellationToken);
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

    /// <summary>Reads the first document <paramref name="filter"/> matches, as <paramref name="map"/> makes it, or null when none does; translates outages.</summary>
    public Task<T?> FindOneAsync<TDocument, T>(IMongoCollection<TDocument> collection, FilterDefinition<TDocument> filter, Func<TDocument, T> map, CancellationToken cancellationToken)
        where T : class =>
        ReadAsync<T?>(async (_, ct) => await collection.Find(filter).FirstOrDefaultAsync(ct) is { } document ? map(document) : null, cancellationToken);

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
