using System.Globalization;
using System.Text.Json.Nodes;

namespace Journey.Deployment.Tests;

/// <summary>
/// The Dapr settings hold under the rules of the Dapr version Journey runs (1.16.9 with
/// components-contrib 1.16.9), as their sources define them; k8s/README.md ("Events through Dapr")
/// names the source files. Each test reads the cluster's render and the laptop's resources.
/// </summary>
public sealed class DaprRuleTests
{
    // dapr/kit retry.Config over cenkalti/backoff v4 (Dapr's exponential retry): the first wait is
    // 0.5 s, each next one 1.5 times the last up to maxInterval, each randomised to between 0.5 and
    // 1.5 times its value, and the policy stops once 15 minutes have passed. A Resiliency resource
    // can set only maxInterval and maxRetries.
    private const double InitialWaitSeconds = 0.5;
    private const double Multiplier = 1.5;
    private const double Randomization = 0.5;
    private static readonly TimeSpan MaxElapsed = TimeSpan.FromMinutes(15);

    /// <summary>How long a delivery must keep being retried: a MongoDB replica set's election takes seconds, a restarted or rescheduled member minutes.</summary>
    private static readonly TimeSpan StoreOutage = TimeSpan.FromMinutes(5);

    /// <summary>The size of one stream entry (a CloudEvent around one of Journey's events, with its metadata) the broker's memory is planned for.</summary>
    private const long AssumedEntryBytes = 2048;

    private static readonly string[] LocalResources = ["k8s/dapr-local/config.yaml", "k8s/dapr-local/resources/pubsub.yaml", "k8s/dapr-local/resources/resiliency.yaml"];

    public static TheoryData<string> Sources => new(Manifests.Base, "k8s/dapr-local");

    [SkippableTheory]
    [MemberData(nameof(Sources))]
    public void Resiliency_PubSubComponent_HasNoCircuitBreaker(string source)
    {
        // pkg/resiliency/resiliency.go: ComponentInboundPolicy and ComponentOutboundPolicy both take
        // their breaker from componentCBs.Get(name), one breaker per component name, so a breaker
        // opened by failing deliveries also refuses the outbox's publishes and the dead letters.
        var resiliency = Load(source).Find("Resiliency", "journey");
        var components = resiliency.Get("spec", "targets", "components") as JsonObject ?? [];

        var withBreakers = components
            .SelectMany(c => new[] { "inbound", "outbound" }.Where(d => c.Value.Str(d, "circuitBreaker") is not null).Select(d => $"spec.targets.components.{c.Key}.{d}.circuitBreaker"))
            .ToList();

        Assert.True(withBreakers.Count == 0, $"{source}: {string.Join(", ", withBreakers)}: Dapr keeps one breaker per component for both directions");
    }

    [SkippableTheory]
    [MemberData(nameof(Sources))]
    public void Resiliency_Deliveries_OutlastAStoreOutageAndEndBeforeTheBrokerHandsThemOutAgain(string source)
    {
        var set = Load(source);
        var spec = set.Find("Resiliency", "journey")?["spec"];
        var inbound = spec.Get("targets", "components", "journey-pubsub", "inbound");
        var retry = spec.Get("policies", "retries", inbound.Str("retry") ?? "");
        var handlerTimeout = Duration(spec.Str("policies", "timeouts", inbound.Str("timeout") ?? ""));
        var processingTimeout = Duration(Metadata(set, "processingTimeout"));
        Assert.Equal("exponential", retry.Str("policy"));

        var (least, most) = ExponentialWaits(Duration(retry.Str("maxInterval")), retry.Number("maxRetries") ?? 0);
        var tries = (retry.Number("maxRetries") ?? 0) + 1;
        var longest = Min(most + (tries * handlerTimeout), MaxElapsed + handlerTimeout);

        Assert.True(least >= StoreOutage, $"{source}: the delivery retries wait at least {least.TotalMinutes:0.0} min in all; a store outage of {StoreOutage.TotalMinutes} min would dead-letter events");
        Assert.True(longest < processingTimeout, $"{source}: one delivery may take {longest.TotalMinutes:0.0} min with its retries, not less than processingTimeout ({processingTimeout.TotalMinutes} min): the broker would hand it out again while it is retried");
    }

    [SkippableFact]
    public void PubSub_EveryStreamAtItsTrimmedLength_FitsTheBrokersMemory()
    {
        var set = Manifests.Of(Manifests.Dev);
        var streams = Metadata(set, "allowedTopics")!.Split(',', StringSplitOptions.RemoveEmptyEntries).Length;
        var length = long.Parse(Metadata(set, "maxLenApprox") ?? "0", CultureInfo.InvariantCulture);
        var conf = set.OfKind("ConfigMap").Select(m => m.Str("data", "valkey.conf")).Single(c => c is not null)!;
        var settings = conf.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        var maxMemory = RedisBytes(settings.GetValueOrDefault("maxmemory"));
        var limit = Policies.Bytes(set.Find("StatefulSet", "valkey").Items("spec", "template", "spec", "containers").First().Str("resources", "limits", "memory"));

        // pubsub/redis/redis.go Publish: XADD with MAXLEN ~ maxLenApprox when it is set (and
        // nothing is ever trimmed when it is not); acknowledged entries stay otherwise.
        Assert.True(length > 20_000, $"maxLenApprox is {length}: streams must be trimmed, to more entries than one touchpoint stream transaction (20,000)");
        Assert.True(streams * length * AssumedEntryBytes <= maxMemory, $"{streams} streams of {length} entries of {AssumedEntryBytes} bytes need more than Valkey's maxmemory ({maxMemory} bytes)");
        Assert.True(maxMemory <= limit * 0.75, $"maxmemory ({maxMemory} bytes) leaves too little of the container's limit ({limit} bytes) for the append-only file's rewrite");
        Assert.Equal("noeviction", settings.GetValueOrDefault("maxmemory-policy"));
    }

    [SkippableTheory]
    [MemberData(nameof(Sources))]
    public void Configuration_ApiAllowlist_RestrictsHttpAsWellAsGrpc(string source)
    {
        // pkg/api/http/server.go setupRoutes and endpoints/endpoint.go IsAllowed: an HTTP allowlist
        // without entries allows every HTTP API; pkg/api/grpc/endpoints.go does the same for gRPC.
        // pkg/config/configuration.go GetRulesByProtocol: a rule without a protocol counts for neither.
        var rules = Load(source).Find("Configuration", "journey").Items("spec", "api", "allowed").ToList();

        Assert.NotEmpty(rules);
        Assert.All(rules, r => Assert.Contains(r.Str("protocol"), new[] { "http", "grpc" }));
        Assert.Contains(rules, r => r.Str("protocol") == "http");
        Assert.Contains(rules, r => r.Str("protocol") == "grpc");
    }

    private static ManifestSet Load(string source) => source == Manifests.Base ? Manifests.Of(Manifests.Base) : Manifests.ReadFiles(LocalResources);

    private static string? Metadata(ManifestSet set, string name) =>
        set.Find("Component", "journey-pubsub").Items("spec", "metadata").FirstOrDefault(m => m.Str("name") == name).Str("value");

    private static (TimeSpan Least, TimeSpan Most) ExponentialWaits(TimeSpan maxInterval, int retries)
    {
        double wait = InitialWaitSeconds, least = 0, most = 0;
        for (var i = 0; i < retries; i++)
        {
            least += wait * (1 - Randomization);
            most += wait * (1 + Randomization);
            wait = Math.Min(wait * Multiplier, maxInterval.TotalSeconds);
        }

        return (TimeSpan.FromSeconds(least), TimeSpan.FromSeconds(most));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>A Go duration of whole units (90s, 5m, 1h).</summary>
    private static TimeSpan Duration(string? text)
    {
        Assert.False(string.IsNullOrEmpty(text), "duration missing");
        var number = double.Parse(text!.TrimEnd('h', 'm', 's'), CultureInfo.InvariantCulture);
        return text[^1] switch
        {
            'h' => TimeSpan.FromHours(number),
            'm' => TimeSpan.FromMinutes(number),
            _ => TimeSpan.FromSeconds(number),
        };
    }

    /// <summary>A Redis memory setting: 1k is 1000 bytes, 1kb 1024 (and so on for m, g).</summary>
    private static long RedisBytes(string? text)
    {
        var value = (text ?? "0").ToLowerInvariant();
        var units = new (string Suffix, long Factor)[] { ("gb", 1L << 30), ("mb", 1L << 20), ("kb", 1L << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1), ("", 1) };
        var (suffix, factor) = units.First(u => value.EndsWith(u.Suffix, StringComparison.Ordinal));
        return long.Parse(value[..^suffix.Length], CultureInfo.InvariantCulture) * factor;
    }
}
