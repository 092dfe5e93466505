using System.Diagnostics;
using System.Runtime.InteropServices;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// The host the container image runs: published ReadyToRun for this machine's runtime identifier, as
/// k8s/README.md builds the image. A freshly started host that only JIT-compiles spent a quarter to
/// a third of a core on the JIT for its first ten seconds (perf, profile-alone), so measuring the
/// build output would charge every scenario that starts a host with work production does not do.
/// </summary>
public static class PublishedHost
{
    /// <summary>Publishes services/Host into <paramref name="directory"/>; returns how long it took.</summary>
    public static async Task<TimeSpan> PublishAsync(string directory)
    {
        var clock = Stopwatch.StartNew();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repository.Root,
        };
        foreach (var argument in new[]
        {
            "publish", Path.Combine(Repository.Root, "services", "Host", "Journey.Host.csproj"),
            "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier, "--self-contained", "false",
            "-p:PublishReadyToRun=true", "-o", directory, "--nologo",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet publish did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Publishing the host ReadyToRun failed (exit {process.ExitCode}); run with --jit-host to measure the build output instead.\n{await output}{await errors}");
        }

        return clock.Elapsed;
    }
}
