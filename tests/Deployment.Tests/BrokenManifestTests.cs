using System.Text.Json.Nodes;

namespace Journey.Deployment.Tests;

/// <summary>
/// The policies can fail: each test breaks one field of the real render in memory and expects a
/// violation that names that object and that field.
/// </summary>
public sealed class BrokenManifestTests
{
    private const string AppContainer = "spec.template.spec.containers[0]";

    private static ManifestSet Dev => Manifests.Of(Manifests.Dev);

    private static ManifestSet Prod => Manifests.Of(Manifests.Prod);

    [SkippableFact]
    public void SecurityContext_WhenTheRootFilesystemIsWritable_NamesDeploymentAndField()
    {
        var broken = Check.With(Dev, "Deployment", "profile", d => Check.At(d, $"{AppContainer}.securityContext")["readOnlyRootFilesystem"] = false);

        Check.Reports(Policies.RestrictedSecurity(broken), "Deployment/profile", $"{AppContainer}.securityContext.readOnlyRootFilesystem");
    }

    [SkippableFact]
    public void DaprAppToken_WhenTheAppLacksTheTokenOrTheSidecarItsSecret_NamesDeploymentAndField()
    {
        var noEnv = Check.With(Prod, "Deployment", "consent", d =>
        {
            var env = Check.At(d, AppContainer)["env"]!.AsArray();
            env.Remove(env.First(v => v!["name"]!.GetValue<string>() == "APP_API_TOKEN"));
        });
        var noAnnotation = Check.With(Dev, "Deployment", "profile", d => Check.At(d, "spec.template.metadata.annotations").Remove("dapr.io/app-token-secret"));

        Check.Reports(Policies.DaprAppTokens(noEnv), "Deployment/consent", $"{AppContainer}.env");
        Check.Reports(Policies.DaprAppTokens(noAnnotation), "Deployment/profile", "spec.template.metadata.annotations.dapr.io/app-token-secret");
    }

    [SkippableFact]
    public void SecurityContext_WhenCapabilitiesAreKeptAndSeccompIsMissing_NamesEachField()
    {
        var broken = Check.With(Dev, "StatefulSet", "consent-mongodb", s =>
        {
            Check.At(s, "spec.template.spec.initContainers[0].securityContext").Remove("capabilities");
            Check.At(s, "spec.template.spec.securityContext").Remove("seccompProfile");
        });

        var violations = Policies.RestrictedSecurity(broken).ToList();

        Check.Reports(violations, "StatefulSet/consent-mongodb", "spec.template.spec.initContainers[0].securityContext.capabilities.drop");
        Check.Reports(violations, "StatefulSet/consent-mongodb", $"{AppContainer}.securityContext.seccompProfile.type");
    }

    [SkippableFact]
    public void HttpListener_WhenItsPortIsClosedOrUnpublishedOrUnprobed_NamesDeploymentAndField()
    {
        var closed = Check.With(Dev, "NetworkPolicy", "touchpoint", p =>
        {
            var ports = Check.At(p, "spec.ingress[0]")["ports"]!.AsArray();
            ports.Remove(ports.Single(x => x!["port"]!.GetValue<int>() == 8081));
        });
        var unpublished = Check.With(Dev, "Service", "touchpoint", s =>
        {
            var ports = s["spec"]!["ports"]!.AsArray();
            ports.Remove(ports.Single(x => x!["name"]!.GetValue<string>() == "http"));
        });
        var grpcReadiness = Check.With(Prod, "Deployment", "touchpoint", d => Check.At(d, AppContainer)["readinessProbe"] = new JsonObject
        {
            ["grpc"] = new JsonObject { ["port"] = 8080, ["service"] = "ready" },
        });
        var unset = Check.With(Dev, "Deployment", "profile", d => Check.At(d, AppContainer)["env"]!.AsArray().Add(new JsonObject { ["name"] = "Journey__Hosting__HttpPort", ["value"] = "" }));
        var closedElsewhere = Check.With(Prod, "NetworkPolicy", "recommendation", p =>
        {
            var ports = Check.At(p, "spec.ingress[0]")["ports"]!.AsArray();
            ports.Remove(ports.Single(x => x!["port"]!.GetValue<int>() == 8081));
        });

        Check.Reports(Policies.HttpListeners(closed), "Deployment/touchpoint", $"{AppContainer}.ports");
        Check.Reports(Policies.HttpListeners(unpublished), "Deployment/touchpoint", $"{AppContainer}.ports");
        Check.Reports(Policies.HttpListeners(grpcReadiness), "Deployment/touchpoint", $"{AppContainer}.readinessProbe.httpGet");
        Check.Reports(Policies.HttpListeners(unset), "Deployment/profile", $"{AppContainer}.ports");
        Check.Reports(Policies.HttpListeners(unset), "Deployment/profile", $"{AppContainer}.env.Journey__Hosting__HttpPort");
        Check.Reports(Policies.HttpListeners(closedElsewhere), "Deployment/recommendation", $"{AppContainer}.ports");
    }

    [SkippableFact]
    public void Probes_WhenReadinessIsMissing_NamesStatefulSetAndField()
    {
        var broken = Check.With(Dev, "StatefulSet", "valkey", s => Check.At(s, AppContainer).Remove("readinessProbe"));

        Check.Reports(Policies.Probes(broken), "StatefulSet/valkey", $"{AppContainer}.readinessProbe");
    }

    [SkippableFact]
    public void Resources_WhenAnInitContainerHasNoMemoryLimit_NamesItsField()
    {
        var broken = Check.With(Dev, "StatefulSet", "profile-mongodb", s => Check.At(s, "spec.template.spec.initContainers[0].resources.limits").Remove("memory"));

        Check.Reports(Policies.Resources(broken), "StatefulSet/profile-mongodb", "spec.template.spec.initContainers[0].resources.limits.memory");
    }

    [SkippableFact]
    public void Images_WhenLatest_NamesTheContainerImage()
    {
        var broken = Check.With(Dev, "StatefulSet", "valkey", s => Check.At(s, AppContainer)["image"] = "valkey/valkey:latest");

        Check.Reports(Policies.PinnedImages(broken), "StatefulSet/valkey", $"{AppContainer}.image");
    }

    [SkippableFact]
    public void Dapr_WhenTheAppIdIsNotAService_NamesTheAnnotationAndTheMissingService()
    {
        var broken = Check.With(Dev, "Deployment", "profile", d => Check.At(d, "spec.template.metadata.annotations")["dapr.io/app-id"] = "profiles");

        var violations = Policies.DaprSidecars(broken).ToList();

        Assert.Contains("JourneyServices.All", Check.Reports(violations, "Deployment/profile", "spec.template.metadata.annotations.dapr.io/app-id").Message, StringComparison.Ordinal);
        Check.Reports(violations, "Deployment/profile", "");
    }

    [SkippableFact]
    public void Dapr_WhenTheAppPortIsNoContainerPortOrTheProtocolIsGrpc_NamesEachAnnotation()
    {
        var broken = Check.With(Dev, "Deployment", "consent", d =>
        {
            var annotations = Check.At(d, "spec.template.metadata.annotations");
            annotations["dapr.io/app-port"] = "8082";
            annotations["dapr.io/app-protocol"] = "grpc";
        });

        var violations = Policies.DaprSidecars(broken).ToList();

        Check.Reports(violations, "Deployment/consent", "spec.template.metadata.annotations.dapr.io/app-port");
        Check.Reports(violations, "Deployment/consent", "spec.template.metadata.annotations.dapr.io/app-protocol");
    }

    [SkippableFact]
    public void Dapr_WhenTheModuleSettingDisagreesWithTheAppId_NamesTheSetting()
    {
        var broken = Check.With(Dev, "Deployment", "touchpoint", d =>
        {
            var env = Check.At(d, AppContainer)["env"]!.AsArray();
            env.Add(new JsonObject { ["name"] = "Journey__Hosting__Modules", ["value"] = "touchpoint,profile" });
        });

        Check.Reports(Policies.DaprSidecars(broken), "Deployment/touchpoint", $"{AppContainer}.env.Journey__Hosting__Modules");
    }

    [SkippableFact]
    public void Services_WhenTheTargetPortIsNoContainerPort_NamesServiceAndPort()
    {
        var broken = Check.With(Dev, "Service", "consent", s => Check.At(s, "spec.ports[0]")["targetPort"] = "metrics");

        var violation = Check.Reports(Policies.ServicePorts(broken), "Service/consent", "spec.ports[0].targetPort");

        Assert.Contains("Deployment/consent", violation.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Selectors_WhenANetworkPolicyLabelIsMisspelt_NamesThePolicyField()
    {
        var broken = Check.With(Dev, "NetworkPolicy", "profile-to-mongodb", p =>
            Check.At(p, "spec.egress[0].to[0].podSelector.matchLabels")["app.kubernetes.io/instance"] = "profile-mongo");

        Check.Reports(Policies.Selectors(broken), "NetworkPolicy/profile-to-mongodb", "spec.egress[0].to[0].podSelector.matchLabels");
    }

    [SkippableFact]
    public void References_WhenASecretKeyIsMisspelt_NamesTheEnvironmentVariable()
    {
        var broken = Check.With(Dev, "Deployment", "touchpoint", d =>
            Check.At(d, $"{AppContainer}.env[0].valueFrom.secretKeyRef")["key"] = "connectionString");

        var violation = Check.Reports(Policies.References(broken, new Dictionary<string, string[]>()), "Deployment/touchpoint", $"{AppContainer}.env[0].valueFrom.secretKeyRef");

        Assert.Contains("no key 'connectionString'", violation.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void References_WhenProdNamesASecretNobodyCreates_NamesTheComponentField()
    {
        var broken = Check.With(Prod, "Component", "journey-pubsub", c =>
            Check.At(c, "spec.metadata[1].secretKeyRef")["name"] = "journey-redis");

        Check.Reports(Policies.References(broken, Policies.SecretsCreatedOutsideGit), "Component/journey-pubsub", "spec.metadata[1].secretKeyRef");
    }

    [SkippableFact]
    public void Topics_WhenAServiceMayPublishAnotherServicesTopic_NamesTheScopeAndTopic()
    {
        var broken = Check.With(Dev, "Component", "journey-pubsub", c => ReplaceMetadata(c, "publishingScopes", v => v + ",profile-updated"));

        var violation = Check.Reports(Policies.TopicScoping(broken), "Component/journey-pubsub", MetadataField(broken, "publishingScopes"));

        Assert.Contains("'recommendation' is given topic 'profile-updated'", violation.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Topics_WhenATopicIsNotInTopicsOrADeadLetterIsMissing_NamesTheMetadata()
    {
        var broken = Check.With(Dev, "Component", "journey-pubsub", c => ReplaceMetadata(c, "allowedTopics", v =>
            v.Replace("consent.erasure-completed.dead-letter", "orders", StringComparison.Ordinal)));

        var violations = Policies.TopicScoping(broken).Where(v => v.Field == MetadataField(broken, "allowedTopics")).ToList();

        Assert.Contains(violations, v => v.Message.Contains("'orders' is neither a declared topic", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Message.Contains("'consent.erasure-completed.dead-letter' is in Topics but not allowed", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Topics_WhenADeclarativeSubscriptionGetsItsDeadLetterWrong_NamesTheField()
    {
        var set = new ManifestSet("memory", [.. Dev.Objects, (JsonObject)JsonNode.Parse("""
            {
              "apiVersion": "dapr.io/v2alpha1", "kind": "Subscription",
              "metadata": { "name": "profile-consent-changed", "namespace": "journey" },
              "spec": { "pubsubname": "journey-pubsub", "topic": "consent-changed", "routes": { "default": "/events/profile/consent-changed" },
                        "deadLetterTopic": "consent-changed.dead-letter" },
              "scopes": [ "profile" ]
            }
            """)!], []);

        Check.Reports(Policies.TopicScoping(set), "Subscription/profile-consent-changed", "spec.deadLetterTopic");
    }

    [SkippableFact]
    public void ReplicaSets_WhenMongodRunsStandalone_NamesTheArguments()
    {
        var broken = Check.With(Dev, "StatefulSet", "recommendation-mongodb", s =>
        {
            var args = Check.At(s, AppContainer)["args"]!.AsArray();
            args.RemoveAt(0);
        });

        Check.Reports(Policies.ReplicaSets(broken), "StatefulSet/recommendation-mongodb", $"{AppContainer}.args");
    }

    [SkippableFact]
    public void ReplicaSets_WhenTheCacheOutgrowsTheMemoryLimit_NamesTheArguments()
    {
        var broken = Check.With(Prod, "StatefulSet", "consent-mongodb", s => Check.At(s, $"{AppContainer}.resources.limits")["memory"] = "1Gi");

        Check.Reports(Policies.ReplicaSets(broken), "StatefulSet/consent-mongodb", $"{AppContainer}.args");
    }

    [SkippableFact]
    public void HighAvailability_WhenAnAutoscalerAllowsOnePodOrADatabaseHasOneMember_NamesEach()
    {
        var broken = Check.With(Prod, "HorizontalPodAutoscaler", "profile", h => h["spec"]!["minReplicas"] = 1);
        broken = Check.With(broken, "StatefulSet", "profile-mongodb", s => s["spec"]!["replicas"] = 1);

        var violations = Policies.HighAvailability(broken).ToList();

        Check.Reports(violations, "Deployment/profile", "HorizontalPodAutoscaler.spec.minReplicas");
        Check.Reports(violations, "StatefulSet/profile-mongodb", "spec.replicas");
    }

    private static string MetadataField(ManifestSet set, string name)
    {
        var metadata = set.Find("Component", "journey-pubsub").Items("spec", "metadata").ToList();
        return $"spec.metadata[{metadata.FindIndex(m => m.Str("name") == name)}].value ({name})";
    }

    private static void ReplaceMetadata(JsonObject component, string name, Func<string, string> change)
    {
        var item = component["spec"]!["metadata"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == name)!;
        item["value"] = change(item["value"]!.GetValue<string>());
    }
}
