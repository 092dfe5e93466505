using System.Globalization;

namespace Journey.Benchmarks;

/// <summary>
/// Command-line settings: <c>--quick</c> (short phases, small data sets), <c>--only a,b</c>,
/// <c>--people N</c> and <c>--rate N</c> (journey simulation), and size overrides
/// <c>--touchpoints</c>, <c>--interactions</c>, <c>--subjects</c>, <c>--contents</c>; <c>--keep-data</c>
/// leaves the run's databases behind for a look afterwards; <c>--jit-host</c> starts the host from the
/// build output instead of a ReadyToRun publish.
/// </summary>
public sealed class Settings
{
    public bool Quick { get; private init; }

    public TimeSpan Warmup => Quick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(2);

    public TimeSpan Duration => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);

    /// <summary>The run's data folder: every host's databases, several GB at the default sizes.</summary>
    public Journey.Testing.ScratchDirectory ScratchDirectory { get; } = new("journey-bench-");

    public string Scratch => ScratchDirectory.Path;

    /// <summary>Keep <see cref="Scratch"/> after the run instead of deleting it.</summary>
    public bool KeepData { get; private init; }

    /// <summary>Start the host from the benchmark's build output (JIT only) rather than a ReadyToRun publish.</summary>
    public bool JitHost { get; private init; }

    /// <summary>Touchpoints in the catalog (issue size 50,000).</summary>
    public int Touchpoints { get; private init; }

    /// <summary>Interactions streamed, each from a distinct person, so also the number of profiles (issue size 1,000,000).</summary>
    public int Interactions { get; private init; }

    /// <summary>Consent subjects recorded (issue size 1,000,000).</summary>
    public int Subjects { get; private init; }

    /// <summary>Content items in the library (issue size 100,000).</summary>
    public int Contents { get; private init; }

    /// <summary>Synthetic people in the journey simulation.</summary>
    public int People { get; private init; }

    /// <summary>Target journey steps per second in the simulation.</summary>
    public int Rate { get; private init; }

    private string[] Only { get; init; } = [];

    /// <summary>Every scenario at the default sizes: the run the 10-minute budget is for.</summary>
    public bool Whole { get; private init; }

    public bool Selected(string scenario) => Only.Length == 0 || Only.Contains(scenario, StringComparer.OrdinalIgnoreCase);

    public static Settings Parse(string[] args)
    {
        var quick = args.Contains("--quick");
        var only = Array.IndexOf(args, "--only");
        string[] sizes = ["--touchpoints", "--interactions", "--subjects", "--contents", "--people", "--rate"];
        return new Settings
        {
            Quick = quick,
            KeepData = args.Contains("--keep-data"),
            JitHost = args.Contains("--jit-host"),
            Whole = !quick && only < 0 && !sizes.Any(args.Contains),
            Only = only >= 0 && only + 1 < args.Length ? args[only + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [],
            Touchpoints = Number(args, "--touchpoints", quick ? 2_000 : 50_000),
            Interactions = Number(args, "--interactions", quick ? 50_000 : 1_000_000),
            Subjects = Number(args, "--subjects", quick ? 5_000 : 1_000_000),
            Contents = Number(args, "--contents", quick ? 2_000 : 100_000),
            People = Number(args, "--people", quick ? 500 : 10_000),
            Rate = Number(args, "--rate", quick ? 500 : 1_000),
        };
    }

    private static int Number(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], NumberStyles.AllowThousands, CultureInfo.InvariantCulture) : fallback;
    }
}
