using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Benchmarks;

/// <summary>
/// A catalog of many touchpoints (created through the catalog API, 16 callers) listed by filter: the
/// first page of 50 for a channel and stage, the way a team browses its touchpoints.
/// </summary>
public sealed class CatalogListScenario : IScenario
{
    private static readonly Channel[] Channels = [Channel.Web, Channel.Email, Channel.PaidAd, Channel.Social, Channel.Search, Channel.DealerStore, Channel.CallCentre, Channel.Service, Channel.Product, Channel.ThirdPartyReview, Channel.PriceComparison, Channel.Other];

    public string Name => "catalog";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, baselines, settings) = (context.Channel, context.Baselines, context.Settings);
        var client = new TouchpointService.TouchpointServiceClient(channel);
        var count = settings.Touchpoints;
        await SeedAsync(client, count);

        Task List(int i) => client.ListTouchpointsAsync(new ListTouchpointsRequest
        {
            PageSize = 50,
            Channel = Channels[i % Channels.Length],
            Stage = (JourneyStage)(1 + i % 6),
            MinCriticality = 1 + i % 3,
        }).ResponseAsync;

        var first = await client.ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = 50, Channel = Channel.Web, Stage = JourneyStage.Evaluation });
        if (first.Touchpoints.Count == 0)
        {
            throw new InvalidOperationException("The filtered catalog listing returned nothing: the benchmark would measure an empty answer.");
        }

        await context.SettleAsync("catalog list");
        var one = await Measure.RunAsync(List, 1, settings.Warmup, settings.Duration);
        var ratio = one.P99 / baselines.EmptyCallOneCaller.P99;
        return
        [
            new($"catalog list by channel+stage+criticality, page 50, {count:N0} touchpoints", $"p50 {Report.Micros(one.P50)}, p99 {Report.Micros(one.P99)}, {Report.Rate(one.PerSecond, "lists")}",
                $"empty call p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", ratio, "p99 ≤ 3×", ratio <= 3),
        ];
    }

    /// <summary>Creates <c>touchpoints/catalog-0</c> to <c>catalog-{count - 1}</c> through the catalog API, 16 callers, and prints how long it took.</summary>
    public static async Task SeedAsync(TouchpointService.TouchpointServiceClient client, int count)
    {
        var seeding = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await client.CreateTouchpointAsync(new CreateTouchpointRequest
            {
                TouchpointId = $"catalog-{i}",
                Touchpoint = new Touchpoint.V1.Touchpoint
                {
                    DisplayName = $"Touchpoint {i}",
                    Channel = Channels[i % Channels.Length],
                    Ownership = (Ownership)(1 + i % 3),
                    Stages = { (JourneyStage)(1 + i % 6), (JourneyStage)(1 + (i % 6 + 1 + i / 6 % 5) % 6) },
                    Criticality = 1 + i % 5,
                    IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "trust in the price" },
                    OwningTeam = $"team-{i % 40}",
                },
            }, cancellationToken: ct));
        Console.WriteLine($"  seeded {count:N0} touchpoints in {seeding.Elapsed.TotalSeconds:0.0} s");
    }
}
