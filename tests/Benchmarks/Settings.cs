namespace Journey.Benchmarks;

/// <summary>Command-line settings: <c>--quick</c> (short phases, small data sets) and <c>--only a,b</c>.</summary>
public sealed class Settings
{
    public bool Quick { get; private init; }

    public TimeSpan Warmup => Quick ? TimeSpan.FromSeconds(0.5) : TimeSpan.FromSeconds(2);

    public TimeSpan Duration => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);

    public string Scratch { get; } = Directory.CreateTempSubdirectory("journey-bench-").FullName;

    private string[] Only { get; init; } = [];

    public bool Selected(string scenario) => Only.Length == 0 || Only.Contains(scenario, StringComparer.OrdinalIgnoreCase);

    public static Settings Parse(string[] args)
    {
        var only = Array.IndexOf(args, "--only");
        return new Settings
        {
            Quick = args.Contains("--quick"),
            Only = only >= 0 && only + 1 < args.Length ? args[only + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [],
        };
    }
}
