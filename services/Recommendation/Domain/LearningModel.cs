using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Journey.Recommendation.Domain;

/// <summary>
/// Learned feedback counts per item and stage, held in memory so ranking reads no store. The store's
/// counts are authoritative: they are loaded whole before the first use, and once they are older than
/// <see cref="RecommendationOptions.LearnedCountsRefreshInterval"/> the rows changed since the
/// refresh before last are re-read in the background and replace their in-memory copies; between two
/// reads, every committed feedback write of this process adds its delta. So replicas sharing one
/// store converge within one interval, a refresh costs what changed rather than the whole library,
/// and a delta that races a re-read (counted twice or not at all) is read again, whole, by the next one.
/// </summary>
public sealed class LearningModel(IAudienceStore store, IOptions<RecommendationOptions> options, TimeProvider time) : IDisposable
{

    private readonly SemaphoreSlim _load = new(1, 1);
    private readonly TimeSpan _refreshInterval = options.Value.LearnedCountsRefreshInterval;
    private volatile ConcurrentDictionary<(string, Stage), Counts>? _counts;
    private long _loadedAtTicks;
    private int _refreshing;

    // Each refresh starts from the cursor of the one before the last, so a row whose local delta
    // raced the last read is read whole once more.
    private long _cursor;
    private long _previousCursor;

    /// <summary>The background re-read in flight, if any; tests await it.</summary>
    internal Task PendingRefresh { get; private set; } = Task.CompletedTask;

    public async ValueTask EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_counts is null)
        {
            await _load.WaitAsync(cancellationToken);
            try
            {
                if (_counts is null)
                {
                    await ReloadAsync(cancellationToken);
                }
            }
            finally
            {
                _load.Release();
            }

            return;
        }

        if (time.GetUtcNow().UtcTicks - Interlocked.Read(ref _loadedAtTicks) >= _refreshInterval.Ticks && Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            PendingRefresh = RefreshInBackgroundAsync();
        }
    }

    public void Apply(ItemStats delta)
    {
        // Before the first load there is nothing to add to: the load reads the committed delta.
        if (_counts is { } counts)
        {
            Add(counts, delta);
        }
    }

    /// <summary>(impressions, clicks) of an item at a stage.</summary>
    public (long Impressions, long Clicks) Get(string contentId, Stage stage) =>
        _counts is { } counts && counts.TryGetValue((contentId, stage), out var c) ? (Interlocked.Read(ref c.Impressions), Interlocked.Read(ref c.Clicks)) : (0, 0);

    /// <summary>The counts of an item at each stage that has any, in journey order.</summary>
    public IReadOnlyList<StagePerformance> PerformanceOf(string contentId)
    {
        if (_counts is not { } counts)
        {
            return [];
        }

        var performance = new List<StagePerformance>();
        foreach (var stage in JourneyStages.All)
        {
            if (counts.TryGetValue((contentId, stage), out var c))
            {
                performance.Add(new StagePerformance(stage, Interlocked.Read(ref c.Impressions), Interlocked.Read(ref c.Clicks), Interlocked.Read(ref c.Conversions)));
            }
        }

        return performance;
    }

    public void Dispose() => _load.Dispose();

    private static void Add(ConcurrentDictionary<(string, Stage), Counts> counts, ItemStats delta)
    {
        var entry = counts.GetOrAdd((delta.ContentId, delta.Stage), _ => new Counts());
        Interlocked.Add(ref entry.Impressions, delta.Impressions);
        Interlocked.Add(ref entry.Clicks, delta.Clicks);
        Interlocked.Add(ref entry.Conversions, delta.Conversions);
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await Task.Yield();
            await RefreshAsync(_counts!, CancellationToken.None);
        }
        catch (Exception) when (_counts is not null)
        {
            // A store outage keeps the last counts; the next stale use tries again.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow().UtcTicks;
        var changes = await store.ReadItemStatsChangedAsync(0, cancellationToken);
        var fresh = new ConcurrentDictionary<(string, Stage), Counts>();
        foreach (var stats in changes.Rows)
        {
            Add(fresh, stats);
        }

        _previousCursor = _cursor = changes.Cursor;
        _counts = fresh;
        Interlocked.Exchange(ref _loadedAtTicks, readAt);
    }

    private async Task RefreshAsync(ConcurrentDictionary<(string, Stage), Counts> counts, CancellationToken cancellationToken)
    {
        var readAt = time.GetUtcNow().UtcTicks;
        var changes = await store.ReadItemStatsChangedAsync(_previousCursor, cancellationToken);
        foreach (var stats in changes.Rows)
        {
            var entry = counts.GetOrAdd((stats.ContentId, stats.Stage), _ => new Counts());
            Interlocked.Exchange(ref entry.Impressions, stats.Impressions);
            Interlocked.Exchange(ref entry.Clicks, stats.Clicks);
            Interlocked.Exchange(ref entry.Conversions, stats.Conversions);
        }

        _previousCursor = _cursor;
        _cursor = Math.Max(_cursor, changes.Cursor);
        Interlocked.Exchange(ref _loadedAtTicks, readAt);
    }

    private sealed class Counts
    {
#pragma warning disable CA1051 // fields, so Interlocked can update them
        public long Impressions;
        public long Clicks;
        public long Conversions;
#pragma warning restore CA1051
    }
}

/// <summary>Feedback on an item from people at one stage.</summary>
public sealed record StagePerformance(Stage Stage, long Impressions, long Clicks, long Conversions)
{
    /// <summary>clicks / impressions; 0 before any impression.</summary>
    public double ClickRate => Impressions == 0 ? 0 : (double)Clicks / Impressions;

    /// <summary>conversions / impressions; 0 before any impression.</summary>
    public double ConversionRate => Impressions == 0 ? 0 : (double)Conversions / Impressions;

    /// <summary>The mean of the Beta(1 + clicks, 1 + impressions − clicks) the learned strategy samples.</summary>
    public double LearnedClickRate => (Clicks + 1.0) / (Math.Max(Impressions, Clicks) + 2.0);
}

/// <summary>The random source of Thompson sampling; seedable for tests (see <see cref="RecommendationOptions.RandomSeed"/>).</summary>
public sealed class RankingRandom(IOptions<RecommendationOptions> options)
{
    private readonly Random _random = options.Value.RandomSeed is { } seed ? new Random(seed) : new Random();
    private readonly Lock _lock = new();

    /// <summary>A draw from Beta(<paramref name="alpha"/>, <paramref name="beta"/>) (both at least 1).</summary>
    public double NextBeta(double alpha, double beta)
    {
        lock (_lock)
        {
            var x = NextGamma(alpha);
            var y = NextGamma(beta);
            return x / (x + y);
        }
    }

    /// <summary>Marsaglia and Tsang's method, valid for shape at least 1.</summary>
    private double NextGamma(double shape)
    {
        var d = shape - (1.0 / 3.0);
        var c = 1.0 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextNormal();
                v = 1 + (c * x);
            }
            while (v <= 0);

            v = v * v * v;
            var u = 1 - _random.NextDouble();
            if (Math.Log(u) < (0.5 * x * x) + d - (d * v) + (d * Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private double NextNormal()
    {
        var u1 = 1 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
