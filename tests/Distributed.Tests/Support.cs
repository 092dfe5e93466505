using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using Journey.Events.V1;
using Xunit.Abstractions;

namespace Journey.Distributed.Tests;

/// <summary>Waits for a distributed outcome by looking again, never by sleeping a guessed time.</summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Probes until <paramref name="reached"/> holds or <paramref name="timeout"/> passes, and returns
    /// the last value either way, for the caller to assert on exactly (so a failure shows what was seen).
    /// </summary>
    public static async Task<T> ReachAsync<T>(string what, Func<Task<T>> probe, Func<T, bool> reached, TimeSpan timeout, ITestOutputHelper output)
    {
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        while (true)
        {
            var value = await probe();
            if (reached(value) || clock.Elapsed >= timeout)
            {
                output.WriteLine($"{what}: {value} after {clock.Elapsed.TotalSeconds:0.0} s{(reached(value) ? "" : " (gave up)")}");
                return value;
            }

            if (clock.Elapsed - reported >= ReportEvery)
            {
                reported = clock.Elapsed;
                output.WriteLine($"{what}: {value} after {clock.Elapsed.TotalSeconds:0} s, still waiting");
            }

            await Task.Delay(Interval);
        }
    }
}

/// <summary>The outcome of one of many concurrent calls: its reply, or the status it failed with.</summary>
public sealed record CallOutcome<T>(T? Reply, StatusCode Status, string Detail) where T : class;

/// <summary>Many calls at once, each outcome kept, so a test can say exactly how many failed and how.</summary>
public static class Concurrently
{
    /// <summary>Starts every call before awaiting any.</summary>
    public static async Task<IReadOnlyList<CallOutcome<T>>> RunAsync<T>(IEnumerable<Func<Task<T>>> calls) where T : class =>
        await Task.WhenAll(calls.Select(async call =>
        {
            try
            {
                return new CallOutcome<T>(await call(), StatusCode.OK, "");
            }
            catch (RpcException e)
            {
                return new CallOutcome<T>(null, e.StatusCode, e.Status.Detail);
            }
        }).ToList());

    /// <summary>Fails unless every call succeeded, naming each failing status (INTERNAL first) with a count and an example.</summary>
    public static void AssertAllSucceeded<T>(IReadOnlyList<CallOutcome<T>> outcomes, string what) where T : class
    {
        var failed = outcomes.Where(o => o.Status != StatusCode.OK)
            .GroupBy(o => o.Status)
            .OrderByDescending(g => g.Key == StatusCode.Internal)
            .Select(g => $"{g.Key} x{g.Count()} (e.g. \"{g.First().Detail}\")")
            .ToList();
        Assert.True(failed.Count == 0, $"{outcomes.Count(o => o.Status != StatusCode.OK)} of {outcomes.Count} {what} failed: {string.Join("; ", failed)}");
    }
}

/// <summary>What the scenarios read from the broker's streams, as Dapr's Redis Streams component writes them.</summary>
public static partial class Broker
{
    /// <summary>
    /// Slack over <c>maxLenApprox</c>: with <c>MAXLEN ~</c> Valkey trims only whole stream nodes, of
    /// <c>stream-node-max-entries</c> entries (100 by default; k8s/components/valkey/valkey.conf keeps it).
    /// </summary>
    public const long TrimSlack = 100;

    /// <summary>
    /// The <c>maxLenApprox</c> a pub/sub component sets, or null when it sets none. Only this form is
    /// read: <c>- name: maxLenApprox</c> followed by <c>value: N</c> (quoted or not).
    /// </summary>
    public static long? MaxLenApprox(string componentYaml)
    {
        var match = MaxLenPattern().Match(componentYaml);
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The CloudEvent id of a stream entry: the publisher's event id (Dapr keeps <c>cloudevent.id</c>).</summary>
    public static string CloudEventId(StreamEntry entry)
    {
        if (!entry.Fields.TryGetValue("data", out var data))
        {
            throw new InvalidOperationException($"Stream entry {entry.Id} has no 'data' field: {string.Join(", ", entry.Fields.Keys)}");
        }

        using var cloudEvent = JsonDocument.Parse(data);
        return cloudEvent.RootElement.GetProperty("id").GetString() ?? "";
    }

    /// <summary>
    /// The event envelope a stream entry carries: the CloudEvent's <c>data_base64</c> (how Dapr carries
    /// binary data), or a base64 string in <c>data</c>. Throws, naming the entry, for anything else.
    /// </summary>
    public static EventEnvelope Envelope(StreamEntry entry)
    {
        using var cloudEvent = JsonDocument.Parse(entry.Fields.GetValueOrDefault("data") ?? "{}");
        var root = cloudEvent.RootElement;
        var encoded = root.TryGetProperty("data_base64", out var base64) ? base64 : root.TryGetProperty("data", out var data) ? data : default;
        if (encoded.ValueKind != JsonValueKind.String)
        {
            throw new InvalidOperationException($"Stream entry {entry.Id} carries no binary data: {Describe(entry.Fields.GetValueOrDefault("data") ?? "")}");
        }

        try
        {
            return EventEnvelope.Parser.ParseFrom(Convert.FromBase64String(encoded.GetString()!));
        }
        catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
        {
            throw new InvalidOperationException($"Stream entry {entry.Id} does not hold an event envelope ({e.Message}): {Describe(entry.Fields["data"])}", e);
        }
    }

    /// <summary>Every dead-letter stream holding an entry, with its length and the first entry's CloudEvent type and id.</summary>
    public static async Task<IReadOnlyList<string>> DeadLettersAsync(ValkeyClient valkey)
    {
        var found = new List<string>();
        foreach (var key in (await valkey.KeysAsync("*.dead-letter")).Order(StringComparer.Ordinal))
        {
            var length = await valkey.XLenAsync(key);
            if (length == 0)
            {
                continue;
            }

            var first = (await valkey.XRangeAsync(key, "-", "+", 1))[0];
            var description = first.Fields.TryGetValue("data", out var data) ? Describe(data) : "no data field";
            found.Add($"{key}: {length} (first: {description})");
        }

        return found;
    }

    private static string Describe(string cloudEvent)
    {
        try
        {
            using var document = JsonDocument.Parse(cloudEvent);
            var root = document.RootElement;
            string Text(string name) => root.TryGetProperty(name, out var value) ? value.ToString() : "?";
            return $"type {Text("type")}, id {Text("id")}, datacontenttype {Text("datacontenttype")}";
        }
        catch (JsonException)
        {
            return "not JSON";
        }
    }

    [GeneratedRegex(@"-\s*name:\s*maxLenApprox\s*\r?\n\s*value:\s*[""']?(\d+)[""']?")]
    private static partial Regex MaxLenPattern();
}
