namespace Journey.Cli;

/// <summary>The process exit codes; scripts branch on them, so they never change meaning.</summary>
public static class ExitCodes
{
    /// <summary>Everything succeeded.</summary>
    public const int Ok = 0;

    /// <summary>The command line was wrong: unknown command, missing or malformed option.</summary>
    public const int Usage = 2;

    /// <summary>An input file could not be read, or some of its lines or rows were rejected.</summary>
    public const int InputFile = 3;

    /// <summary>The server answered with an error status.</summary>
    public const int Server = 4;

    /// <summary>The server could not be reached, or did not answer before the deadline.</summary>
    public const int Unavailable = 5;

    /// <summary>The server refused the call: no token, or a token without the needed scope.</summary>
    public const int Unauthenticated = 6;
}

/// <summary>A failure the user can act on; its message is printed as one line, never a stack trace.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);

    public static CliException Input(string message) => new(ExitCodes.InputFile, message);
}
