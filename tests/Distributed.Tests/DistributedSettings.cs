namespace Journey.Distributed.Tests;

/// <summary>
/// Where the distributed environment of <c>tests/distributed/run.sh</c> is: the environment variable
/// <see cref="Variable"/> holds <c>key=value</c> pairs separated by <c>;</c> (a value may contain
/// <c>=</c>, as connection strings do; the first one separates key from value).
/// </summary>
public sealed class DistributedSettings
{
    /// <summary>The environment variable the script sets.</summary>
    public const string Variable = "JOURNEY_TEST_DISTRIBUTED";

    /// <summary>The keys the script sets, each required by some scenario.</summary>
    public static readonly IReadOnlyList<string> Keys =
        ["touchpoint", "touchpoint2", "profile", "consent", "recommendation", "token", "valkey", "valkeyPassword", "touchpointMongo", "pubsub", "control"];

    private readonly IReadOnlyDictionary<string, string> _values;

    private DistributedSettings(IReadOnlyDictionary<string, string> values) => _values = values;

    /// <summary>Whether the variable is set at all; the scenarios skip, with the reason, when it is not.</summary>
    public static bool Configured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The settings of this process's environment; throws when the variable is missing or malformed.</summary>
    public static DistributedSettings FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable(Variable)) ?? throw new InvalidOperationException($"{Variable} is not set.");

    /// <summary>Reads <paramref name="text"/>; null when it is empty. Throws <see cref="FormatException"/> naming the first bad entry.</summary>
    public static DistributedSettings? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"{Variable}: '{entry}' is not key=value.");
            }

            var key = entry[..equals];
            if (!Keys.Contains(key))
            {
                throw new FormatException($"{Variable}: unknown key '{key}' (known: {string.Join(", ", Keys)}).");
            }

            if (!values.TryAdd(key, entry[(equals + 1)..]))
            {
                throw new FormatException($"{Variable}: '{key}' is given twice.");
            }
        }

        var missing = Keys.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            throw new FormatException($"{Variable}: missing {string.Join(", ", missing)}.");
        }

        return new DistributedSettings(values);
    }

    /// <summary>The gRPC address of the first touchpoint replica.</summary>
    public string Touchpoint => _values["touchpoint"];

    /// <summary>The gRPC address of the second touchpoint replica (the same store).</summary>
    public string Touchpoint2 => _values["touchpoint2"];

    /// <summary>The gRPC address of the profile service.</summary>
    public string Profile => _values["profile"];

    /// <summary>The gRPC address of the consent service.</summary>
    public string Consent => _values["consent"];

    /// <summary>The gRPC address of the recommendation service.</summary>
    public string Recommendation => _values["recommendation"];

    /// <summary>A development token every service accepts, with every scope.</summary>
    public string Token => _values["token"];

    /// <summary>Valkey's <c>host:port</c>.</summary>
    public string Valkey => _values["valkey"];

    /// <summary>Valkey's password.</summary>
    public string ValkeyPassword => _values["valkeyPassword"];

    /// <summary>A root connection string of the touchpoint service's replica set.</summary>
    public string TouchpointMongo => _values["touchpointMongo"];

    /// <summary>The pub/sub component file the sidecars loaded.</summary>
    public string PubSubComponent => _values["pubsub"];

    /// <summary>The folder through which the scenarios ask the script to pause and unpause a store.</summary>
    public string ControlDirectory => _values["control"];
}

/// <summary>
/// A scenario that needs the distributed environment: reported as skipped, with the reason, unless
/// <see cref="DistributedSettings.Variable"/> is set, so a green run never hides that it did not run.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DistributedFactAttribute : FactAttribute
{
    /// <summary>The skip reason.</summary>
    public const string SkipReason =
        $"Distributed scenario skipped: set {DistributedSettings.Variable} to run it; tests/distributed/run.sh starts MongoDB, Valkey and the Dapr sidecars on Docker and sets it.";

    /// <summary>Skips unless the environment is configured.</summary>
    public DistributedFactAttribute()
    {
        if (!DistributedSettings.Configured)
        {
            Skip = SkipReason;
        }
    }
}
