using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Tests.Domain;

public sealed class ContentSummaryTests
{
    private static ContentItem Item(string id, double hardness, (Stage Stage, double Weight)[] stages, params string[] topics) => new()
    {
        Id = id,
        Title = id,
        Kind = ContentKind.Guide,
        Stages = [.. stages.Select(s => new StageWeight(s.Stage, s.Weight))],
        Topics = topics,
        Channels = [ChannelKind.Web],
        Hardness = hardness,
        Purpose = ContentPurpose.Marketing,
    };

    [Fact]
    public void Of_CountsFittingItemsPerTopicAndStage_AndBandsHardnessAtItsEdges()
    {
        ContentItem[] live =
        [
            Item("soft-edge", 0.3399, [(Stage.Awareness, 0.5)], "suv", "suv"),
            Item("medium-low", 0.34, [(Stage.Awareness, 1.0), (Stage.Evaluation, 0.49)], "suv", "van"),
            Item("medium-high", 0.6699, [(Stage.Awareness, 0.7)]),
            Item("hard-edge", 0.67, [(Stage.Purchase, 0.9), (Stage.Purchase, 0.6)], "van"),
        ];

        var summary = ContentSummary.Of(live, _ => [], 20);

        Assert.Equal(4, summary.LiveCount);
        Assert.Equal(["suv", "van"], summary.Topics);
        // A repeated topic or stage on one item counts it once; weight 0.49 does not fit.
        Assert.Equal(
            [new TopicStageCount("suv", Stage.Awareness, 2), new TopicStageCount("van", Stage.Awareness, 1), new TopicStageCount("van", Stage.Purchase, 1)],
            summary.Coverage);
        Assert.Equal(JourneyStages.All, summary.Hardness.Select(h => h.Stage));
        Assert.Equal(new StageHardness(Stage.Awareness, 1, 2, 0), summary.Hardness[0]);
        Assert.Equal(new StageHardness(Stage.Evaluation, 0, 0, 0), summary.Hardness[2]);
        Assert.Equal(new StageHardness(Stage.Purchase, 0, 0, 1), summary.Hardness[3]);
    }

    [Fact]
    public void Of_ListsTheMostShownPairs_ByImpressionsThenIdThenStage_UpToTheLimit()
    {
        ContentItem[] live = [Item("b", 0.1, [(Stage.Awareness, 1)]), Item("a", 0.1, [(Stage.Awareness, 1)]), Item("quiet", 0.1, [(Stage.Awareness, 1)])];
        var counts = new Dictionary<string, IReadOnlyList<StagePerformance>>
        {
            ["b"] = [new(Stage.Awareness, 5, 1, 0), new(Stage.Loyalty, 9, 0, 0)],
            ["a"] = [new(Stage.Consideration, 5, 2, 1), new(Stage.Awareness, 5, 0, 0)],
        };

        var summary = ContentSummary.Of(live, id => counts.GetValueOrDefault(id) ?? [], 4);

        Assert.Equal(
            [("b", Stage.Loyalty), ("a", Stage.Awareness), ("a", Stage.Consideration), ("b", Stage.Awareness)],
            summary.MostShown.Select(s => (s.ContentId, s.Performance.Stage)));
        Assert.Equal(2, ContentSummary.Of(live, id => counts.GetValueOrDefault(id) ?? [], 2).MostShown.Count);
    }
}
