using Grpc.Net.Client;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>What every scenario measures against: the host, its channel, the same-run baselines and the settings.</summary>
/// <param name="Host">The platform host process (for its working set).</param>
/// <param name="Channel">A channel with every scope.</param>
/// <param name="Baselines">The floors measured in this run.</param>
/// <param name="Settings">Sizes and durations.</param>
/// <param name="Population">The people the ingestion created, for the scenarios that read them back.</param>
public sealed record BenchContext(HostProcess Host, GrpcChannel Channel, Baselines Baselines, Settings Settings, Population Population)
{
    /// <summary>
    /// Latency is measured on a host in steady state, as the empty-call baseline was: first the host
    /// finishes what a bulk load left it (the events of 50,000 touchpoints or a million profiles), which
    /// would otherwise share the two cores with the calls being timed. Prints how long that took.
    /// <paramref name="host"/> is a scenario's own host, when it measures on one; the platform host otherwise.
    /// </summary>
    public async Task SettleAsync(string before, HostProcess? host = null)
    {
        var (waited, quiet) = await (host ?? Host).WaitUntilQuietAsync(coreShare: 0.15, timeout: TimeSpan.FromMinutes(2));
        Console.WriteLine(quiet
            ? $"  host settled in {waited.TotalSeconds:0.0} s"
            : $"  host still busy after {waited.TotalSeconds:0} s; measuring anyway");
        if (!quiet)
        {
            Unsettled.Add(before);
        }
    }

    /// <summary>The measurements that started on a host that had not settled; the report lists them.</summary>
    public List<string> Unsettled { get; } = [];
}

/// <summary>
/// The people seeded by the ingestion scenario: person <c>i</c> has the anonymous id <c>person-{i}</c>;
/// every one of them becomes a profile (and a person in the recommendation read model) through the
/// services' own event handlers.
/// </summary>
public sealed class Population
{
    /// <summary>How many distinct people were streamed (0 until the ingestion ran).</summary>
    public int People { get; set; }

    /// <summary>When the stream that created them started (Stopwatch timestamp).</summary>
    public long StreamStarted { get; set; }

    public static string AnonymousId(int person) => $"person-{person}";
}

/// <summary>A headline scenario: measures one service path and returns its figures with ratios.</summary>
public interface IScenario
{
    string Name { get; }

    Task<IReadOnlyList<Figure>> RunAsync(BenchContext context);
}

/// <summary>
/// The scenarios, in the order they run. The outside load generator's empty calls come first, on a
/// host that has done nothing yet; then the two with a host of their own, while the main
/// host is idle (it still digests the events of every earlier scenario, such as the catalog's 50,000
/// TouchpointChanged or the ingestion's million people); the profile and recommendation scenarios read
/// the people the ingestion created; the console's views come last, on the stores every scenario before filled.
/// </summary>
public static class Scenarios
{
    public static readonly IReadOnlyList<IScenario> All =
    [
        new OutsideLoadScenario(),
        new IngestionAloneScenario(),
        new ProfileAloneScenario(),
        new CatalogListScenario(),
        new IngestionScenario(),
        new ProfileScenario(),
        new ConsentCheckScenario(),
        new RecommendScenario(),
        new JourneySimulationScenario(),
        new TrackingBatchScenario(),
        new TranscodedGetScenario(),
        new ConsoleScenario(),
    ];
}

/// <summary>
/// The shared host runs all four services on the same two cores, as the README's run command does; a
/// Deployment gives each service cores of its own. A service's figure is held to its target where the
/// service runs as deployed (the scenario named), and the same measurement in the shared host is
/// reported next to it, with its ratio, so the cost of sharing the cores stays visible.
/// </summary>
public static class SharedHost
{
    public static string Reported(string heldIn) => $"reported; held to its target in {heldIn}";
}
