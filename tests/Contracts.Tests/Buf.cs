using System.Diagnostics;
using Journey.Testing;

namespace Journey.Contracts.Tests;

/// <summary>Runs the buf binary that tests/tooling installs from npm.</summary>
internal static class Buf
{
    public static string Executable { get; } = Path.Combine(Repository.Root, "tests", "tooling", "node_modules", ".bin", OperatingSystem.IsWindows() ? "buf.cmd" : "buf");

    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] arguments) =>
        Process.RunAsync(Executable, workingDirectory, arguments);
}

/// <summary>Runs a command and collects its exit code and combined output.</summary>
internal static class Process
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
