using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Recommendation.Tests.Domain;

/// <summary>Two processes' learned counts over one store converge within the refresh interval.</summary>
public sealed class LearningModelTests : IDisposable
{
    private readonly TemporarySqlite _sqlite = new("recommendation");
    private readonly FakeTimeProvider _clock = TestClocks.Create();
    private readonly SqliteAudienceStore _store;

    public LearningModelTests() => _store = new SqliteAudienceStore(_sqlite.Database);

    public void Dispose() => _sqlite.Dispose();

    private LearningModel Model() =>
        new(_store, Options.Create(new RecommendationOptions { LearnedCountsRefreshInterval = TimeSpan.FromSeconds(10) }), _clock);

    private async Task ClickAsync(LearningModel writer)
    {
        var delta = new ItemStats("guide", Stage.Evaluation, 1, 1, 0);
        await _store.WriteAsync(async (session, ct) =>
        {
            await session.AddItemStatsAsync(delta, ct);
            return 0;
        }, default);
        writer.Apply(delta);
    }

    [Fact]
    public async Task EnsureLoaded_WhenAnotherHostWroteFeedback_SeesItOnceTheCountsAreStale()
    {
        using var hostA = Model();
        using var hostB = Model();
        await hostA.EnsureLoadedAsync(default);
        await hostB.EnsureLoadedAsync(default);

        await ClickAsync(hostA);
        await ClickAsync(hostA);
        await hostB.EnsureLoadedAsync(default);
        await hostB.PendingRefresh;
        var beforeInterval = hostB.Get("guide", Stage.Evaluation);

        _clock.Advance(TimeSpan.FromSeconds(10));
        await hostB.EnsureLoadedAsync(default);
        await hostB.PendingRefresh;

        Assert.Equal((2L, 2L), hostA.Get("guide", Stage.Evaluation));
        Assert.Equal((0L, 0L), beforeInterval);
        Assert.Equal((2L, 2L), hostB.Get("guide", Stage.Evaluation));
    }

    [Fact]
    public async Task EnsureLoaded_AfterARefresh_KeepsAddingOwnDeltasWithoutCountingTwice()
    {
        using var host = Model();
        await host.EnsureLoadedAsync(default);
        await ClickAsync(host);

        _clock.Advance(TimeSpan.FromSeconds(10));
        await host.EnsureLoadedAsync(default);
        await host.PendingRefresh;
        await ClickAsync(host);

        Assert.Equal((2L, 2L), host.Get("guide", Stage.Evaluation));
    }

    [Fact]
    public async Task EnsureLoaded_WhenAnotherInstanceOnTheSameFileWroteACount_SeesItOnlyAfterTheInterval()
    {
        using var mine = Model();
        var otherStore = new SqliteAudienceStore(_sqlite.Database);
        using var other = new LearningModel(otherStore, Options.Create(new RecommendationOptions { LearnedCountsRefreshInterval = TimeSpan.FromSeconds(10) }), _clock);
        await mine.EnsureLoadedAsync(default);
        await other.EnsureLoadedAsync(default);

        var delta = new ItemStats("offer", Stage.Purchase, 1, 0, 1);
        await otherStore.WriteAsync(async (session, ct) =>
        {
            await session.AddItemStatsAsync(delta, ct);
            return 0;
        }, default);
        other.Apply(delta);
        _clock.Advance(TimeSpan.FromSeconds(9));
        await mine.EnsureLoadedAsync(default);
        await mine.PendingRefresh;
        var beforeInterval = mine.Get("offer", Stage.Purchase);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await mine.EnsureLoadedAsync(default);
        await mine.PendingRefresh;

        Assert.Equal((0L, 0L), beforeInterval);
        Assert.Equal((1L, 0L), mine.Get("offer", Stage.Purchase));
    }

    [Fact]
    public async Task EnsureLoaded_WhenStale_ReadsOnlyTheRowsChangedSinceTheLastReads()
    {
        var counting = new CountingStore(_store);
        using var host = new LearningModel(counting, Options.Create(new RecommendationOptions { LearnedCountsRefreshInterval = TimeSpan.FromSeconds(10) }), _clock);
        await _store.WriteAsync(async (session, ct) =>
        {
            for (var i = 0; i < 50; i++)
            {
                await session.AddItemStatsAsync(new ItemStats($"item-{i}", Stage.Evaluation, 1, 0, 0), ct);
            }

            return 0;
        }, default);
        await host.EnsureLoadedAsync(default);
        var loaded = counting.RowsRead;

        await ClickAsync(host);
        _clock.Advance(TimeSpan.FromSeconds(10));
        await host.EnsureLoadedAsync(default);
        await host.PendingRefresh;
        var firstRefresh = counting.RowsRead - loaded;
        _clock.Advance(TimeSpan.FromSeconds(10));
        await host.EnsureLoadedAsync(default);
        await host.PendingRefresh;
        var secondRefresh = counting.RowsRead - loaded - firstRefresh;
        _clock.Advance(TimeSpan.FromSeconds(10));
        await host.EnsureLoadedAsync(default);
        await host.PendingRefresh;
        var thirdRefresh = counting.RowsRead - loaded - firstRefresh - secondRefresh;

        Assert.Equal(50, loaded);
        Assert.Equal(1, firstRefresh);
        Assert.Equal(1, secondRefresh); // the refresh before last is read again, whole
        Assert.Equal(0, thirdRefresh);
        Assert.Equal((1L, 1L), host.Get("guide", Stage.Evaluation));
        Assert.Equal((1L, 0L), host.Get("item-7", Stage.Evaluation));
    }

    private sealed class CountingStore(IAudienceStore inner) : IAudienceStore
    {
        public int RowsRead { get; private set; }

        public async Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken)
        {
            var changes = await inner.ReadItemStatsChangedAsync(cursor, cancellationToken);
            RowsRead += changes.Rows.Count;
            return changes;
        }

        public Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken) => inner.ReadContextAsync(touchpointId, identifierKeys, day, cancellationToken);

        public Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken) => inner.ReadAlsoConsumedAsync(seedIds, perSeed, cancellationToken);

        public Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken) => inner.SaveRecommendationsAsync(records, cancellationToken);

        public Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken) => inner.GetRecommendationAsync(id, cancellationToken);

        public Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken) => inner.ReadVariantCountsAsync(experimentId, cancellationToken);

        public Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken) => inner.WriteAsync(work, cancellationToken);
    }
}
