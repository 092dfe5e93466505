namespace Journey.Deployment.Tests;

/// <summary>The review policies hold for every overlay a platform team applies.</summary>
public sealed class PolicyTests
{
    public static TheoryData<string> Overlays => new(Manifests.Overlays);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void SecurityContext_EveryContainer_IsRestricted(string overlay) =>
        Check.None(Policies.RestrictedSecurity(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Resources_EveryContainer_HasRequestsAndLimits(string overlay) =>
        Check.None(Policies.Resources(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Probes_EveryLongRunningContainer_HasStartupLivenessAndReadiness(string overlay) =>
        Check.None(Policies.Probes(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Images_EveryContainer_NamesAVersion(string overlay) =>
        Check.None(Policies.PinnedImages(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Dapr_EveryService_HasOneDeploymentWithItsAppIdPortProtocolAndSettings(string overlay) =>
        Check.None(Policies.DaprSidecars(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Dapr_EveryDaprEnabledDeployment_HasTheAppApiTokenWiredToSidecarAndApp(string overlay) =>
        Check.None(Policies.DaprAppTokens(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Services_EveryTargetPort_IsAPortOfTheSelectedPods(string overlay) =>
        Check.None(Policies.ServicePorts(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Selectors_EveryPolicyBudgetAndAutoscaler_PointsAtPodsOfTheRender(string overlay) =>
        Check.None(Policies.Selectors(Manifests.Of(overlay)), overlay);

    [SkippableFact]
    public void References_InDev_AllResolveInsideTheRender() =>
        Check.None(Policies.References(Manifests.Of(Manifests.Dev), new Dictionary<string, string[]>()), Manifests.Dev);

    [SkippableFact]
    public void References_InProd_ResolveInsideTheRenderOrToTheSecretsCreatedOutsideGit() =>
        Check.None(Policies.References(Manifests.Of(Manifests.Prod), Policies.SecretsCreatedOutsideGit), Manifests.Prod);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Topics_PubSubScoping_IsExactlyWhatTopicsSays(string overlay) =>
        Check.None(Policies.TopicScoping(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void MongoDb_EveryDatabase_IsAReplicaSet(string overlay) =>
        Check.None(Policies.ReplicaSets(Manifests.Of(overlay)), overlay);

    [SkippableTheory]
    [MemberData(nameof(Overlays))]
    public void Namespace_EveryObject_LivesInTheRestrictedJourneyNamespace(string overlay) =>
        Check.None(Policies.Namespaces(Manifests.Of(overlay)), overlay);

    [SkippableFact]
    public void Prod_EveryServiceAndDatabase_SurvivesLosingANode() =>
        Check.None(Policies.HighAvailability(Manifests.Of(Manifests.Prod)), Manifests.Prod);

    [SkippableFact]
    public void Dev_Secrets_AreExactlyTheOnesProdExpectsToBeCreatedOutsideGit()
    {
        var generated = Manifests.Of(Manifests.Dev).OfKind("Secret")
            .ToDictionary(ManifestSet.Name, s => s.Get("data")!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal).ToArray());
        var expected = Policies.SecretsCreatedOutsideGit
            .ToDictionary(p => p.Key, p => p.Value.Order(StringComparer.Ordinal).ToArray());

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), generated.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, keys) in expected)
        {
            Assert.Equal(keys, generated[name]);
        }
    }

    [SkippableFact]
    public void Dev_EveryService_RunsOnePod()
    {
        foreach (var deployment in Manifests.Of(Manifests.Dev).OfKind("Deployment"))
        {
            Assert.True((deployment.Number("spec", "replicas") ?? 1) == 1, $"{ManifestSet.Id(deployment)}: dev runs one pod per service");
        }
    }
}
