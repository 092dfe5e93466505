using System.Diagnostics;

namespace Journey.Benchmarks;

/// <summary>Latency and throughput of one scenario run.</summary>
/// <param name="Calls">Completed operations.</param>
/// <param name="Elapsed">Wall time of the measured phase.</param>
/// <param name="P50">Median latency.</param>
/// <param name="P99">99th-percentile latency.</param>
public sealed record Sample(long Calls, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99)
{
    /// <summary>Operations per second.</summary>
    public double PerSecond => Calls / Elapsed.TotalSeconds;
}

/// <summary>Runs an operation from several callers for a while and records each latency.</summary>
public static class Measure
{
    /// <summary>Warms up, then runs <paramref name="operation"/> from <paramref name="callers"/> concurrent callers for <paramref name="duration"/>.</summary>
    public static async Task<Sample> RunAsync(Func<int, Task> operation, int callers, TimeSpan warmup, TimeSpan duration)
    {
        await LoopAsync(operation, callers, warmup, record: null);
        var latencies = new List<long>[callers];
        for (var i = 0; i < callers; i++)
        {
            latencies[i] = new List<long>(100_000);
        }

        var clock = Stopwatch.StartNew();
        await LoopAsync(operation, callers, duration, latencies);
        var elapsed = clock.Elapsed;
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return new Sample(all.Length, elapsed, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static Task LoopAsync(Func<int, Task> operation, int callers, TimeSpan duration, List<long>[]? record)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        return Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var iteration = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                await operation(caller * 1_000_000 + iteration++);
                record?[caller].Add(Stopwatch.GetTimestamp() - start);
            }
        })));
    }

    /// <summary>The <paramref name="quantile"/> of <paramref name="sorted"/> Stopwatch tick durations.</summary>
    public static TimeSpan Percentile(long[] sorted, double quantile) =>
        sorted.Length == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(0, sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))]);
}
