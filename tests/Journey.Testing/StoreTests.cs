using System.Diagnostics.CodeAnalysis;
using Journey.Shared.Storage;
using MongoDB.Driver;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Journey.Testing;

/// <summary>
/// Marks a test class that runs a port's contract suite against MongoDB. Its tests run only when
/// <c>JOURNEY_TEST_MONGODB</c> holds a connection string, and are reported as skipped with that
/// reason otherwise, so a green run never hides that MongoDB was not tested.
/// </summary>
public interface IRequiresMongo;

/// <summary>A contract test: skipped, with the reason, when its class needs MongoDB and none is configured.</summary>
[XunitTestCaseDiscoverer("Journey.Testing.ContractFactDiscoverer", "Journey.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

/// <summary>Discovers <see cref="ContractFactAttribute"/> tests.</summary>
public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    /// <inheritdoc />
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        yield return new ContractTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
    }
}

/// <summary>A test case whose skip reason depends on the class it runs in.</summary>
public sealed class ContractTestCase : XunitTestCase
{
    /// <summary>For deserialization.</summary>
    [Obsolete("Called by the de-serializer", error: true)]
    [SuppressMessage("Design", "CA1041", Justification = "xUnit serialization contract")]
    public ContractTestCase()
    {
    }

    /// <summary>Creates the test case.</summary>
    public ContractTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method)
        : base(sink, display, options, method)
    {
    }

    /// <inheritdoc />
    protected override string? GetSkipReason(IAttributeInfo factAttribute) =>
        typeof(IRequiresMongo).IsAssignableFrom(TestMethod.TestClass.Class.ToRuntimeType()) && MongoTestServer.ConnectionString is null
            ? $"MongoDB contract run skipped: set {MongoTestServer.Variable} to a MongoDB replica-set connection string to run it."
            : base.GetSkipReason(factAttribute);
}

/// <summary>The MongoDB server for contract runs, named by an environment variable.</summary>
public static class MongoTestServer
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "JOURNEY_TEST_MONGODB";

    /// <summary>The connection string, or null when MongoDB runs are off.</summary>
    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value ? value : null;

    /// <summary>A store on a fresh, uniquely named database; drop it with <see cref="DropAsync"/>.</summary>
    public static MongoStore CreateStore(string service)
    {
        var connectionString = ConnectionString ?? throw new InvalidOperationException($"{Variable} is not set.");
        var client = new MongoClient(connectionString);
        return new MongoStore(client, $"journey-test-{service}-{Guid.NewGuid():N}"[..48]);
    }

    /// <summary>Drops the store's database.</summary>
    public static Task DropAsync(MongoStore store) =>
        store.Client.DropDatabaseAsync(store.Database.DatabaseNamespace.DatabaseName);
}

/// <summary>
/// A MongoDB store whose server never answers (a loopback port where nothing listens, 300 ms server
/// selection): adapters built on it show what they do without a server, which for a constructor
/// must be nothing.
/// </summary>
public sealed class UnreachableMongo : IDisposable
{
    private readonly MongoClient _client;

    /// <summary>Creates the store of <paramref name="service"/>'s database.</summary>
    public UnreachableMongo(string service)
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        var settings = MongoClientSettings.FromConnectionString($"mongodb://127.0.0.1:{port}/?replicaSet=rs0");
        settings.ServerSelectionTimeout = TimeSpan.FromMilliseconds(300);
        _client = new MongoClient(settings);
        Store = new MongoStore(_client, "journey-" + service);
    }

    /// <summary>The store.</summary>
    public MongoStore Store { get; }

    /// <summary>The indexes declared so far on <paramref name="collection"/>.</summary>
    public IReadOnlyList<MongoIndex> On(string collection) => [.. Store.Indexes.Declared.Where(i => i.Collection == collection)];

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}

/// <summary>
/// The MongoDB counterpart of <see cref="TemporarySqlite"/>: a store on a fresh database, created on
/// first use, so a contract class whose run is skipped never connects, and dropped on dispose.
/// </summary>
public sealed class TemporaryMongo(string service) : IAsyncLifetime
{
    private MongoStore? _store;

    /// <summary>The store; needs <see cref="MongoTestServer.Variable"/> to be set.</summary>
    public MongoStore Store => _store ??= MongoTestServer.CreateStore(service);

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public Task DisposeAsync() => _store is null ? Task.CompletedTask : MongoTestServer.DropAsync(_store);
}

/// <summary>A SQLite database in a temporary folder, removed on dispose.</summary>
public sealed class TemporarySqlite : IDisposable
{
    private readonly ScratchDirectory _directory = new("journey-sqlite-");

    /// <summary>Creates the database file <c>{name}.db</c>.</summary>
    public TemporarySqlite(string name = "store")
    {
        Database = new SqliteDatabase(Path.Combine(_directory.Path, $"{name}.db"));
    }

    /// <summary>The database.</summary>
    public SqliteDatabase Database { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Database.Dispose();
        _directory.Dispose();
    }
}

/// <summary>Finds files of the repository from a test's output folder.</summary>
public static class Repository
{
    /// <summary>The repository root: the folder holding Microservices.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Microservices.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Microservices.sln not found above " + AppContext.BaseDirectory);
    }
}
