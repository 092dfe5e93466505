using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Journey.Recommendation.Domain;

/// <summary>
/// Learned feedback counts per item and stage, held in memory so ranking reads no store. Loaded once
/// from the store; every committed feedback write of this process adds its delta. Another replica's
/// feedback is seen after a restart (eventual, and harmless for exploration).
/// </summary>
public sealed class LearningModel(IAudienceStore store) : IDisposable
{
    private readonly ConcurrentDictionary<(string, Stage), Counts> _counts = new();
    private readonly SemaphoreSlim _load = new(1, 1);
    private volatile bool _loaded;

    public async ValueTask EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _load.WaitAsync(cancellationToken);
        try
        {
            if (!_loaded)
            {
                foreach (var stats in await store.ReadItemStatsAsync(cancellationToken))
                {
                    Apply(stats);
                }

                _loaded = true;
            }
        }
        finally
        {
            _load.Release();
        }
    }

    public void Apply(ItemStats delta)
    {
        var counts = _counts.GetOrAdd((delta.ContentId, delta.Stage), _ => new Counts());
        Interlocked.Add(ref counts.Impressions, delta.Impressions);
        Interlocked.Add(ref counts.Clicks, delta.Clicks);
        Interlocked.Add(ref counts.Conversions, delta.Conversions);
    }

    /// <summary>(impressions, clicks) of an item at a stage.</summary>
    public (long Impressions, long Clicks) Get(string contentId, Stage stage) =>
        _counts.TryGetValue((contentId, stage), out var c) ? (Interlocked.Read(ref c.Impressions), Interlocked.Read(ref c.Clicks)) : (0, 0);

    public void Dispose() => _load.Dispose();

    private sealed class Counts
    {
#pragma warning disable CA1051 // fields, so Interlocked can update them
        public long Impressions;
        public long Clicks;
        public long Conversions;
#pragma warning restore CA1051
    }
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
