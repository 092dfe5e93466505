using Journey.Shared.Events;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Shared.Tests.Storage;

/// <summary>What the MongoDB plumbing does without a server: nothing at construction, UNAVAILABLE on use.</summary>
public sealed class MongoStoreTests : IDisposable
{
    private readonly MongoClient _client = Unreachable();

    [Fact]
    public void Constructors_WithNoServerReachable_SendNothingAndDeclareTheIndexes()
    {
        var store = new MongoStore(_client, "journey-profile");

        var outbox = new MongoOutbox("profile", store);
        _ = new MongoAuditStore(store, TimeSpan.FromDays(730));
        store.Indexes.Declare(MongoInbox.RetentionIndex(TimeSpan.FromDays(30)));

        Assert.False(store.Indexes.Ready);
        Assert.Contains(store.Indexes.Declared, i => i.Collection == "outbox");
        Assert.Contains(store.Indexes.Declared, i => i.Collection == "audit" && i.ExpireAfter == TimeSpan.FromDays(730) && i.Keys == new BsonDocument("At", 1));
        Assert.Contains(store.Indexes.Declared, i => i.Collection == "inbox" && i.ExpireAfter == TimeSpan.FromDays(30) && i.Keys == new BsonDocument("received_at", 1));
        Assert.Equal(ReadConcern.Majority, outbox.DueReads.Settings.ReadConcern);
    }

    [Fact]
    public void OutboxDueIndex_PutsTheSortKeyBeforeTheRange()
    {
        // The due query: next_attempt_at <= now (a range), sorted by seq. Equality, sort, range.
        var due = Assert.Single(MongoOutbox.Indexes, i => i.Collection == MongoOutbox.CollectionName);

        Assert.Equal(new BsonDocument { ["seq"] = 1, ["next_attempt_at"] = 1 }, due.Keys);
        Assert.Equal([new RetiredMongoIndex("outbox", "next_attempt_at_1_seq_1")], MongoOutbox.RetiredIndexes);
    }

    [Fact]
    public async Task WriteAsync_WithNoServerReachable_FailsAsUnavailable()
    {
        var store = new MongoStore(_client, "journey-profile");
        _ = new MongoOutbox("profile", store);

        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync((_, _) => Task.FromResult(0), CancellationToken.None));

        Assert.False(store.Indexes.Ready);
        Assert.Contains("no MongoDB server answered", store.Indexes.Status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_WhenAUniqueIndexCannotBeBuilt_FailsAsUnavailableWithoutWriting()
    {
        var catalog = new FakeIndexCatalog { FailuresLeft = 1, Failure = MongoErrors.IndexBuildDuplicateKey() };
        var store = new MongoStore(_client, "journey-profile", null, null, null, catalog);
        store.Indexes.Declare(new MongoIndex("identifiers", new BsonDocument { ["kind"] = 1, ["value"] = 1 }) { Unique = true });
        var ran = false;

        var failure = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.WriteAsync((_, _) => Task.FromResult(ran = true), CancellationToken.None));

        Assert.False(ran);
        Assert.Contains("the server refused createIndexes: DuplicateKey", failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _client.Dispose();

    private static MongoClient Unreachable()
    {
        var settings = MongoClientSettings.FromConnectionString($"mongodb://127.0.0.1:{FreePort()}/?replicaSet=rs0");
        settings.ServerSelectionTimeout = TimeSpan.FromMilliseconds(300);
        return new MongoClient(settings);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
