using Journey.Shared.Reports;
using Journey.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Reports;

public sealed class ReportCacheTests
{
    private static readonly TimeSpan KeepSlowerThan = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _clock = TestClocks.Create();
    private int _computations;

    [Fact]
    public async Task GetAsync_WhenTheReportIsQuickToCompute_ComputesItAfreshEachTime()
    {
        var cache = Cache();

        var first = await cache.GetAsync("funnel", Compute(TimeSpan.FromMilliseconds(10)), default);
        var second = await cache.GetAsync("funnel", Compute(TimeSpan.FromMilliseconds(10)), default);

        Assert.Equal(2, _computations);
        Assert.NotSame(first, second);
        Assert.Equal("report 2", second.Name);
    }

    [Fact]
    public async Task GetAsync_WhenTheReportWasSlowToCompute_AnswersTheKeptOneWithItsComputeTime()
    {
        var cache = Cache();
        var computedAt = _clock.GetUtcNow();

        var first = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);
        _clock.Advance(MaxAge - TimeSpan.FromSeconds(4));
        var second = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Equal(1, _computations);
        Assert.Same(first, second);
        Assert.Equal(computedAt, second.ComputedAt);
    }

    [Fact]
    public async Task GetAsync_ForAnotherKey_ComputesThatReport()
    {
        var cache = Cache();

        await cache.GetAsync("30 days", Compute(TimeSpan.FromSeconds(3)), default);
        var other = await cache.GetAsync("7 days", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Equal(2, _computations);
        Assert.Equal("report 2", other.Name);
    }

    [Fact]
    public async Task GetAsync_WhenTheKeptReportIsTooOld_AnswersItAndRefreshesItInTheBackground()
    {
        var cache = Cache();
        var kept = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);
        _clock.Advance(MaxAge);
        var release = new TaskCompletionSource();
        var refreshStarted = new TaskCompletionSource();

        var stale = await cache.GetAsync("funnel", async (at, ct) =>
        {
            refreshStarted.SetResult();
            await release.Task;
            return await Compute(TimeSpan.FromSeconds(3))(at, ct);
        }, default);
        await refreshStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var whileRefreshing = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);
        release.SetResult();
        await cache.WhenComputedAsync();
        var refreshed = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Same(kept, stale);
        Assert.Same(kept, whileRefreshing);
        Assert.Equal(2, _computations);
        Assert.True(refreshed.ComputedAt > kept.ComputedAt);
    }

    [Fact]
    public async Task GetAsync_WhenManyAskAtOnce_ComputesTheReportOnce()
    {
        var cache = Cache();
        var release = new TaskCompletionSource();
        Func<DateTimeOffset, CancellationToken, Task<Report>> slow = async (at, ct) =>
        {
            await release.Task;
            return await Compute(TimeSpan.FromMilliseconds(1))(at, ct);
        };

        var callers = Enumerable.Range(0, 5).Select(_ => cache.GetAsync("funnel", slow, default)).ToList();
        release.SetResult();
        var answers = await Task.WhenAll(callers);

        Assert.Equal(1, _computations);
        Assert.All(answers, a => Assert.Same(answers[0], a));
    }

    [Fact]
    public async Task GetAsync_WhenACallerGivesUp_LeavesTheComputationToTheOthers()
    {
        var cache = Cache();
        var release = new TaskCompletionSource();
        Func<DateTimeOffset, CancellationToken, Task<Report>> slow = async (at, ct) =>
        {
            await release.Task;
            return await Compute(TimeSpan.FromMilliseconds(1))(at, ct);
        };
        using var givingUp = new CancellationTokenSource();

        var impatient = cache.GetAsync("funnel", slow, givingUp.Token);
        var patient = cache.GetAsync("funnel", slow, default);
        await givingUp.CancelAsync();
        release.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.Equal("report 1", (await patient).Name);
    }

    [Fact]
    public async Task GetAsync_WhenTheComputationFails_GivesTheErrorAndKeepsNothing()
    {
        var cache = Cache();

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync("funnel", (_, _) => throw new InvalidOperationException("store gone"), default));
        var next = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Equal("report 1", next.Name);
    }

    [Fact]
    public async Task GetAsync_WhenARefreshFails_KeepsAnsweringTheKeptReportAndTriesAgainLater()
    {
        var cache = Cache();
        var kept = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);
        _clock.Advance(MaxAge);
        var stale = await cache.GetAsync("funnel", (_, _) => throw new InvalidOperationException("store gone"), default);
        await cache.WhenComputedAsync();
        var afterFailure = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);
        await cache.WhenComputedAsync();
        var refreshed = await cache.GetAsync("funnel", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Same(kept, stale);
        Assert.Same(kept, afterFailure);
        Assert.Equal("report 2", refreshed.Name);
    }

    [Fact]
    public async Task GetAsync_WhenMoreReportsAreKeptThanAllowed_ForgetsTheLeastRecentlyAskedFor()
    {
        var cache = Cache(maxKept: 2);
        await cache.GetAsync("a", Compute(TimeSpan.FromSeconds(3)), default);
        await cache.GetAsync("b", Compute(TimeSpan.FromSeconds(3)), default);
        await cache.GetAsync("a", Compute(TimeSpan.FromSeconds(3)), default);

        await cache.GetAsync("c", Compute(TimeSpan.FromSeconds(3)), default);
        var a = await cache.GetAsync("a", Compute(TimeSpan.FromSeconds(3)), default);
        var b = await cache.GetAsync("b", Compute(TimeSpan.FromSeconds(3)), default);

        Assert.Equal("report 1", a.Name);
        Assert.Equal("report 4", b.Name);
    }

    private ReportCache<string, Report> Cache(int maxKept = 256) =>
        new(Options.Create(new ReportsOptions { KeepSlowerThan = KeepSlowerThan, MaxAge = MaxAge, MaxKept = maxKept }), _clock, NullLogger<ReportCache<string, Report>>.Instance);

    /// <summary>A computation that takes <paramref name="took"/> on the fake clock.</summary>
    private Func<DateTimeOffset, CancellationToken, Task<Report>> Compute(TimeSpan took) => (at, _) =>
    {
        var number = Interlocked.Increment(ref _computations);
        _clock.Advance(took);
        return Task.FromResult(new Report($"report {number}", at));
    };

    private sealed record Report(string Name, DateTimeOffset ComputedAt);
}
