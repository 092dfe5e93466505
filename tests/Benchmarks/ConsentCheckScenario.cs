using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Consent.V1;

namespace Journey.Benchmarks;

/// <summary>The consent decision against the empty call: latency with one caller, throughput with eight.</summary>
public sealed class ConsentCheckScenario : IScenario
{
    public string Name => "consent";

    public async Task<IReadOnlyList<Figure>> RunAsync(GrpcChannel channel, Baselines baselines, Settings settings)
    {
        var client = new ConsentService.ConsentServiceClient(channel);
        var policy = await client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "Benchmark privacy notice." });
        await client.CreatePurposeAsync(new CreatePurposeRequest
        {
            PurposeId = "bench-personalisation",
            Purpose = new Purpose { Description = "Benchmark purpose", LegalBasis = LegalBasis.Consent, Channels = { Channel.Web }, DefaultDecision = DefaultDecision.Deny, Validity = Duration.FromTimeSpan(TimeSpan.FromDays(365)) },
        });
        var subjects = settings.Quick ? 2_000 : 20_000;
        await Parallel.ForEachAsync(Enumerable.Range(0, subjects), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            await client.RecordConsentAsync(new RecordConsentRequest
            {
                Identifiers = { new Identifier { Kind = IdentifierKind.CustomerId, Value = $"C-{i}" } },
                Purpose = "purposes/bench-personalisation",
                Decision = i % 3 != 0 ? ConsentDecision.Granted : ConsentDecision.Withdrawn,
                PolicyVersion = policy.PolicyVersion.Version,
                CapturedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
            }, cancellationToken: ct));

        Task Check(int i) => client.CheckConsentAsync(new CheckConsentRequest
        {
            Identifiers = { new Identifier { Kind = IdentifierKind.CustomerId, Value = $"C-{i % subjects}" } },
            Purpose = "purposes/bench-personalisation",
            Channel = Channel.Web,
        }).ResponseAsync;

        var one = await Measure.RunAsync(Check, 1, settings.Warmup, settings.Duration);
        var eight = await Measure.RunAsync(Check, 8, settings.Warmup, settings.Duration);
        var latencyRatio = one.P99 / baselines.EmptyCallOneCaller.P99;
        var throughputRatio = eight.PerSecond / baselines.EmptyCallEightCallers.PerSecond;
        return
        [
            new($"consent check, 1 caller, {subjects:N0} subjects", $"p50 {Report.Micros(one.P50)}, p99 {Report.Micros(one.P99)}", $"empty call p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", latencyRatio, "p99 ≤ 1.5×", latencyRatio <= 1.5),
            new("consent check, 8 callers", Report.Rate(eight.PerSecond, "checks"), Report.Rate(baselines.EmptyCallEightCallers.PerSecond, "empty calls"), throughputRatio, "≥ 0.70×", throughputRatio >= 0.7),
        ];
    }
}
