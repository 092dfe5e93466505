using System.Diagnostics;
using Journey.Common.V1;
using Journey.Host;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// The touchpoint service's ingestion as a Deployment runs it: a host with only the touchpoint
/// module, so the figure is the service's own path (validated, stored, aggregated, event in the
/// outbox) and not the profile and recommendation handlers sharing the same two cores. People come
/// back (10,000 visitors), as on a real site. The host's working set is sampled across the whole
/// stream of 1,000,000 interactions (100,000 with --quick).
/// </summary>
public sealed class IngestionAloneScenario : IScenario
{
    public string Name => "ingestion-alone";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        var data = Path.Combine(settings.Scratch, "touchpoint-alone");
        Directory.CreateDirectory(data);
        await using var host = HostProcess.Start(data, "--Journey:Hosting:Modules=touchpoint", "--Journey:Limits:WriteCallsPerSecond=1000000",
            "--Journey:Limits:WriteBurst=1000000", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Journey.Host=Information");
        await host.WaitUntilListeningAsync();
        using var channel = host.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);

        var total = settings.Quick ? 100_000 : 1_000_000;
        var now = DateTimeOffset.UtcNow;
        await using var memory = new MemorySampler(host, TimeSpan.FromMilliseconds(250));
        var cpuBefore = host.ProcessorTime;
        var clock = Stopwatch.StartNew();
        var summary = await Touchpoints.StreamViewsAsync(channel, total, i => $"visitor-{i % 10_000}", i => now.AddMilliseconds(-(total - i) / 100));
        var elapsed = clock.Elapsed;
        var cpu = host.ProcessorTime - cpuBefore;
        var (afterWarmup, peak, end, trend) = await memory.StopAsync();
        // CPU per interaction varies less between runs than the rate, which follows the disk's hour too.
        Console.WriteLine($"  host CPU {cpu.TotalSeconds:0.0} s during the stream ({cpu.TotalMicroseconds / Math.Max(1, summary.AcceptedCount):0.0} µs an interaction)");

        var rate = summary.AcceptedCount / elapsed.TotalSeconds;
        var ratio = rate / context.Baselines.SqliteRowsPerSecond;
        var growthRatio = afterWarmup == 0 ? 0 : trend / afterWarmup;
        return
        [
            new("ingestion stream, touchpoint service alone, 500 a message, 10,000 returning visitors", Report.Rate(rate, "interactions") + $" ({summary.AcceptedCount:N0} accepted in {elapsed.TotalSeconds:0.0} s)",
                Report.Rate(context.Baselines.SqliteRowsPerSecond, "raw rows"), ratio, "≥ 0.50×", ratio >= 0.5),
            new($"touchpoint host working set while ingesting {total:N0}", $"after warm-up {Report.Mib(afterWarmup)}, peak {Report.Mib(peak)}, end {Report.Mib(end)}, trend {Report.Mib((long)trend)}",
                "working set after warm-up", growthRatio, "trend growth ≤ 0.10×", growthRatio <= 0.10),
        ];
    }
}
