using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Xunit.Abstractions;

namespace Journey.Distributed.Tests;

/// <summary>
/// Scenario 1: an event crosses the real path, outbox, sidecar, Redis Streams on Valkey, sidecar,
/// subscription endpoint, with every part as the cluster runs it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class EventDeliveryTests(Cluster cluster, ITestOutputHelper output)
{
    [DistributedFact]
    public async Task RecordInteraction_WhenRecordedThroughTheSidecars_ReachesTheProfileWithoutDeadLettersAndStreamsStayBounded()
    {
        var run = Cluster.NewRunId();
        var touchpoint = await cluster.CreateTouchpointAsync($"delivery-{run}");
        var person = $"delivery-{run}";

        await cluster.Touchpoints[0].RecordInteractionAsync(new RecordInteractionRequest { Interaction = Cluster.View($"delivery-{run}", touchpoint, person) });
        var applied = await Eventually.ReachAsync("interactions on the profile", () => cluster.InteractionsOfAsync(person), n => n >= 1, TimeSpan.FromMinutes(2), output);

        Assert.True(applied == 1, $"The profile service applied {applied} interactions of the one recorded (0: the event never arrived; see the profile sidecar's log).");
        await using var valkey = await cluster.ConnectValkeyAsync();
        Assert.Empty(await Broker.DeadLettersAsync(valkey));
        var limit = Broker.MaxLenApprox(await File.ReadAllTextAsync(cluster.Settings.PubSubComponent));
        Assert.True(limit is not null, "The journey-pubsub component sets no maxLenApprox, so acknowledged entries are never trimmed and the broker (noeviction) fills up.");
        foreach (var topic in new KnownModules([TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition]).Topics.Publishers.Keys)
        {
            var length = await valkey.XLenAsync(topic);
            output.WriteLine($"XLEN {topic} = {length}");
            Assert.True(length <= limit + Broker.TrimSlack, $"Stream {topic} holds {length} entries, more than maxLenApprox {limit} plus {Broker.TrimSlack}.");
        }
    }
}
