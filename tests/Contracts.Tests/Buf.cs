using Journey.Testing;

namespace Journey.Contracts.Tests;

/// <summary>Runs the buf binary that tests/tooling installs from npm.</summary>
internal static class Buf
{
    public static string Executable { get; } = Path.Combine(Repository.Root, "tests", "tooling", "node_modules", ".bin", OperatingSystem.IsWindows() ? "buf.cmd" : "buf");

    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] arguments) =>
        Command.RunAsync(Executable, workingDirectory, arguments);
}
