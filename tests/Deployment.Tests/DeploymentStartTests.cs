using Grpc.Health.V1;
using Journey.Host;
using Xunit.Abstractions;

namespace Journey.Deployment.Tests;

/// <summary>
/// Every Deployment of every overlay, started as its container would be (<see cref="ContainerRun"/>),
/// gets past the host's configuration validation and serves health <c>live</c>. What the manifests
/// give a container and what the host requires at start-up are otherwise only connected in a cluster.
/// </summary>
public sealed class DeploymentStartTests(DeploymentStarts starts, ITestOutputHelper output) : IClassFixture<DeploymentStarts>
{
    /// <summary>Every folder under k8s/overlays.</summary>
    public static IReadOnlyList<string> OverlayPaths => [.. Directory.GetDirectories(Path.Combine(Repository.Root, "k8s", "overlays"))
        .Select(d => $"k8s/overlays/{Path.GetFileName(d)}").Order(StringComparer.Ordinal)];

    public static TheoryData<string> Overlays => new(OverlayPaths);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryDeployment_StartedAsRendered_GetsPastConfigurationValidation(string overlay)
    {
        var runs = await starts.OfAsync(overlay);
        Report(runs);

        var refused = runs.Where(r => r.Outcome is not (ContainerOutcome.Listening or ContainerOutcome.StoppedPreparingStore)).ToList();
        Assert.True(refused.Count == 0, string.Join(Environment.NewLine, refused.Select(r => r.Summary)));
    }

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryDeployment_StartedAsRendered_ServesLive(string overlay)
    {
        var runs = await starts.OfAsync(overlay);
        Report(runs);

        var failed = runs.Where(r => r.Outcome != ContainerOutcome.Listening || r.Live != HealthCheckResponse.Types.ServingStatus.Serving).ToList();
        Assert.True(failed.Count == 0, string.Join(Environment.NewLine, failed.Select(r => r.Summary)));
    }

    /// <summary>Every Deployment listens for HTTP/1.1 too (JSON over HTTP, the tracking API), and answers its liveness there.</summary>
    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryDeployment_StartedAsRendered_ServesLiveOverHttp1(string overlay)
    {
        var runs = await starts.OfAsync(overlay);
        Report(runs);

        Assert.Equal(JourneyServices.All.Select(m => m.Name).Order(StringComparer.Ordinal), runs.Select(r => r.Id[(r.Id.LastIndexOf('/') + 1)..]).Order(StringComparer.Ordinal));
        Assert.All(runs, r =>
        {
            Assert.True(r.HttpAddress is not null, r.Summary);
            Assert.True(r.HttpLive == 200, $"{r.Id}: GET /healthz/live on {r.HttpAddress} answered {r.HttpLive}");
        });
    }

    /// <summary>
    /// Every rendered Deployment uses MongoDB, which is unreachable here, as it is while a replica set
    /// is still forming: the host starts anyway, serves <c>live</c> (so the kubelet does not restart
    /// it), and answers <c>ready</c> NOT_SERVING naming its store's index check until the indexes exist.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public async Task EveryDeployment_WithItsMongoDbUnreachable_IsLiveAndNotReadyUntilItsIndexesExist(string overlay)
    {
        var runs = await starts.OfAsync(overlay);
        Report(runs);

        foreach (var run in runs)
        {
            var service = run.Id[(run.Id.LastIndexOf('/') + 1)..];
            Assert.True(run.Outcome == ContainerOutcome.Listening, run.Summary);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, run.Live);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, run.Ready);
            Assert.Contains($"store:{service}:indexes: ", run.ReadyDetail, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task ProfileDeployment_WithoutTheEncryptionKey_IsRefusedNamingIt()
    {
        var set = Check.With(Manifests.Of(Manifests.Prod), "Deployment", "profile", d =>
        {
            var env = Check.At(d, "spec.template.spec.containers[0]")["env"]!.AsArray();
            env.Remove(env.Single(v => v!["name"]!.GetValue<string>() == "Journey__Privacy__EncryptionKey"));
        });

        var run = Assert.Single(await DeploymentStarts.StartAllAsync(set, starts.Scratch, "profile"));
        Report([run]);

        Assert.Equal(ContainerOutcome.StoppedAtValidation, run.Outcome);
        Assert.Contains("Journey:Privacy:EncryptionKey must be set", run.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("IdentifierHashKey", run.Detail, StringComparison.Ordinal);
    }

    private void Report(IEnumerable<ContainerRun> runs)
    {
        foreach (var run in runs)
        {
            output.WriteLine(run.Summary);
            output.WriteLine($"  overrides: {string.Join("; ", run.Overrides)}");
        }
    }
}

/// <summary>Starts every overlay's Deployments once per test run, all at the same time.</summary>
public sealed class DeploymentStarts : IDisposable
{
    private readonly Lazy<Dictionary<string, Task<IReadOnlyList<ContainerRun>>>> _runs;

    public DeploymentStarts() =>
        _runs = new(() => DeploymentStartTests.OverlayPaths.ToDictionary(o => o, o => Task.Run(() => StartAllAsync(Manifests.Of(o), Scratch))));

    /// <summary>Where the runs keep their data directories; removed on dispose.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("journey-deployments-").FullName;

    public Task<IReadOnlyList<ContainerRun>> OfAsync(string overlay) => _runs.Value[overlay];

    /// <summary>Starts the Deployments of <paramref name="set"/> (those named, or all) at the same time and waits for each.</summary>
    public static async Task<IReadOnlyList<ContainerRun>> StartAllAsync(ManifestSet set, string scratch, params string[] only)
    {
        var unreachable = ContainerRun.UnreachablePort();
        var secrets = new TestSecrets(unreachable);
        var deployments = set.Workloads
            .Where(w => ManifestSet.Kind(w.Resource) == "Deployment" && (only.Length == 0 || only.Contains(ManifestSet.Name(w.Resource))))
            .ToList();
        Assert.NotEmpty(deployments);

        var runs = deployments.Select(deployment =>
        {
            var (container, _, _) = Assert.Single(deployment.Containers, c => !c.IsInit);
            var environment = ContainerEnvironment.Resolve(set, deployment, container, secrets);
            var data = Directory.CreateDirectory(Path.Combine(scratch, $"{ManifestSet.Name(deployment.Resource)}-{Guid.NewGuid():N}")).FullName;
            return ContainerRun.RunAsync($"{set.Source} {deployment.Id}", container, environment, data, unreachable);
        });
        return await Task.WhenAll(runs);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Scratch, recursive: true);
        }
        catch (IOException)
        {
            // A file a stopped process held open goes with the temp folder's own clean-up.
        }
    }
}
