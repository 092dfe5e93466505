using System.Diagnostics;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// The profile service on the people the ingestion streamed: how fast its <c>InteractionRecorded</c>
/// handler drained them (the last person streamed has a profile showing the interaction), lookup by an
/// identifier among all of them, and Identify calls that merge an anonymous profile into a known one.
/// </summary>
public sealed class ProfileScenario : IScenario
{
    public string Name => "profile";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, baselines, settings, population) = (context.Channel, context.Baselines, context.Settings, context.Population);
        if (population.People == 0)
        {
            throw new InvalidOperationException("The profile scenario reads the people the ingestion scenario streamed: run both (--only ingestion,profile).");
        }

        var client = new ProfileService.ProfileServiceClient(channel);
        var people = population.People;

        var (handledAtStart, startedAt) = (await HandledSoFarAsync(client, people), Stopwatch.GetTimestamp());
        await WaitUntilHandledAsync(client, people, TimeSpan.FromMinutes(settings.Quick ? 1 : 5));

        var drainSeconds = Stopwatch.GetElapsedTime(population.StreamStarted).TotalSeconds;
        var drainRate = people / drainSeconds;
        var backlog = people - handledAtStart;
        var backlogSeconds = Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
        // No backlog to speak of: the handler kept pace with the stream, so the stream's pace is the figure.
        var keptUp = backlog < people / 100;
        var backlogRate = keptUp ? drainRate : backlog / backlogSeconds;
        Console.WriteLine($"  profiles for {people:N0} people ready {drainSeconds:0.0} s after the stream started; {backlog:N0} were left when it ended, handled in {backlogSeconds:0.0} s");

        Task Lookup(int i) => client.LookupProfileAsync(new LookupProfileRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = Population.AnonymousId(Random.Shared.Next(people)) }),
        }).ResponseAsync;
        await context.SettleAsync("profile lookup");
        var lookup = await Measure.RunAsync(Lookup, 1, settings.Warmup, settings.Duration);

        var merges = await MergeCalls.MeasureAsync(client, Population.AnonymousId, people, settings);
        var empty = baselines.EmptyCallOneCaller.P99;
        return
        [
            new($"profile event handling, {people:N0} InteractionRecorded, during and after the stream", Report.Rate(drainRate, "events") + " (stream start to last profile updated, sharing the cores with the stream)",
                Report.Rate(baselines.SqliteRowsPerSecond, "raw rows"), drainRate / baselines.SqliteRowsPerSecond, "reported", null),
            new($"profile event handling, the {backlog:N0} left when the stream ended", Report.Rate(backlogRate, "events") + (keptUp ? " (kept pace with the stream)" : " (sharing the cores with the recommendation service's handlers)"),
                Report.Rate(baselines.SqliteRowsPerSecond, "raw rows"), backlogRate / baselines.SqliteRowsPerSecond, SharedHost.Reported("profile-alone"), null),
            new($"profile lookup by anonymous id, {people:N0} profiles", $"p50 {Report.Micros(lookup.P50)}, p99 {Report.Micros(lookup.P99)}, {Report.Rate(lookup.PerSecond, "lookups")}",
                $"empty call p99 {Report.Micros(empty)}", lookup.P99 / empty, "p99 ≤ 2×", lookup.P99 / empty <= 2),
            new($"identify with a merge (anonymous into known), {merges.Calls:N0} merges", $"p50 {Report.Micros(merges.P50)}, p99 {Report.Micros(merges.P99)}",
                $"empty call p99 {Report.Micros(empty)}", merges.P99 / empty, SharedHost.Reported("profile-alone"), null),
        ];
    }

    /// <summary>
    /// Waits until the last of <paramref name="people"/> streamed people has a profile showing its
    /// interaction: the bus delivers a subscription's events in outbox order, so every earlier one was handled too.
    /// </summary>
    public static async Task WaitUntilHandledAsync(ProfileService.ProfileServiceClient client, int people, TimeSpan timeout)
    {
        var last = new Identifier { Kind = IdentifierKind.AnonymousId, Value = Population.AnonymousId(people - 1) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var found = await client.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(last) });
                if (found.Profile.LastInteractionTime is not null)
                {
                    return;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The profile service had not handled the last of {people:N0} interactions after {deadline.Elapsed.TotalSeconds:0} s.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// How many of the streamed people have a profile: the bus hands the events over in stream order, so
    /// person <c>i</c> having one means the ones before have too, and a binary search over lookups finds the edge.
    /// </summary>
    private static async Task<int> HandledSoFarAsync(ProfileService.ProfileServiceClient client, int people)
    {
        var (low, high) = (0, people);
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (await HasProfileAsync(client, middle))
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private static async Task<bool> HasProfileAsync(ProfileService.ProfileServiceClient client, int person)
    {
        try
        {
            await client.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = Population.AnonymousId(person) }) });
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }
}
