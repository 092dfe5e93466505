using System.Diagnostics;
using Journey.Common.V1;
using Journey.Profile.V1;

namespace Journey.Benchmarks;

/// <summary>
/// Identify calls that merge an anonymous profile into a known one, one at a time: for each person a
/// known customer is identified first (untimed), then the timed call links the person's anonymous id to
/// that customer, so the anonymous profile merges into the known one.
/// </summary>
public static class MergeCalls
{
    public static async Task<Sample> MeasureAsync(ProfileService.ProfileServiceClient client, Func<int, string> anonymousId, int people, Settings settings)
    {
        var merges = new List<long>();
        var next = 0;
        var started = Stopwatch.StartNew();
        var stop = Stopwatch.GetTimestamp() + (long)((settings.Warmup + settings.Duration).TotalSeconds * Stopwatch.Frequency);
        var warm = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < stop && next < people)
        {
            var customer = new Identifier { Kind = IdentifierKind.CustomerId, Value = $"K-{next}" };
            await client.IdentifyAsync(new IdentifyRequest { Identifiers = { customer } });
            var start = Stopwatch.GetTimestamp();
            var merged = await client.IdentifyAsync(new IdentifyRequest
            {
                Identifiers = { customer, new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId(next) } },
            });
            var took = Stopwatch.GetTimestamp() - start;
            if (merged.Profile.Identifiers.Count < 2)
            {
                throw new InvalidOperationException("Identify did not attach the anonymous identifier: the benchmark would not measure a merge.");
            }

            if (start > warm)
            {
                merges.Add(took);
            }

            next++;
        }

        var sorted = merges.ToArray();
        Array.Sort(sorted);
        return new Sample(sorted.Length, started.Elapsed, Measure.Percentile(sorted, 0.50), Measure.Percentile(sorted, 0.99));
    }
}
