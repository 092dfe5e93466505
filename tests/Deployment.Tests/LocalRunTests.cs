using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Journey.Host;
using Xunit.Abstractions;

namespace Journey.Deployment.Tests;

/// <summary>The laptop setup (Dapr multi-app run) and the Dapr control-plane values match the cluster's.</summary>
public sealed partial class LocalRunTests(ITestOutputHelper output)
{
    private static readonly string[] LocalResources =
    [
        "k8s/dapr-local/config.yaml",
        "k8s/dapr-local/resources/pubsub.yaml",
        "k8s/dapr-local/resources/resiliency.yaml",
    ];

    [SkippableFact]
    public void RunFile_StartsEveryServiceOnceWithItsModuleOverH2c()
    {
        var run = Manifests.ReadFiles("k8s/dapr-local/dapr.yaml").Objects.Single();
        var apps = run.Items("apps").ToList();

        Assert.Equal(JourneyServices.Known.Topics.Services.Order(StringComparer.Ordinal), apps.Select(a => a.Str("appID")!).Order(StringComparer.Ordinal));
        Assert.Equal("h2c", run.Str("common", "appProtocol"));
        Assert.Equal("Dapr", run.Str("common", "env", "Journey__Events__Transport"));
        Assert.Equal(
            Manifests.Of(Manifests.Dev).Find("Component", "journey-pubsub") is { } cluster ? ManifestSet.Name(cluster) : null,
            run.Str("common", "env", "Journey__Events__PubSubName"));
        foreach (var app in apps)
        {
            var id = app.Str("appID");
            Assert.Equal(id, app.Str("env", "Journey__Hosting__Modules"));
            Assert.Equal(id, app.Str("env", "OTEL_SERVICE_NAME"));
            Assert.Equal(app.Str("appPort"), app.Str("env", "Journey__Hosting__Port"));
            Assert.Equal("../../services/Host", app.Str("appDirPath"));
        }

        Assert.Equal(apps.Count, apps.Select(a => a.Str("appPort")).Distinct().Count());
        Assert.Equal(apps.Count, apps.Select(a => a.Str("daprHTTPPort")).Distinct().Count());
        Assert.Equal(apps.Count, apps.Select(a => a.Str("daprGRPCPort")).Distinct().Count());
    }

    [Fact]
    public async Task RunFile_EveryAppStartedAsDocumented_GetsPastValidationAndServesLive()
    {
        // The documented start command, in the run file's header and in k8s/README.md: the shell
        // variables it sets reach every app (and, unlike the run file's env, every sidecar).
        var documented = Repository.ReadText("k8s/dapr-local/dapr.yaml").Split('\n')
            .Select(l => l.TrimStart('#', ' ').Trim())
            .Single(l => l.EndsWith("dapr run -f k8s/dapr-local", StringComparison.Ordinal));
        Assert.Contains(documented, Repository.ReadText("k8s/README.md"), StringComparison.Ordinal);
        var shell = ShellAssignment().Matches(documented).ToDictionary(m => m.Groups[1].Value, _ => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));

        var run = Manifests.ReadFiles("k8s/dapr-local/dapr.yaml").Objects.Single();
        var common = (run.Get("common", "env") as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value.Str() ?? "");
        var unreachable = ContainerRun.UnreachablePort();
        var scratch = Directory.CreateTempSubdirectory("journey-dapr-local-");
        try
        {
            var runs = await Task.WhenAll(run.Items("apps").Select(app =>
            {
                Assert.Equal(["dotnet", "run", "--no-build", "--no-launch-profile"], app.Items("command").Select(c => c.Str()!));
                var env = new Dictionary<string, string>(shell);
                foreach (var (name, value) in common.Concat((app.Get("env") as JsonObject ?? []).Select(p => KeyValuePair.Create(p.Key, p.Value.Str() ?? ""))))
                {
                    env[name] = value;
                }

                // All four share one data directory, as in the run file.
                return ContainerRun.RunAsync($"k8s/dapr-local {app.Str("appID")}", [], env, scratch.FullName, unreachable);
            }));

            foreach (var started in runs)
            {
                output.WriteLine(started.Summary);
            }

            Assert.All(runs, r => Assert.True(r.Outcome == ContainerOutcome.Listening && r.Live == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, r.Summary));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void LocalPubSub_IsScopedExactlyLikeTopicsSays() =>
        Check.None(Policies.TopicScoping(Manifests.ReadFiles(LocalResources)), "k8s/dapr-local");

    [SkippableFact]
    public void LocalResiliency_IsTheClustersPolicy()
    {
        var local = Manifests.ReadFiles(LocalResources).Find("Resiliency", "journey");
        var cluster = Manifests.Of(Manifests.Base).Find("Resiliency", "journey");

        Assert.True(JsonNode.DeepEquals(cluster?["spec"], local?["spec"]), "k8s/dapr-local/resources/resiliency.yaml: spec differs from k8s/base/dapr/resiliency.yaml");
        Assert.True(JsonNode.DeepEquals(cluster?["scopes"], local?["scopes"]), "k8s/dapr-local/resources/resiliency.yaml: scopes differ from k8s/base/dapr/resiliency.yaml");
    }

    [SkippableFact]
    public void DaprControlPlaneValues_TurnOnMtlsAndLetSidecarsPassTheRestrictedStandard()
    {
        var values = Manifests.ReadFiles("k8s/platform/dapr-values.yaml").Objects.Single();

        Assert.Equal("true", values.Str("global", "mtls", "enabled"));
        Assert.Equal("true", values.Str("dapr_sidecar_injector", "sidecarDropALLCapabilities"));
        Assert.Equal("true", values.Str("dapr_sidecar_injector", "sidecarRunAsNonRoot"));
        Assert.Equal("true", values.Str("dapr_sidecar_injector", "sidecarReadOnlyRootFilesystem"));
    }

    [SkippableFact]
    public void Guide_NamesEverySecretCreatedOutsideGitAndEveryOverlay()
    {
        var guide = Repository.ReadText("k8s/README.md");

        foreach (var (name, keys) in Policies.SecretsCreatedOutsideGit)
        {
            Assert.True(guide.Contains(name, StringComparison.Ordinal), $"k8s/README.md does not name Secret {name}");
            foreach (var key in keys)
            {
                Assert.True(guide.Contains(key, StringComparison.Ordinal), $"k8s/README.md does not name key {key} of Secret {name}");
            }
        }

        foreach (var path in new[] { Manifests.Dev, Manifests.Prod, "k8s/dapr-local", "k8s/platform/dapr-values.yaml" })
        {
            Assert.True(guide.Contains(path, StringComparison.Ordinal), $"k8s/README.md does not mention {path}");
        }
    }

    [GeneratedRegex(@"\b([A-Z_][A-Z0-9_]*)=")]
    private static partial Regex ShellAssignment();
}
