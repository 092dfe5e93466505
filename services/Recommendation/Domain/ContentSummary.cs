namespace Journey.Recommendation.Domain;

/// <summary>How many live items carry a topic and fit a stage.</summary>
public sealed record TopicStageCount(string Topic, Stage Stage, long Count);

/// <summary>How hard the live items fitting a stage sell: soft, medium and hard counts.</summary>
public sealed record StageHardness(Stage Stage, long Soft, long Medium, long Hard);

/// <summary>An item with what people did with it at one stage.</summary>
public sealed record ShownContent(string ContentId, string Title, StagePerformance Performance);

/// <summary>
/// The live library at a glance, computed where the items are so that a caller never pages through a
/// whole library to count it: every topic, how many items of each topic fit each stage (a topic and
/// stage with none is a hole), how hard the items of each stage sell, and the items shown most.
/// </summary>
public sealed record ContentSummary(long LiveCount, IReadOnlyList<string> Topics, IReadOnlyList<TopicStageCount> Coverage, IReadOnlyList<StageHardness> Hardness, IReadOnlyList<ShownContent> MostShown)
{
    /// <summary>The stage weight from which an item counts as fitting the stage.</summary>
    public const double FitWeight = 0.5;

    /// <summary>Hardness below this is soft (informational).</summary>
    public const double SoftBelow = 0.34;

    /// <summary>Hardness from this on is hard (offers, sales pushes); between the two it is medium.</summary>
    public const double HardFrom = 0.67;

    /// <summary>
    /// Summarises <paramref name="live"/> (items not retired) with the <paramref name="mostShown"/> (item,
    /// stage) pairs that have learned counts, by impressions, most first, ties by item id and then stage.
    /// </summary>
    public static ContentSummary Of(IEnumerable<ContentItem> live, Func<string, IReadOnlyList<StagePerformance>> performanceOf, int mostShown)
    {
        var count = 0L;
        var coverage = new Dictionary<(string Topic, Stage Stage), long>();
        var topics = new HashSet<string>(StringComparer.Ordinal);
        var hardness = JourneyStages.All.ToDictionary(s => s, _ => new long[3]);
        var shown = new List<ShownContent>();
        foreach (var item in live)
        {
            count++;
            topics.UnionWith(item.Topics);
            var band = item.Hardness < SoftBelow ? 0 : item.Hardness < HardFrom ? 1 : 2;
            foreach (var stage in item.Stages.Where(s => s.Weight >= FitWeight).Select(s => s.Stage).Distinct())
            {
                if (hardness.TryGetValue(stage, out var bands))
                {
                    bands[band]++;
                }

                foreach (var topic in item.Topics.Distinct(StringComparer.Ordinal))
                {
                    coverage[(topic, stage)] = coverage.GetValueOrDefault((topic, stage)) + 1;
                }
            }

            shown.AddRange(performanceOf(item.Id).Select(p => new ShownContent(item.Id, item.Title, p)));
        }

        return new ContentSummary(
            count,
            [.. topics.Order(StringComparer.Ordinal)],
            [.. coverage.Select(c => new TopicStageCount(c.Key.Topic, c.Key.Stage, c.Value)).OrderBy(c => c.Topic, StringComparer.Ordinal).ThenBy(c => c.Stage)],
            [.. JourneyStages.All.Select(s => new StageHardness(s, hardness[s][0], hardness[s][1], hardness[s][2]))],
            [.. shown.OrderByDescending(s => s.Performance.Impressions).ThenBy(s => s.ContentId, StringComparer.Ordinal).ThenBy(s => s.Performance.Stage).Take(mostShown)]);
    }
}
