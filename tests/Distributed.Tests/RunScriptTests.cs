using System.Text.Json;
using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Distributed.Tests;

/// <summary>
/// The parts of tests/distributed/run.sh that need no Docker, run on every machine: the script
/// parses, and the Dapr resources it gives the sidecars are the cluster's.
/// </summary>
public sealed partial class RunScriptTests : IDisposable
{
    private const string Script = "tests/distributed/run.sh";
    private readonly ScratchDirectory _output = new("journey-dapr-render-");

    public void Dispose() => _output.Dispose();

    [Fact]
    public async Task RunScript_WhenReadByBash_HasNoSyntaxError()
    {
        var (exitCode, output) = await Command.RunAsync("bash", Repository.Root, ["-n", Script]);

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public async Task RenderOnly_WhenRun_GivesTheSidecarsTheClusterComponentWithItsSecretFromTheFileStore()
    {
        var rendered = await RenderAsync("p4ss");

        var cluster = await File.ReadAllTextAsync(RepositoryFile("k8s/base/dapr/pubsub.yaml"));
        var pubsub = await File.ReadAllTextAsync(Path.Combine(rendered, "resources/pubsub.yaml"));
        Assert.Equal((cluster.EndsWith('\n') ? cluster : cluster + "\n") + "auth:\n  secretStore: journey-secrets\n", pubsub);
        var reference = SecretKeyRef().Match(cluster);
        Assert.True(reference.Success, "k8s/base/dapr/pubsub.yaml reads no secretKeyRef (name, key)");
        var store = await File.ReadAllTextAsync(Path.Combine(rendered, "resources/secretstore.yaml"));
        Assert.Contains("name: journey-secrets", store);
        Assert.Contains("value: /dapr/secrets/secrets.json", store);
        using var secrets = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(rendered, "secrets/secrets.json")));
        Assert.Equal("p4ss", secrets.RootElement.GetProperty(reference.Groups["name"].Value).GetProperty(reference.Groups["key"].Value).GetString());
    }

    [Fact]
    public async Task RenderOnly_WhenRun_KeepsTheClusterResiliencyAndApiAllowlistAndDropsTracingAndAccessControl()
    {
        var rendered = await RenderAsync("x");

        Assert.Equal(
            await File.ReadAllTextAsync(RepositoryFile("k8s/base/dapr/resiliency.yaml")),
            await File.ReadAllTextAsync(Path.Combine(rendered, "resources/resiliency.yaml")));
        var cluster = await File.ReadAllLinesAsync(RepositoryFile("k8s/base/dapr/configuration.yaml"));
        var configuration = await File.ReadAllLinesAsync(Path.Combine(rendered, "configuration.yaml"));
        Assert.DoesNotContain(configuration, l => l.StartsWith("  tracing:", StringComparison.Ordinal) || l.StartsWith("  accessControl:", StringComparison.Ordinal));
        Assert.Equal(Block(cluster, "  api:"), Block(configuration, "  api:"));
        Assert.Equal(Block(cluster, "  metrics:"), Block(configuration, "  metrics:"));
        Assert.Equal(cluster.TakeWhile(l => l != "spec:"), configuration.TakeWhile(l => l != "spec:"));
    }

    [Fact]
    public async Task RenderOnly_WhenRun_NamesTheImagesTheClusterPins()
    {
        var rendered = await RenderAsync("x");

        var images = (await File.ReadAllLinesAsync(Path.Combine(rendered, "images"))).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var mongo = Directory.GetFiles(RepositoryFile("k8s/components/mongodb"), "*.yaml")
            .SelectMany(f => Image().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Where(i => i.StartsWith("mongo:", StringComparison.Ordinal)).Distinct().ToList();
        Assert.Equal([images["mongo"]], mongo);
        Assert.Equal(Image().Match(await File.ReadAllTextAsync(RepositoryFile("k8s/components/valkey/valkey.yaml"))).Groups[1].Value, images["valkey"]);
        Assert.Matches(@"^daprio/daprd:\d+\.\d+\.\d+$", images["daprd"]);
        Assert.Contains($"--version {images["daprd"].Split(':')[1]} -f k8s/platform/dapr-values.yaml", await File.ReadAllTextAsync(RepositoryFile("k8s/README.md")));
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", images["aspnet"]);
    }

    private async Task<string> RenderAsync(string password)
    {
        var directory = Path.Combine(_output.Path, Guid.NewGuid().ToString("N"));
        var start = new System.Diagnostics.ProcessStartInfo("bash") { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add("--render-only");
        start.ArgumentList.Add(directory);
        start.Environment["VALKEY_PASSWORD"] = password;
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{Script} --render-only failed: {output}");
        return directory;
    }

    private static string RepositoryFile(string path) => Path.Combine(Repository.Root, path);

    /// <summary>The lines of the block that starts with <paramref name="header"/>: it and every deeper-indented line after it.</summary>
    private static List<string> Block(IEnumerable<string> lines, string header) =>
        lines.SkipWhile(l => l != header).Take(1)
            .Concat(lines.SkipWhile(l => l != header).Skip(1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)))
            .ToList();

    [GeneratedRegex(@"secretKeyRef:\s*\n\s*name:\s*(?<name>\S+)\s*\n\s*key:\s*(?<key>\S+)")]
    private static partial Regex SecretKeyRef();

    [GeneratedRegex(@"image:\s*([^\s""]+)")]
    private static partial Regex Image();
}
