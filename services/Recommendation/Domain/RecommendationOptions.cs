using System.ComponentModel.DataAnnotations;

namespace Journey.Recommendation.Domain;

/// <summary>Ranking settings (section <c>Journey:Recommendation</c>).</summary>
public sealed class RecommendationOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Recommendation";

    /// <summary>Impressions of one item to one person per UTC day after which it is not recommended again that day. Default 3; 1 to 1000.</summary>
    [Range(1, 1000)]
    public int FrequencyCapPerDay { get; set; } = 3;

    /// <summary>Readiness (0 to 100) a person needs before hard content is shown. Default 60.</summary>
    [Range(0, 100)]
    public int ReadinessThreshold { get; set; } = 60;

    /// <summary>Hardness (0 to 1) from which an item counts as hard (sales) content. Default 0.7.</summary>
    [Range(0.0, 1.0)]
    public double HardContentHardness { get; set; } = 0.7;

    /// <summary>Candidates taken per stage from the index before ranking. Default 200; 10 to 5000.</summary>
    [Range(10, 5000)]
    public int CandidatesPerStage { get; set; } = 200;

    /// <summary>Impressions an item needs at a stage before its rate is trusted (below: exploration). Default 20.</summary>
    [Range(1, 1_000_000)]
    public int MinImpressionsForPopularity { get; set; } = 20;

    /// <summary>
    /// How old the in-process learned counts may get before they are re-read from the store, measured
    /// on the injected <see cref="TimeProvider"/>. Default 10 seconds; 100 milliseconds to 1 hour.
    /// Replicas sharing one store see each other's feedback within this time; a recommendation
    /// never waits for the re-read (it runs in the background once the counts are stale).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan LearnedCountsRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Seed of the sampling random source; unset for a random seed. Tests set it for reproducible rankings.</summary>
    public int? RandomSeed { get; set; }
}
