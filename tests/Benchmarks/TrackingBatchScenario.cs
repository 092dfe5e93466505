using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Benchmarks;

/// <summary>
/// The tracking API under a load generator nobody here wrote: wrk (Debian's package, installed by the
/// scenario when it can) posts <c>/v1/batch</c> bodies of 100 track events over 8 connections, one
/// request at a time on each, every event with a fresh message id, to the host's HTTP listener. The
/// same run first measures gRPC <c>RecordInteractions</c> with 100 interactions a call from 8 callers,
/// the path the tracking API's events take after mapping; accepted events/s are held to ≥ 0.7× its
/// interactions/s, and the p99 of a batch is reported next to the gRPC call's. Both send views of the
/// same 10,000 returning visitors, and each starts on a host that has settled.
/// </summary>
public sealed partial class TrackingBatchScenario : IScenario
{
    private const int Senders = 8;
    private const int PerBatch = 100;
    private const string Event = "Product Viewed";

    public string Name => "tracking";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var wrk = await WrkAsync();
        if (wrk is null)
        {
            return [new("tracking: /v1/batch from an outside load generator", "not measured: wrk is not installed (Debian: apt-get install wrk)", "-", 0, "skipped", null)];
        }

        var (channel, settings) = (context.Channel, context.Settings);
        await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
        var key = await SourceAsync(context);

        await context.SettleAsync("tracking: gRPC RecordInteractions");
        var touchpoints = new TouchpointService.TouchpointServiceClient(channel);
        var grpc = await Measure.RunAsync(async n =>
        {
            var request = new RecordInteractionsRequest();
            var at = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
            for (var i = 0; i < PerBatch; i++)
            {
                request.Interactions.Add(new Interaction
                {
                    InteractionId = Guid.NewGuid().ToString(),
                    Touchpoint = "touchpoints/bench-web",
                    OccurTime = at,
                    Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"bench-visitor-{((n * PerBatch) + i) % 10_000}" } },
                    Type = InteractionType.View,
                });
            }

            var response = await touchpoints.RecordInteractionsAsync(request);
            if (response.AcceptedCount != PerBatch)
            {
                throw new InvalidOperationException($"RecordInteractions accepted {response.AcceptedCount} of {PerBatch}");
            }
        }, Senders, settings.Warmup, settings.Duration);
        var grpcRate = grpc.PerSecond * PerBatch;

        await context.SettleAsync("tracking: /v1/batch");
        var authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":"));
        await RunWrkAsync(wrk, context.Host.HttpAddress, authorization, settings.Warmup, "warmup");
        var http = await RunWrkAsync(wrk, context.Host.HttpAddress, authorization, settings.Duration, "measured");
        var httpRate = http.Accepted / http.Elapsed.TotalSeconds;
        var share = httpRate / grpcRate;
        var tail = http.P99 / grpc.P99;
        return
        [
            new($"tracking: gRPC RecordInteractions, {PerBatch} interactions a call, {Senders} callers", $"{Report.Rate(grpcRate, "interactions")}, p99 {Report.Micros(grpc.P99)}", "itself", 1, "baseline", null),
            new($"tracking: wrk POST /v1/batch, {PerBatch} events a request, {Senders} connections", $"{Report.Rate(httpRate, "accepted events")} ({http.Accepted:N0} in {http.Requests:N0} requests)",
                Report.Rate(grpcRate, "gRPC interactions"), share, "≥ 0.7×", share >= 0.7),
            new($"tracking: p99 of a /v1/batch of {PerBatch}", $"p50 {Report.Micros(http.P50)}, p99 {Report.Micros(http.P99)}", "gRPC RecordInteractions p99", tail, "reported", null),
        ];
    }

    /// <summary>A source whose plan maps the events to <c>touchpoints/bench-web</c>, without a rate limit that matters; returns a write key.</summary>
    private static async Task<string> SourceAsync(BenchContext context)
    {
        var sources = new TrackingSourceService.TrackingSourceServiceClient(context.Channel);
        var id = $"bench-{Guid.NewGuid():N}"[..20];
        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = id,
            Source = new Source
            {
                DisplayName = "Benchmark",
                RequestsPerSecond = 100_000,
                TrackingPlan = new TrackingPlan { Events = { new EventRule { Event = Event, Touchpoint = "touchpoints/bench-web", Type = InteractionType.View } } },
            },
        });
        return (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = $"sources/{id}" })).Secret;
    }

    /// <summary>One wrk run; fails when a request was refused or a socket failed, so only a clean run is reported.</summary>
    private static async Task<WrkRun> RunWrkAsync(string wrk, string address, string authorization, TimeSpan duration, string run)
    {
        var start = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["JOURNEY_BENCH_AUTHORIZATION"] = authorization;
        var script = Path.Combine(Repository.Root, "tests", "Benchmarks", "tracking-batch.lua");
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        foreach (var argument in new[] { "-t", "2", "-c", Senders.ToString(CultureInfo.InvariantCulture), "-d", seconds + "s", "--timeout", "30s", "-s", script, address + "/v1/batch", "--", $"{run}-{Guid.NewGuid():N}" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return Parse(output);
    }

    internal static WrkRun Parse(string output)
    {
        var match = SummaryPattern().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException($"wrk printed no summary:\n{output}");
        }

        long Number(string name) => long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        if (Number("refused") > 0 || Number("errors") > 0)
        {
            throw new InvalidOperationException($"{Number("refused")} requests were not answered 200 and {Number("errors")} failed:\n{output}");
        }

        return new WrkRun(Number("accepted"), Number("requests"), TimeSpan.FromMicroseconds(Number("duration")),
            TimeSpan.FromMicroseconds(Number("p50")), TimeSpan.FromMicroseconds(Number("p99")));
    }

    private static async Task<string?> WrkAsync()
    {
        if (Find("wrk") is { } found)
        {
            return found;
        }

        if (Find("apt-get") is { } apt && Environment.UserName == "root")
        {
            Console.WriteLine("  wrk not found; installing Debian's wrk ...");
            using var install = Process.Start(new ProcessStartInfo(apt, "install -y -q wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (install is not null)
            {
                await install.StandardOutput.ReadToEndAsync();
                await install.StandardError.ReadToEndAsync();
                await install.WaitForExitAsync();
            }
        }

        return Find("wrk");
    }

    private static string? Find(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, executable))
            .FirstOrDefault(File.Exists);

    [GeneratedRegex(@"journey accepted=(?<accepted>\d+) requests=(?<requests>\d+) refused=(?<refused>\d+) socket_errors=(?<errors>\d+) duration_us=(?<duration>\d+) p50_us=(?<p50>\d+) p99_us=(?<p99>\d+)")]
    private static partial Regex SummaryPattern();
}

/// <summary>What one wrk run of the tracking scenario measured.</summary>
internal sealed record WrkRun(long Accepted, long Requests, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99);
