using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>The consent decision against the empty call: latency with one caller, throughput with eight.</summary>
public sealed class ConsentCheckScenario : IScenario
{
    public string Name => "consent";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, baselines, settings) = (context.Channel, context.Baselines, context.Settings);
        var client = new ConsentService.ConsentServiceClient(channel);
        var policy = await client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "Benchmark privacy notice." });
        await client.CreatePurposeAsync(new CreatePurposeRequest
        {
            PurposeId = "bench-personalisation",
            Purpose = new Purpose { Description = "Benchmark purpose", LegalBasis = LegalBasis.Consent, Channels = { Channel.Web }, DefaultDecision = DefaultDecision.Deny, Validity = Duration.FromTimeSpan(TimeSpan.FromDays(365)) },
        });
        var subjects = settings.Subjects;
        var seeding = System.Diagnostics.Stopwatch.StartNew();
        const int perBatch = 1000;
        var capturedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1));
        await Parallel.ForEachAsync(Enumerable.Range(0, (subjects + perBatch - 1) / perBatch), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (b, ct) =>
        {
            var batch = new BatchRecordConsentRequest();
            for (var i = b * perBatch; i < Math.Min(subjects, (b + 1) * perBatch); i++)
            {
                batch.Records.Add(new RecordConsentRequest
                {
                    Person = Persons.Of(new Identifier { Kind = IdentifierKind.CustomerId, Value = $"C-{i}" }),
                    Purpose = "purposes/bench-personalisation",
                    Decision = i % 3 != 0 ? ConsentDecision.Granted : ConsentDecision.Withdrawn,
                    PolicyVersion = policy.PolicyVersion.Version,
                    CaptureTime = capturedAt,
                });
            }

            var reply = await client.BatchRecordConsentAsync(batch, cancellationToken: ct);
            if (reply.Rejected.Count > 0)
            {
                throw new InvalidOperationException($"The consent import rejected {reply.Rejected.Count} records, e.g. {reply.Rejected[0].Field}: {reply.Rejected[0].Reason}");
            }
        });

        Console.WriteLine($"  seeded {subjects:N0} subjects in {seeding.Elapsed.TotalSeconds:0.0} s ({subjects / seeding.Elapsed.TotalSeconds:N0}/s)");

        static CheckConsentRequest Request(int subject) => new()
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.CustomerId, Value = $"C-{subject}" }),
            Purpose = "purposes/bench-personalisation",
            Channel = Channel.Web,
        };

        Task Check(int i) => client.CheckConsentAsync(Request(Random.Shared.Next(subjects))).ResponseAsync;

        Task BatchCheck(int i)
        {
            var batch = new BatchCheckConsentRequest();
            for (var k = 0; k < 100; k++)
            {
                batch.Checks.Add(Request(Random.Shared.Next(subjects)));
            }

            return client.BatchCheckConsentAsync(batch).ResponseAsync;
        }

        await context.SettleAsync("consent checks");
        var one = await Measure.RunAsync(Check, 1, settings.Warmup, settings.Duration);
        var batch = await Measure.RunAsync(BatchCheck, 1, settings.Warmup, settings.Duration);
        var eight = await Measure.RunAsync(Check, 8, settings.Warmup, settings.Duration);
        var latencyRatio = one.P99 / baselines.EmptyCallOneCaller.P99;
        var batchRatio = batch.P99 / baselines.EmptyCallOneCaller.P99;
        var throughputRatio = eight.PerSecond / baselines.EmptyCallEightCallers.PerSecond;
        var bareRatio = eight.PerSecond / baselines.BareCallEightCallers.PerSecond;
        return
        [
            new($"consent check, 1 caller, {subjects:N0} subjects", $"p50 {Report.Micros(one.P50)}, p99 {Report.Micros(one.P99)}, {Report.Rate(one.PerSecond, "checks")}", $"empty call p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", latencyRatio, "p99 ≤ 1.5×", latencyRatio <= 1.5),
            new("consent batch check of 100 subjects, 1 caller", $"p50 {Report.Micros(batch.P50)}, p99 {Report.Micros(batch.P99)}, {Report.Rate(batch.PerSecond * 100, "checks")}", $"empty call p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", batchRatio, "p99 ≤ 3×", batchRatio <= 3),
            new("consent check, 8 callers", Report.Rate(eight.PerSecond, "checks") + $", p99 {Report.Micros(eight.P99)}", Report.Rate(baselines.EmptyCallEightCallers.PerSecond, "empty calls"), throughputRatio, "≥ 0.70×", throughputRatio >= 0.7),
            new("consent check against the bare server, 8 callers", Report.Rate(eight.PerSecond, "checks"), Report.Rate(baselines.BareCallEightCallers.PerSecond, "bare empty calls"), bareRatio, "≥ 0.6×", bareRatio >= 0.6),
        ];
    }
}
