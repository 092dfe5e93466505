using Journey.Shared.Errors;
using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Storage;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>The catalog port's contract: every adapter must pass it.</summary>
public abstract class TouchpointCatalogStoreContract
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    protected abstract ITouchpointCatalogStore Store { get; }

    protected static TouchpointDefinition Entry(string id, Channel channel = Channel.Web, Ownership ownership = Ownership.Owned, int criticality = 3, params JourneyStage[] stages) => new(
        id, "Name " + id, channel, ownership, stages.Length == 0 ? [JourneyStage.Evaluation] : stages, criticality,
        new IntendedExperience(4.25, "trust"), "team", ["a", "b"], Retired: false, Version: 1, Now, Now.AddSeconds(1), RetiredAt: null);

    [ContractFact]
    public async Task Create_ThenGet_RoundTripsEveryField()
    {
        var entry = Entry("tp-1", Channel.PriceComparison, Ownership.Earned, 5, JourneyStage.Awareness, JourneyStage.Loyalty) with { Retired = true, RetiredAt = Now.AddDays(1) };

        await Store.CreateAsync(entry, [], default);

        var read = await Store.GetAsync("tp-1", default);
        Assert.NotNull(read);
        Assert.Equal(entry with { Stages = [], Topics = [] }, read with { Stages = [], Topics = [] });
        Assert.Equal(entry.Stages, read.Stages);
        Assert.Equal(entry.Topics, read.Topics);
    }

    [ContractFact]
    public async Task Create_WhenIdTaken_ThrowsAlreadyExists()
    {
        await Store.CreateAsync(Entry("tp-1"), [], default);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Store.CreateAsync(Entry("tp-1"), [], default));
    }

    [ContractFact]
    public async Task Update_WhenVersionStale_ThrowsConflict()
    {
        await Store.CreateAsync(Entry("tp-1"), [], default);
        await Store.UpdateAsync(Entry("tp-1") with { Version = 2, DisplayName = "x" }, 1, [], default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.UpdateAsync(Entry("tp-1") with { Version = 2 }, 1, [], default));
        Assert.Equal("x", (await Store.GetAsync("tp-1", default))!.DisplayName);
    }

    [ContractFact]
    public async Task Update_ChangesStagesSeenByTheListing()
    {
        await Store.CreateAsync(Entry("tp-1", stages: JourneyStage.Awareness), [], default);

        await Store.UpdateAsync(Entry("tp-1", stages: JourneyStage.Loyalty) with { Version = 2 }, 1, [], default);

        Assert.Empty(await Store.ListAsync(new TouchpointFilter(Channel.Unspecified, Ownership.Unspecified, JourneyStage.Awareness, 0, false), null, 10, default));
        Assert.Single(await Store.ListAsync(new TouchpointFilter(Channel.Unspecified, Ownership.Unspecified, JourneyStage.Loyalty, 0, false), null, 10, default));
    }

    [ContractFact]
    public async Task List_PagesInIdOrderAfterTheCursor()
    {
        foreach (var id in new[] { "c", "a", "e", "b", "d" })
        {
            await Store.CreateAsync(Entry(id, criticality: id == "d" ? 1 : 3), [], default);
        }

        var filter = new TouchpointFilter(Channel.Web, Ownership.Unspecified, JourneyStage.Unspecified, 2, false);
        Assert.Equal(["a", "b"], (await Store.ListAsync(filter, null, 2, default)).Select(t => t.Id));
        Assert.Equal(["c", "e"], (await Store.ListAsync(filter, "b", 2, default)).Select(t => t.Id));
    }

    [ContractFact]
    public async Task GetMany_ReturnsOnlyExisting()
    {
        await Store.CreateAsync(Entry("a"), [], default);

        var found = await Store.GetManyAsync(["a", "missing"], default);

        Assert.Equal(["a"], found.Keys);
    }
}

public sealed class SqliteTouchpointCatalogStoreTests : TouchpointCatalogStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("touchpoint");

    public SqliteTouchpointCatalogStoreTests()
    {
        Store = new SqliteTouchpointCatalogStore(_sqlite.Database);
    }

    protected override ITouchpointCatalogStore Store { get; }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoTouchpointCatalogStoreTests : TouchpointCatalogStoreContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new("touchpoint");

    protected override ITouchpointCatalogStore Store => field ??= new MongoTouchpointCatalogStore(_mongo.Store);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}

