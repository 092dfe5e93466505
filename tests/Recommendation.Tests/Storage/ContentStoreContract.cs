using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Recommendation.Tests.Storage;

/// <summary>The content store's contract; both adapters must pass it.</summary>
public abstract class ContentStoreContract
{
    protected abstract IContentStore Store { get; }

    [ContractFact]
    public async Task Upsert_RoundTripsEveryFieldAndCountsVersions()
    {
        var item = new ContentItem("offer-1", "Spring offer", ContentKind.Offer, new Dictionary<int, double> { [3] = 0.8, [4] = 1 }, ["electric-cars"], [1, 6], 0.9, true, "purposes/personalisation",
            new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero), false, 0);

        var first = await Store.UpsertAsync(item, default);
        var second = await Store.UpsertAsync(item with { Title = "Summer offer" }, default);
        var stored = (await Store.GetAsync("offer-1", default))!;

        Assert.Equal(1, first.Version);
        Assert.Equal(2, second.Version);
        Assert.Equal("Summer offer", stored.Title);
        Assert.Equal(item with { Title = "", Version = 0, StageWeights = null!, Topics = null!, Channels = null! }, stored with { Title = "", Version = 0, StageWeights = null!, Topics = null!, Channels = null! });
        Assert.Equal(item.StageWeights.OrderBy(s => s.Key), stored.StageWeights.OrderBy(s => s.Key));
        Assert.Equal(item.Topics, stored.Topics);
        Assert.Equal(item.Channels, stored.Channels);
        Assert.Null(await Store.GetAsync("missing", default));
    }
}

public sealed class SqliteContentStoreTests : ContentStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("recommendation");

    public SqliteContentStoreTests() => Store = new SqliteContentStore(_sqlite.Database);

    protected override IContentStore Store { get; }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoContentStoreTests : ContentStoreContract, IRequiresMongo, IAsyncLifetime
{
    private MongoStore? _store;

    protected override IContentStore Store => new MongoContentStore(_store!);

    public Task InitializeAsync()
    {
        if (MongoTestServer.ConnectionString is not null)
        {
            _store = MongoTestServer.CreateStore("recommendation");
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await MongoTestServer.DropAsync(_store);
        }
    }
}
