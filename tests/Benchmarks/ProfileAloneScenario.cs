using System.Diagnostics;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Host;
using Journey.Profile.V1;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// The profile service's event handling on cores it does not share with the stream or the
/// recommendation service, as in a Deployment of its own: a host with the touchpoint and profile
/// modules stores a stream of people with delivery held, stops, and starts again with delivery on;
/// the figure is people / time from that start until the last person's profile shows the interaction.
/// The touchpoint relay hands the held events to the bus meanwhile, so its cost is in the figure too.
/// Then, once the host is quiet, Identify calls that merge, against the empty call on the same host:
/// the profile service's figures are held on the cores a Deployment gives it, as the touchpoint
/// service's are in <see cref="IngestionAloneScenario"/>.
/// </summary>
public sealed class ProfileAloneScenario : IScenario
{
    private static readonly string[] Modules = ["--Journey:Hosting:Modules=touchpoint,profile", "--Journey:Limits:WriteCallsPerSecond=1000000",
        "--Journey:Limits:WriteBurst=1000000", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Journey.Host=Information"];

    public string Name => "profile-alone";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var settings = context.Settings;
        var data = Path.Combine(settings.Scratch, "profile-alone");
        Directory.CreateDirectory(data);
        var people = settings.Quick ? 50_000 : 300_000;
        await using (var held = HostProcess.Start(data, [.. Modules, "--Journey:Events:DeliveryEnabled=false"]))
        {
            await held.WaitUntilListeningAsync();
            using var channel = held.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
            var summary = await Touchpoints.StreamViewsAsync(channel, people, Person, _ => DateTimeOffset.UtcNow);
            if (summary.AcceptedCount != people)
            {
                throw new InvalidOperationException($"The stream stored {summary.AcceptedCount:N0} of {people:N0} interactions.");
            }
        }

        var clock = Stopwatch.StartNew();
        await using var host = HostProcess.Start(data, Modules);
        await host.WaitUntilListeningAsync();
        using var live = host.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        var profiles = new ProfileService.ProfileServiceClient(live);
        var last = new LookupProfileRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = Person(people - 1) }) };
        while (!await HasInteractionAsync(profiles, last))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(3))
            {
                throw new TimeoutException($"The profile service had not handled the last of {people:N0} held interactions after {clock.Elapsed.TotalSeconds:0} s.");
            }

            await Task.Delay(50);
        }

        var drained = clock.Elapsed;
        var rate = people / drained.TotalSeconds;
        // CPU per event varies less than the rate from run to run on a shared machine, so it is printed to compare changes by.
        var cpu = host.ProcessorTime;
        Console.WriteLine($"  host CPU {cpu.TotalSeconds:0.0} s ({cpu.TotalMicroseconds / people:0} µs an event, {cpu / drained:0.00} cores on average)");

        // Merges on this host, against an empty call on this host: what a profile Deployment's callers see, without the
        // consent and recommendation services' handlers of each merge on the same two cores.
        await context.SettleAsync("merges on the profile-alone host", host);
        await Baselines.WarmUpAsync(live, settings);
        var empty = await Baselines.EmptyCallAsync(live, settings, callers: 1);
        var merges = await MergeCalls.MeasureAsync(profiles, Person, people, settings);
        return
        [
            new($"profile event handling, own cores: {people:N0} held InteractionRecorded drained by a touchpoint+profile host", Report.Rate(rate, "events") + $" ({drained.TotalSeconds:0.0} s from process start)",
                Report.Rate(context.Baselines.SqliteRowsPerSecond, "raw rows"), rate / context.Baselines.SqliteRowsPerSecond, $"≥ {DrainFloor:0.00}×", rate / context.Baselines.SqliteRowsPerSecond >= DrainFloor),
            new($"identify with a merge, touchpoint+profile host, {merges.Calls:N0} merges", $"p50 {Report.Micros(merges.P50)}, p99 {Report.Micros(merges.P99)}",
                $"this host's empty call p50 {Report.Micros(empty.P50)}, p99 {Report.Micros(empty.P99)}", merges.P99 / empty.P99, "p99 ≤ 5×", merges.P99 / empty.P99 <= 5),
        ];
    }

    /// <summary>
    /// The drain's floor as a share of the same run's raw SQLite insert rate. Draining is bound by the CPU
    /// and raw inserts by the disk, so the share moves between runs (0.49× to 1.01× in runs L and N, 0.61×
    /// in a slow hour); 0.40× holds every good run with margin and fails a drain that halves.
    /// </summary>
    private const double DrainFloor = 0.40;

    private static string Person(int i) => $"alone-{i}";

    private static async Task<bool> HasInteractionAsync(ProfileService.ProfileServiceClient client, LookupProfileRequest request)
    {
        try
        {
            return (await client.LookupProfileAsync(request)).Profile.LastInteractionTime is not null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }
}
