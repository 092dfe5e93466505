using System.Diagnostics;

namespace Journey.Testing;

/// <summary>Runs a command-line tool (buf, git, dotnet publish) and collects its exit code and combined output.</summary>
public static class Command
{
    /// <summary>Runs <paramref name="fileName"/>; a run that outlasts <paramref name="timeout"/> (2 minutes unless given) is killed and reported.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string workingDirectory, IReadOnlyList<string> arguments, TimeSpan? timeout = null)
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

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        using var expiry = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(expiry.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {limit.TotalMinutes:0} minutes.");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
