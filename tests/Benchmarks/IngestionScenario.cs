using System.Diagnostics;
using Journey.Common.V1;

namespace Journey.Benchmarks;

/// <summary>
/// Collectors streaming interactions (500 per message) into the touchpoint service: every
/// acknowledged interaction is durably stored with its event in the outbox. Compared with raw
/// batched SQLite inserts measured in the same run. Each interaction comes from a distinct person, so
/// the stream also seeds the profile service (one profile per person, through its own event handler)
/// and the recommendation read model. The host's working set is sampled throughout.
/// </summary>
public sealed class IngestionScenario : IScenario
{
    public string Name => "ingestion";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, baselines, settings) = (context.Channel, context.Baselines, context.Settings);
        await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);

        var total = settings.Interactions;
        var now = DateTimeOffset.UtcNow;
        await using var memory = new MemorySampler(context.Host, TimeSpan.FromMilliseconds(250));
        context.Population.StreamStarted = Stopwatch.GetTimestamp();
        var clock = Stopwatch.StartNew();
        var summary = await Touchpoints.StreamViewsAsync(channel, total, Population.AnonymousId, _ => now);
        var elapsed = clock.Elapsed;
        var (afterWarmup, peak, end, trend) = await memory.StopAsync();
        context.Population.People = total;

        var rate = summary.AcceptedCount / elapsed.TotalSeconds;
        var ratio = rate / baselines.SqliteRowsPerSecond;
        // Steady: the trend after warm-up adds less than a tenth of the warmed-up working set.
        var growthRatio = afterWarmup == 0 ? 0 : trend / afterWarmup;
        return
        [
            new("ingestion stream, 500 interactions a message, stored with outbox", Report.Rate(rate, "interactions") + $" ({summary.AcceptedCount:N0} accepted in {elapsed.TotalSeconds:0.0} s)",
                Report.Rate(baselines.SqliteRowsPerSecond, "raw rows"), ratio, SharedHost.Reported("ingestion-alone"), null),
            new($"host working set while ingesting {total:N0}", $"after warm-up {Report.Mib(afterWarmup)}, peak {Report.Mib(peak)}, end {Report.Mib(end)}, trend {Report.Mib((long)trend)}",
                "working set after warm-up", growthRatio, SharedHost.Reported("ingestion-alone"), null),
        ];
    }
}
