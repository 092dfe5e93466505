using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Testing;
using Microsoft.Extensions.Options;

namespace Journey.Recommendation.Tests.Domain;

/// <summary>Two processes' learned counts over one store converge within the refresh interval.</summary>
public sealed class LearningModelTests : IDisposable
{
    private readonly TemporarySqlite _sqlite = new("recommendation");
    private readonly ManualTimeProvider _clock = new();
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
}
