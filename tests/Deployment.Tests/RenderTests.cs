namespace Journey.Deployment.Tests;

/// <summary>Every kustomization renders, and every object it renders is one the API server would accept as written.</summary>
public sealed class RenderTests
{
    [SkippableTheory]
    [InlineData(Manifests.Dev)]
    [InlineData(Manifests.Prod)]
    [InlineData(Manifests.Base)]
    public void Render_EveryKustomization_MatchesTheKubernetesAndDaprSchemas(string kustomization)
    {
        var set = Manifests.Of(kustomization);

        Assert.NotEmpty(set.Objects);
        Check.None(set.SchemaProblems, kustomization);
    }

    [SkippableFact]
    public void Render_LocalDaprResources_MatchTheDaprSchemas()
    {
        var set = Manifests.ReadFiles("k8s/dapr-local/config.yaml", "k8s/dapr-local/resources/pubsub.yaml", "k8s/dapr-local/resources/resiliency.yaml");

        Assert.Equal(3, set.Objects.Count);
        Check.None(set.SchemaProblems, "k8s/dapr-local");
    }

    [SkippableFact]
    public void Schema_WhenAFieldHasTheWrongTypeOrIsMisspelt_NamesObjectAndField()
    {
        var set = Manifests.ReadYaml("""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: profile
            spec:
              selector:
                matchLabels: {app.kubernetes.io/name: profile}
              template:
                metadata:
                  labels: {app.kubernetes.io/name: profile}
                spec:
                  containers:
                    - name: profile
                      image: journey-host:1.0.0
                      ports:
                        - containerPort: grpc
                      securityContext:
                        readOnlyRootFileSystem: true
            """);

        Assert.Contains("integer", Check.Reports(set.SchemaProblems, "Deployment/profile", "spec.template.spec.containers[0].ports[0].containerPort").Message, StringComparison.Ordinal);
        Assert.Contains("typo", Check.Reports(set.SchemaProblems, "Deployment/profile", "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem").Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Schema_WhenADaprResiliencyNamesAPolicyThatDoesNotExist_NamesObjectAndField()
    {
        var set = Manifests.ReadYaml("""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: journey
            spec:
              policies:
                retries:
                  delivery: {policy: linear, maxInterval: soon}
              targets:
                components:
                  journey-pubsub:
                    inbound: {retry: deliveries}
            """);

        Check.Reports(set.SchemaProblems, "Resiliency/journey", "spec.policies.retries.delivery.policy");
        Check.Reports(set.SchemaProblems, "Resiliency/journey", "spec.policies.retries.delivery.maxInterval");
        Check.Reports(set.SchemaProblems, "Resiliency/journey", "spec.targets.components.journey-pubsub.inbound.retry");
        Check.Reports(set.SchemaProblems, "Resiliency/journey", "spec.targets.components.journey-pubsub");
    }

    [SkippableFact]
    public void Schema_WhenADaprComponentLacksItsTypeOrMixesValueAndSecret_NamesObjectAndField()
    {
        var set = Manifests.ReadYaml("""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: journey-pubsub
            spec:
              version: v1
              metadata:
                - name: redisPassword
                  value: secret
                  secretKeyRef: {name: journey-valkey, key: password}
                - name: concurrency
                  value: 10
            """);

        Check.Reports(set.SchemaProblems, "Component/journey-pubsub", "spec.type");
        Check.Reports(set.SchemaProblems, "Component/journey-pubsub", "spec.metadata[0]");
        Check.Reports(set.SchemaProblems, "Component/journey-pubsub", "spec.metadata[1].value");
    }

    [SkippableFact]
    public void Render_WhenKubectlIsMissing_FailsAndSaysSo()
    {
        var empty = Directory.CreateTempSubdirectory("no-kubectl-");
        try
        {
            var (exitCode, stdout, stderr) = Manifests.RunRenderScript(["--kustomize", Manifests.Dev], stdin: null, path: empty.FullName);

            Assert.NotEqual(0, exitCode);
            Assert.Empty(stdout);
            Assert.Contains("kubectl was not found on PATH", stderr, StringComparison.Ordinal);
        }
        finally
        {
            empty.Delete();
        }
    }

    [Fact]
    public void Render_WhenKubectlIsMissing_SkipsTheTestWithTheReason()
    {
        var empty = Directory.CreateTempSubdirectory("no-kubectl-");
        try
        {
            var skip = Assert.Throws<SkipException>(() => Manifests.RequireKubectl(empty.FullName));

            Assert.Contains("kubectl was not found on PATH", skip.Message, StringComparison.Ordinal);
        }
        finally
        {
            empty.Delete();
        }
    }

    [SkippableFact]
    public void Render_WhenAKustomizationIsBroken_FailsWithKustomizeMessage()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Manifests.RenderKustomizations(["k8s/overlays/no-such-overlay"]));

        Assert.Contains("kubectl kustomize k8s/overlays/no-such-overlay failed", ex.Message, StringComparison.Ordinal);
    }
}
