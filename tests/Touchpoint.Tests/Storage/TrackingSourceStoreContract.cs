using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Bson;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>The tracking source port's contract: every adapter must pass it.</summary>
public abstract class TrackingSourceStoreContract
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>How long identity claims are kept in these tests.</summary>
    protected static readonly TimeSpan IdentityRetention = TimeSpan.FromDays(30);

    protected abstract ITrackingSourceStore Store { get; }

    /// <summary>Removes what the store's retention removes at <paramref name="now"/> (the SQLite sweep; MongoDB's TTL monitor).</summary>
    protected abstract Task ExpireAsync(DateTimeOffset now);

    private static TrackingSource Source(string id, params WriteKey[] keys) => new(
        id, "Shop " + id, ["https://shop.example"], 50,
        new TrackingPlan(
            [new EventMapping("Order Completed", "dealer", InteractionType.Purchase, ["order_id"])],
            [new PageMapping("", "/models/*", "model-pages", InteractionType.View)],
            TrackingPlan.DefaultTraits,
            "ads")
        {
            ConsentCategories = [new ConsentCategoryMapping("Advertising", "marketing-ads"), new ConsentCategoryMapping("Analytics", "analytics")],
        },
        keys, 1, Now, Now.AddSeconds(1));

    private static WriteKey Key(string id, string hash, DateTimeOffset? revoked = null) => new(id, hash, "abcd", Now, revoked);

    [ContractFact]
    public async Task Create_ThenGet_RoundTripsEveryField()
    {
        var source = Source("web", Key("k1", "h1"), Key("k2", "h2", Now.AddDays(1)));

        await Store.CreateAsync(source, default);

        var read = await Store.GetAsync("web", default);
        Assert.NotNull(read);
        Assert.Equal(source.AllowedOrigins, read.AllowedOrigins);
        Assert.Equal(source.WriteKeys, read.WriteKeys);
        Assert.Equal(source.Plan.Events[0] with { RequiredProperties = [] }, read.Plan.Events[0] with { RequiredProperties = [] });
        Assert.Equal(["order_id"], read.Plan.Events[0].RequiredProperties);
        Assert.Equal(source.Plan.Pages, read.Plan.Pages);
        Assert.Equal(source.Plan.Traits, read.Plan.Traits);
        Assert.Equal(source.Plan.ConsentCategories, read.Plan.ConsentCategories);
        Assert.Equal(source with { AllowedOrigins = [], WriteKeys = [], Plan = TrackingPlan.Empty }, read with { AllowedOrigins = [], WriteKeys = [], Plan = TrackingPlan.Empty });
    }

    [ContractFact]
    public async Task Create_WhenIdOrKeyTaken_ThrowsAlreadyExists()
    {
        await Store.CreateAsync(Source("web", Key("k1", "h1")), default);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Store.CreateAsync(Source("web"), default));
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Store.CreateAsync(Source("app", Key("k9", "h1")), default));
        Assert.Null(await Store.GetAsync("app", default));
    }

    [ContractFact]
    public async Task FindByKeyHash_FindsTheSourceHoldingTheKey_AndFollowsUpdates()
    {
        await Store.CreateAsync(Source("web", Key("k1", "h1")), default);
        await Store.CreateAsync(Source("app"), default);

        Assert.Equal("web", (await Store.FindByKeyHashAsync("h1", default))?.Id);
        Assert.Null(await Store.FindByKeyHashAsync("h2", default));

        await Store.UpdateAsync(Source("web", Key("k2", "h2")) with { Version = 2 }, 1, default);

        Assert.Null(await Store.FindByKeyHashAsync("h1", default));
        Assert.Equal("web", (await Store.FindByKeyHashAsync("h2", default))?.Id);
    }

    [ContractFact]
    public async Task Update_WhenVersionStale_ThrowsConflictAndKeepsTheStoredSource()
    {
        await Store.CreateAsync(Source("web"), default);
        await Store.UpdateAsync(Source("web") with { Version = 2, DisplayName = "x" }, 1, default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.UpdateAsync(Source("web") with { Version = 2 }, 1, default));
        Assert.Equal("x", (await Store.GetAsync("web", default))!.DisplayName);
    }

    [ContractFact]
    public async Task List_PagesById()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Store.CreateAsync(Source(id), default);
        }

        Assert.Equal(["a", "b"], (await Store.ListAsync(null, 2, default)).Select(s => s.Id));
        Assert.Equal(["c"], (await Store.ListAsync("b", 2, default)).Select(s => s.Id));
    }

    [ContractFact]
    public async Task CountIssues_AddsUpPerSourceKindAndName_MostSeenFirst()
    {
        var unmapped = new TrackingIssueKey(TrackingIssueKind.UnmappedEvent, "Video Played", "");
        var missing = new TrackingIssueKey(TrackingIssueKind.MissingProperty, "Order Completed", "order_id");

        await Store.CountIssuesAsync("web", [unmapped, missing, unmapped], Now, 100, default);
        await Store.CountIssuesAsync("web", [unmapped], Now.AddHours(1), 100, default);
        await Store.CountIssuesAsync("app", [missing], Now, 100, default);

        var issues = await Store.ListIssuesAsync("web", 10, default);
        Assert.Equal([(unmapped, 3L), (missing, 1L)], issues.Select(i => (i.Key, i.Count)));
        Assert.Equal((Now, Now.AddHours(1)), (issues[0].FirstSeen, issues[0].LastSeen));
        Assert.Single(await Store.ListIssuesAsync("app", 10, default));
        Assert.Single(await Store.ListIssuesAsync("web", 1, default));
    }

    [ContractFact]
    public async Task CountIssues_PastTheDistinctLimit_CountsNewNamesAsOtherAndKnownOnesAsThemselves()
    {
        TrackingIssueKey Event(string name) => new(TrackingIssueKind.UnmappedEvent, name, "");

        await Store.CountIssuesAsync("web", [Event("a"), Event("b")], Now, 2, default);
        await Store.CountIssuesAsync("web", [Event("c"), Event("d"), Event("a")], Now, 2, default);

        var issues = await Store.ListIssuesAsync("web", 10, default);
        Assert.Equal(
            [(Event("(other)"), 2L), (Event("a"), 2L), (Event("b"), 1L)],
            issues.Select(i => (i.Key, i.Count)).OrderBy(i => i.Key.Name, StringComparer.Ordinal));
    }

    [ContractFact]
    public async Task AppendIdentities_PublishesEachMessageIdOncePerSource()
    {
        Assert.Equal(2, await Store.AppendIdentitiesAsync("web", [Identity("m1"), Identity("m2"), Identity("m1")], Now, default));
        Assert.Equal(1, await Store.AppendIdentitiesAsync("web", [Identity("m2"), Identity("m3")], Now, default));
        Assert.Equal(1, await Store.AppendIdentitiesAsync("app", [Identity("m1")], Now, default));
    }

    [ContractFact]
    public async Task AppendIdentities_PastTheRetentionOfTheFirstClaim_PublishesTheMessageIdAgain()
    {
        await Store.AppendIdentitiesAsync("web", [Identity("m1"), Identity("m2")], Now, default);
        await Store.AppendIdentitiesAsync("web", [Identity("m3")], Now + IdentityRetention, default);

        await ExpireAsync(Now + IdentityRetention - TimeSpan.FromMinutes(1));
        var within = await Store.AppendIdentitiesAsync("web", [Identity("m1")], Now + IdentityRetention - TimeSpan.FromMinutes(1), default);
        await ExpireAsync(Now + IdentityRetention + TimeSpan.FromMinutes(1));
        var past = await Store.AppendIdentitiesAsync("web", [Identity("m1"), Identity("m2"), Identity("m3")], Now + IdentityRetention + TimeSpan.FromMinutes(1), default);

        Assert.Equal((0, 2), (within, past));
    }

    private static ObservedIdentity Identity(string id) => new(id, new OutboxMessage(Guid.NewGuid().ToString("N"), TouchpointTopics.IdentityObserved, [1, 2, 3]));
}

public sealed class SqliteTrackingSourceStoreTests : TrackingSourceStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("touchpoint");

    public SqliteTrackingSourceStoreTests()
    {
        Store = new SqliteTrackingSourceStore(_sqlite.Database);
        _ = new SqliteOutbox(TouchpointModule.Name, _sqlite.Database);
    }

    protected override ITrackingSourceStore Store { get; }

    protected override Task ExpireAsync(DateTimeOffset now) => new SqliteRetentionSweep(
        TouchpointModule.Name, _sqlite.Database, [SqliteTrackingSourceStore.IdentityRetention(IdentityRetention)],
        new FakeTimeProvider(now), NullLogger<SqliteRetentionSweep>.Instance).SweepOnceAsync(default);

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoTrackingSourceStoreTests : TrackingSourceStoreContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new("touchpoint");

    protected override ITrackingSourceStore Store => field ??= new MongoTrackingSourceStore(_mongo.Store, Options.Create(new TouchpointOptions { TrackingIdentityRetention = IdentityRetention }));

    /// <summary>Does what the server's TTL monitor does with the declared TTL index: removes documents whose indexed date is older than its expiry.</summary>
    protected override async Task ExpireAsync(DateTimeOffset now)
    {
        _ = Store;
        await _mongo.Store.Indexes.EnsureAsync(default);
        foreach (var ttl in _mongo.Store.Indexes.Declared.Where(i => i.Collection == "tracking_identities" && i.ExpireAfter is not null))
        {
            var field = ttl.Keys.Names.Single();
            await _mongo.Store.Database.GetCollection<BsonDocument>(ttl.Collection)
                .DeleteManyAsync(new BsonDocument(field, new BsonDocument("$lt", (now - ttl.ExpireAfter!.Value).UtcDateTime)));
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}
