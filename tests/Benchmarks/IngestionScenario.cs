using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Benchmarks;

/// <summary>
/// Collectors streaming interactions (500 per message) into the touchpoint service: every
/// acknowledged interaction is durably stored with its event in the outbox. Compared with raw
/// batched SQLite inserts measured in the same run.
/// </summary>
public sealed class IngestionScenario : IScenario
{
    public string Name => "ingestion";

    public async Task<IReadOnlyList<Figure>> RunAsync(GrpcChannel channel, Baselines baselines, Settings settings)
    {
        var client = new TouchpointService.TouchpointServiceClient(channel);
        await client.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = "bench-web",
            Touchpoint = new Touchpoint.V1.Touchpoint
            {
                DisplayName = "Benchmark page",
                Channel = Channel.Web,
                Ownership = Ownership.Owned,
                Stages = { JourneyStage.Consideration },
                Criticality = 3,
                IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "fast" },
            },
        });

        var total = settings.Quick ? 50_000 : 500_000;
        const int perMessage = 500;
        var now = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var call = client.StreamInteractions();
        for (var sent = 0; sent < total; sent += perMessage)
        {
            var message = new StreamInteractionsRequest();
            for (var i = sent; i < sent + perMessage; i++)
            {
                message.Interactions.Add(new Interaction
                {
                    InteractionId = Guid.NewGuid().ToString(),
                    Touchpoint = "touchpoints/bench-web",
                    OccurTime = Timestamp.FromDateTimeOffset(now),
                    Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"visitor-{i % 10_000}" } },
                    Type = InteractionType.View,
                });
            }

            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        var summary = await call;
        var rate = summary.AcceptedCount / clock.Elapsed.TotalSeconds;
        var ratio = rate / baselines.SqliteRowsPerSecond;
        return
        [
            new("ingestion stream, 500 interactions a message, stored with outbox", Report.Rate(rate, "interactions") + $" ({summary.AcceptedCount:N0} accepted)",
                Report.Rate(baselines.SqliteRowsPerSecond, "raw rows"), ratio, "≥ 0.50× and ≥ 20,000/s", ratio >= 0.5 && rate >= 20_000),
        ];
    }
}
