using Grpc.Core;
using Journey.Common.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Xunit.Abstractions;

namespace Journey.Distributed.Tests;

/// <summary>
/// Scenario 3: many writers on the same documents at once, inside MongoDB transactions (the
/// touchpoint's per-day row and person counter, an experiment's variant counts, an item's stats).
/// Every call must succeed and every one must count once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class HotDocumentTests(Cluster cluster, ITestOutputHelper output)
{
    /// <summary>
    /// 100 people and 50 more interactions of one further person, all at one touchpoint on one day,
    /// sent at once and spread over both touchpoint replicas.
    /// </summary>
    [DistributedFact]
    public async Task RecordInteraction_WhenManyCallersWriteOneTouchpointAndDayAtOnce_CountsExactlyAndNoneFailsInternally()
    {
        const int People = 100;
        const int Repeats = 50;
        var run = Cluster.NewRunId();
        var touchpoint = await cluster.CreateTouchpointAsync($"hot-{run}");
        var calls = Enumerable.Range(0, People).Select(i => (Replica: i % 2, Interaction: Cluster.View($"hot-{run}-{i}", touchpoint, $"hot-{run}-{i}")))
            .Concat(Enumerable.Range(0, Repeats).Select(i => (Replica: i % 2, Interaction: Cluster.View($"hot-{run}-again-{i}", touchpoint, $"hot-{run}-again"))))
            .Select(c => (Func<Task<RecordInteractionResponse>>)(() => cluster.Touchpoints[c.Replica].RecordInteractionAsync(new RecordInteractionRequest { Interaction = c.Interaction }).ResponseAsync));

        var outcomes = await Concurrently.RunAsync(calls);

        Concurrently.AssertAllSucceeded(outcomes, "RecordInteraction calls");
        Assert.DoesNotContain(outcomes, o => o.Reply!.Duplicate);
        // People count per profile once the profile service has linked them, so the card may move
        // while profile-updated events arrive; it must settle on the exact figures.
        var card = await Eventually.ReachAsync(
            "scorecard (interactions, unique people)",
            async () => (await cluster.Touchpoints[0].GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = touchpoint })).Scorecard,
            c => c.Interactions == People + Repeats && c.UniquePeople == People + 1,
            TimeSpan.FromMinutes(1),
            output);
        Assert.Equal((People + Repeats, People + 1L), (card.Interactions, card.UniquePeople));
    }

    /// <summary>
    /// 100 recommendations ranked at once under one experiment (its variant counts), then 100
    /// impressions and 50 clicks reported at once on one item of one of them (the item's stats and
    /// the variant's counts again).
    /// </summary>
    [DistributedFact]
    public async Task RecordFeedback_WhenManyCallersReportOnOneExperimentAndItemAtOnce_CountsExactlyAndNoneFailsInternally()
    {
        const int Recommendations = 100;
        const int Impressions = 100;
        const int Clicks = 50;
        var run = Cluster.NewRunId();
        var touchpoint = await cluster.CreateTouchpointAsync($"hot-rec-{run}");
        foreach (var item in new[] { "a", "b" })
        {
            await cluster.Recommendation.UpdateContentAsync(new UpdateContentRequest { Content = Content($"hot-{run}-{item}"), UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "*" } }, AllowMissing = true });
        }

        // The recommendation service learns touchpoints from touchpoint-changed, through the broker.
        var known = await Eventually.ReachAsync("recommendation knows the touchpoint", () => KnowsAsync(touchpoint), k => k, TimeSpan.FromMinutes(2), output);
        Assert.True(known, $"The recommendation service never learned {touchpoint} (touchpoint-changed did not arrive).");
        await StopRunningExperimentsAsync();
        var experiment = new Experiment { DisplayName = "hot documents" };
        experiment.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 0.5 });
        experiment.Variants.Add(new Variant { Name = "learned", Strategy = Strategy.Learned, TrafficShare = 0.5 });
        var name = (await cluster.Recommendation.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = $"hot-{run}", Experiment = experiment })).Experiment.Name;
        try
        {
            var ranked = await Concurrently.RunAsync(Enumerable.Range(0, Recommendations).Select(i => (Func<Task<RecommendResponse>>)(() =>
                cluster.Recommendation.RecommendAsync(Recommend(touchpoint, $"hot-rec-{run}-{i}")).ResponseAsync)));
            Concurrently.AssertAllSucceeded(ranked, "Recommend calls");
            var shown = ranked[0].Reply!;
            var content = shown.Items[0].Content;
            var feedback = Enumerable.Range(0, Impressions).Select(i => (FeedbackType.Impression, $"impression-{i}"))
                .Concat(Enumerable.Range(0, Clicks).Select(i => (FeedbackType.Click, $"click-{i}")))
                .Select(f => (Func<Task<RecordFeedbackResponse>>)(() => cluster.Recommendation.RecordFeedbackAsync(new RecordFeedbackRequest
                {
                    Recommendation = shown.Recommendation,
                    Content = content,
                    Type = f.Item1,
                    FeedbackId = f.Item2,
                }).ResponseAsync));
            var reported = await Concurrently.RunAsync(feedback);
            Concurrently.AssertAllSucceeded(reported, "RecordFeedback calls");
            Assert.DoesNotContain(reported, o => o.Reply!.Repeated);

            var results = await cluster.Recommendation.GetExperimentResultsAsync(new GetExperimentResultsRequest { Name = name });
            foreach (var variant in results.Variants)
            {
                output.WriteLine($"{variant.Variant}: {variant.Recommendations} recommendations, {variant.Impressions} impressions, {variant.Clicks} clicks");
            }

            Assert.Equal(Recommendations, results.Variants.Sum(v => v.Recommendations));
            var counted = results.Variants.Single(v => v.Variant == shown.Variant);
            Assert.Equal((Impressions, Clicks), (counted.Impressions, counted.Clicks));
            Assert.Equal((Impressions, Clicks), (results.Variants.Sum(v => v.Impressions), results.Variants.Sum(v => v.Clicks)));
        }
        finally
        {
            await cluster.Recommendation.StopExperimentAsync(new StopExperimentRequest { Name = name });
        }
    }

    private static ContentItem Content(string id)
    {
        var item = new ContentItem { Name = $"contents/{id}", Title = id, Kind = ContentKind.Guide, Hardness = 0.1, Purpose = ContentPurpose.Marketing, Generic = true };
        item.Stages.Add(new StageWeight { Stage = JourneyStage.Awareness, Weight = 1 });
        item.Channels.Add(Channel.Web);
        return item;
    }

    private static RecommendRequest Recommend(string touchpoint, string anonymousId) => new()
    {
        Touchpoint = touchpoint,
        Count = 2,
        Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId }),
    };

    private async Task<bool> KnowsAsync(string touchpoint)
    {
        try
        {
            await cluster.Recommendation.RecommendAsync(Recommend(touchpoint, "probe"));
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains("touchpoint", StringComparison.Ordinal))
        {
            return false;
        }
    }

    private async Task StopRunningExperimentsAsync()
    {
        var listed = await cluster.Recommendation.ListExperimentsAsync(new ListExperimentsRequest { PageSize = 500 });
        foreach (var running in listed.Experiments.Where(e => e.State == ExperimentState.Running))
        {
            await cluster.Recommendation.StopExperimentAsync(new StopExperimentRequest { Name = running.Name });
        }
    }
}
