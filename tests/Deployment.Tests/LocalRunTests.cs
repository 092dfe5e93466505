using System.Text.Json.Nodes;
using Journey.Shared.Events;

namespace Journey.Deployment.Tests;

/// <summary>The laptop setup (Dapr multi-app run) and the Dapr control-plane values match the cluster's.</summary>
public sealed class LocalRunTests
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

        Assert.Equal(Topics.Apps.All.Order(StringComparer.Ordinal), apps.Select(a => a.Str("appID")!).Order(StringComparer.Ordinal));
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
}
