using System.Diagnostics;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using MongoDB.Bson;
using MongoDB.Driver;
using Xunit.Abstractions;

namespace Journey.Distributed.Tests;

/// <summary>
/// Scenario 2: the subscriber's store goes away for a minute while events keep coming, and two
/// publishers relay one outbox.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StoreOutageTests(Cluster cluster, ITestOutputHelper output)
{
    private const int PerReplica = 100;
    private const int Total = 2 * PerReplica;
    private static readonly TimeSpan Outage = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The profile service's replica set is paused (its process frozen, connections open and silent,
    /// as a hung or partitioned server looks), while both touchpoint replicas take 100 interactions
    /// each of one person. Once it runs again, all 200 must reach the profile, nothing may be
    /// dead-lettered, and the stream must hold each event once: both replicas relay the one outbox.
    /// The touchpoint store stays up: the stream's own writes need it.
    /// </summary>
    [DistributedFact]
    public async Task StreamInteractions_WhenTheProfileStoreIsPausedForAMinuteWithTwoTouchpointReplicas_AllArriveEachPublishedOnce()
    {
        var run = Cluster.NewRunId();
        var touchpoint = await cluster.CreateTouchpointAsync($"outage-{run}");
        var person = $"outage-{run}";
        await using var valkey = await cluster.ConnectValkeyAsync();
        var before = await valkey.LastIdAsync(TouchpointTopics.InteractionRecorded);

        var outage = Stopwatch.StartNew();
        await cluster.Stores.PauseAsync("profile-mongodb");
        try
        {
            var streamed = await Task.WhenAll(
                StreamAsync(cluster.Touchpoints[0], touchpoint, person, run, first: 0),
                StreamAsync(cluster.Touchpoints[1], touchpoint, person, run, first: PerReplica));
            Assert.All(streamed, s => Assert.Equal((PerReplica, 0L, 0L), (s.AcceptedCount, s.DuplicateCount, s.RejectedCount)));

            // The outage lasts its minute however quickly the interactions went in.
            var rest = Outage - outage.Elapsed;
            if (rest > TimeSpan.Zero)
            {
                await Task.Delay(rest);
            }
        }
        finally
        {
            await cluster.Stores.UnpauseAsync("profile-mongodb");
        }

        output.WriteLine($"profile-mongodb paused for {outage.Elapsed.TotalSeconds:0} s");
        // Dapr hands an unacknowledged delivery to a consumer again after processingTimeout (5 min in
        // k8s/base/dapr/pubsub.yaml), checked every redeliverInterval: the wait covers one round.
        var applied = await Eventually.ReachAsync("interactions on the profile", () => cluster.InteractionsOfAsync(person), n => n >= Total, TimeSpan.FromMinutes(8), output);
        using var mongo = new MongoClient(cluster.Settings.TouchpointMongo);
        var outbox = mongo.GetDatabase("journey-touchpoint").GetCollection<BsonDocument>(MongoOutbox.CollectionName);
        var outboxRows = await Eventually.ReachAsync("rows left in the touchpoint outbox", () => outbox.CountDocumentsAsync(FilterDefinition<BsonDocument>.Empty), n => n == 0, TimeSpan.FromMinutes(2), output);
        var entries = await valkey.XRangeAsync(TouchpointTopics.InteractionRecorded, "(" + before, "+", 10 * Total);
        var deadLetters = await Broker.DeadLettersAsync(valkey);

        Assert.True(applied == Total, $"The profile applied {applied} of the {Total} interactions.");
        Assert.True(outboxRows == 0, $"{outboxRows} events are still in the touchpoint outbox.");
        // This scenario's entries, by the interaction they carry: each of the 200 once, under one event id each.
        var published = entries
            .Select(e => (EventId: Broker.CloudEventId(e), Interaction: InteractionRecorded.Parser.ParseFrom(Broker.Envelope(e).Payload)))
            .Where(p => p.Interaction.Touchpoint == touchpoint)
            .ToList();
        var repeated = published.GroupBy(p => p.Interaction.InteractionId).Where(g => g.Count() > 1).ToList();
        Assert.True(repeated.Count == 0, $"{repeated.Count} interactions were published more than once ({published.Count} stream entries); e.g. {repeated.FirstOrDefault()?.Key} x{repeated.FirstOrDefault()?.Count()}.");
        Assert.Equal(Enumerable.Range(0, Total).Select(i => $"outage-{run}-{i}").Order(), published.Select(p => p.Interaction.InteractionId).Order());
        Assert.Equal(Total, published.Select(p => p.EventId).Distinct().Count());
        Assert.Empty(deadLetters);
    }

    private static async Task<StreamInteractionsResponse> StreamAsync(TouchpointService.TouchpointServiceClient client, string touchpoint, string person, string run, int first)
    {
        const int PerMessage = 50;
        using var call = client.StreamInteractions();
        for (var sent = 0; sent < PerReplica; sent += PerMessage)
        {
            var message = new StreamInteractionsRequest();
            for (var i = first + sent; i < first + sent + PerMessage; i++)
            {
                message.Interactions.Add(Cluster.View($"outage-{run}-{i}", touchpoint, person));
            }

            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        return await call;
    }
}
