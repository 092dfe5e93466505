using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Recommendation.V1;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// Recommend over a large content library (upserted through the API, 16 callers) for the people the
/// ingestion streamed (known to the recommendation service through its own read models, kept from the
/// profile and touchpoint events).
/// </summary>
public sealed class RecommendScenario : IScenario
{
    private static readonly Channel[] Channels = [Channel.Web, Channel.Email, Channel.Social, Channel.MobileApp];
    private static readonly string[] Topics = ["electric", "suv", "lease", "finance", "family", "city", "service", "hybrid", "van", "sport"];

    public string Name => "recommend";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, baselines, settings, population) = (context.Channel, context.Baselines, context.Settings, context.Population);
        await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
        var client = new RecommendationService.RecommendationServiceClient(channel);
        var count = settings.Contents;
        var small = Math.Min(1_000, count);
        var seeding = System.Diagnostics.Stopwatch.StartNew();
        await UpsertAsync(client, 0, small);
        await EnsureAnswersAsync(client);
        var people = Math.Max(1, population.People);
        await context.SettleAsync("recommend at 1,000 items");
        var atSmall = await Measure.RunAsync(i => RecommendAsync(client, people), 1, settings.Warmup, settings.Duration);
        await UpsertAsync(client, small, count);
        Console.WriteLine($"  seeded {count:N0} content items in {seeding.Elapsed.TotalSeconds:0.0} s (with the measurement at {small:N0})");

        await EnsureAnswersAsync(client);
        await context.SettleAsync("recommend at the full library");
        var one = await Measure.RunAsync(i => RecommendAsync(client, people), 1, settings.Warmup, settings.Duration);
        var ratio = one.P99 / baselines.EmptyCallOneCaller.P99;
        var scale = one.P50 / atSmall.P50;
        return
        [
            new($"recommend 5 items, {count:N0} items, {population.People:N0} people", $"p50 {Report.Micros(one.P50)}, p99 {Report.Micros(one.P99)}, {Report.Rate(one.PerSecond, "recommendations")}",
                $"empty call p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", ratio, "p99 ≤ 3×", ratio <= 3),
            new($"recommend median, {count:N0} items against {small:N0}", $"p50 {Report.Micros(one.P50)} against {Report.Micros(atSmall.P50)}",
                $"p50 at {small:N0} items", scale, "≤ 1.5×", scale <= 1.5),
        ];
    }

    private static async Task EnsureAnswersAsync(RecommendationService.RecommendationServiceClient client)
    {
        var probe = await client.RecommendAsync(new RecommendRequest { Touchpoint = "touchpoints/bench-web", Channel = Channel.Web, Count = 5 });
        if (probe.Items.Count == 0)
        {
            throw new InvalidOperationException("Recommend returned no items: the benchmark would measure an empty answer.");
        }
    }

    private static Task<RecommendResponse> RecommendAsync(RecommendationService.RecommendationServiceClient client, int people) => client.RecommendAsync(new RecommendRequest
    {
        Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = Population.AnonymousId(Random.Shared.Next(people)) }),
        Touchpoint = "touchpoints/bench-web",
        Channel = Channel.Web,
        Count = 5,
    }).ResponseAsync;

    /// <summary>Upserts items <paramref name="from"/> to <paramref name="to"/> (exclusive), 16 callers.</summary>
    private static Task UpsertAsync(RecommendationService.RecommendationServiceClient client, int from, int to) =>
        Parallel.ForEachAsync(Enumerable.Range(from, to - from), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await client.UpdateContentAsync(new UpdateContentRequest { Content = Item(i), UpdateMask = new FieldMask { Paths = { "*" } }, AllowMissing = true }, cancellationToken: ct));

    private static ContentItem Item(int i)
    {
        var kind = (ContentKind)(1 + i % 8);
        var item = new ContentItem
        {
            Name = $"contents/item-{i}",
            Title = $"Content {i}",
            Kind = kind,
            Stages = { new StageWeight { Stage = (JourneyStage)(1 + i % 6), Weight = 0.5 + i % 5 / 10.0 }, new StageWeight { Stage = (JourneyStage)(1 + (i + 1) % 6), Weight = 0.3 } },
            Topics = { Topics[i % Topics.Length], Topics[(i / 10) % Topics.Length] },
            Channels = { Channels[i % Channels.Length], Channel.Web },
            Hardness = kind is ContentKind.Offer or ContentKind.TestDriveBooking ? 0.9 : i % 4 / 10.0,
            Purpose = kind == ContentKind.ServiceInformation ? ContentPurpose.Service : ContentPurpose.Marketing,
            Generic = i % 50 == 0,
            ValidStartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
            ValidEndTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(365)),
        };
        if (item.Channels[0] == Channel.Web)
        {
            item.Channels.RemoveAt(1);
        }

        return item;
    }
}
