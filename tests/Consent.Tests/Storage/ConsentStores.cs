using Journey.Consent.Domain;
using Journey.Consent.Storage;
using Journey.Shared.Events;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>
/// The consent service's adapters of one family (SQLite or MongoDB) over one fresh database, for a
/// port contract run, which disposes them with the database. MongoDB adapters are built on first use,
/// so a run that is skipped never connects.
/// </summary>
public abstract class ConsentStores : IAsyncDisposable
{
    private ConsentStores()
    {
    }

    public abstract IConsentLedger Ledger { get; }

    public abstract IPurposeCatalog Catalog { get; }

    public abstract IConsentCheckpointStore Checkpoints { get; }

    public abstract IOutboxStore Outbox { get; }

    /// <summary>A new ledger adapter over the same database, as after a restart.</summary>
    public abstract IConsentLedger ReopenLedger();

    public abstract ValueTask DisposeAsync();

    public static ConsentStores Sqlite() => new SqliteStores();

    public static ConsentStores Mongo() => new MongoStores();

    private sealed class SqliteStores : ConsentStores
    {
        private readonly TemporarySqlite _sqlite = new("consent");

        public override IConsentLedger Ledger => field ??= ReopenLedger();

        public override IPurposeCatalog Catalog => field ??= new SqlitePurposeCatalog(_sqlite.Database);

        public override IConsentCheckpointStore Checkpoints => field ??= new SqliteConsentCheckpoints(_sqlite.Database);

        public override IOutboxStore Outbox => field ??= new SqliteOutbox("consent", _sqlite.Database);

        public override IConsentLedger ReopenLedger() => new SqliteConsentLedger(_sqlite.Database);

        public override ValueTask DisposeAsync()
        {
            _sqlite.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class MongoStores : ConsentStores
    {
        private readonly TemporaryMongo _mongo = new("consent");

        public override IConsentLedger Ledger => field ??= ReopenLedger();

        public override IPurposeCatalog Catalog => field ??= new MongoPurposeCatalog(_mongo.Store);

        public override IConsentCheckpointStore Checkpoints => field ??= new MongoConsentCheckpoints(_mongo.Store);

        public override IOutboxStore Outbox => field ??= new MongoOutbox("consent", _mongo.Store);

        public override IConsentLedger ReopenLedger() => new MongoConsentLedger(_mongo.Store);

        public override async ValueTask DisposeAsync() => await _mongo.DisposeAsync();
    }
}

/// <summary>A consent port's contract run: it owns the stores it tests and disposes them after each test.</summary>
public abstract class ConsentStoreContract(ConsentStores stores) : IAsyncLifetime
{
    protected ConsentStores Stores => stores;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => stores.DisposeAsync().AsTask();
}
