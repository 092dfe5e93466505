namespace Journey.Cli;

/// <summary>What the tool reads from its process, injectable so tests never depend on the real one.</summary>
public sealed class CliEnvironment
{
    /// <summary>Reads an environment variable (JOURNEY_ADDRESS, JOURNEY_TOKEN).</summary>
    public Func<string, string?> GetVariable { get; init; } = _ => null;

    /// <summary>Whether stderr is a terminal: the progress bar is drawn only then.</summary>
    public bool InteractiveError { get; init; }

    public static CliEnvironment FromProcess() => new()
    {
        GetVariable = Environment.GetEnvironmentVariable,
        InteractiveError = !Console.IsErrorRedirected,
    };
}
