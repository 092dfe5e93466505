using System.Diagnostics;
using System.Runtime.InteropServices;
using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// The host the container image runs: published ReadyToRun for this machine's runtime identifier, as
/// k8s/README.md builds the image. A freshly started host that only JIT-compiles had 10-40 % of its
/// CPU samples in the JIT for its first ten seconds (perf, profile-alone), so measuring the build
/// output would charge every scenario that starts a host with work production does not do.
/// </summary>
public static class PublishedHost
{
    /// <summary>Publishes services/Host into <paramref name="directory"/>; returns the runtime identifier and how long it took.</summary>
    public static async Task<(string RuntimeIdentifier, TimeSpan Took)> PublishAsync(string directory)
    {
        var clock = Stopwatch.StartNew();
        var runtime = RuntimeInformation.RuntimeIdentifier;
        var (exitCode, output) = await Command.RunAsync(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            Repository.Root,
            ["publish", Path.Combine(Repository.Root, "services", "Host", "Journey.Host.csproj"), "-c", "Release", "-r", runtime, "--self-contained", "false",
                "-p:PublishReadyToRun=true", "-o", directory, "--nologo"],
            TimeSpan.FromMinutes(10));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Publishing the host ReadyToRun failed (exit {exitCode}); run with --jit-host to measure the build output instead.\n{output}");
        }

        return (runtime, clock.Elapsed);
    }
}
