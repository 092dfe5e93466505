using System.ComponentModel.DataAnnotations;
using Journey.Shared.Hosting;

namespace Journey.Recommendation.Domain;

/// <summary>Ranking settings (section <c>Journey:Recommendation</c>).</summary>
public sealed class RecommendationOptions : IValidatableObject
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

    /// <summary>
    /// How long a recommendation record is kept, so that feedback and interactions naming it can
    /// still be attributed to it (after that, feedback naming it is NOT_FOUND). Older records are
    /// removed (a TTL index on MongoDB, an hourly sweep on SQLite). Default 90 days: three
    /// times the 30 days within which a purchase still counts for a touchpoint, so a conversion that
    /// follows a recommendation late still finds it. 1 to 3650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan RecommendationRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// The consent purposes that govern marketing on each channel, comma-separated
    /// <c>purposes/{purpose}</c> names: at a touchpoint of the channel, marketing content (generic
    /// brand content included) is recommended only to a person who granted every one of them on that
    /// channel; service content is not gated. An item's own required purpose applies on top. Default:
    /// <c>Email</c> governed by <c>purposes/marketing-email</c>; an empty value lifts a channel's gate.
    /// Unknown people have granted nothing, so they get no marketing on a gated channel.
    /// </summary>
    public Dictionary<ChannelKind, string> ChannelPurposes { get; set; } = new() { [ChannelKind.Email] = "purposes/marketing-email" };

    /// <summary>The purposes <see cref="ChannelPurposes"/> names for <paramref name="channel"/>.</summary>
    public IReadOnlyList<string> PurposesGoverning(ChannelKind channel) => ChannelPurposeMap.Governing(ChannelPurposes, channel);

    /// <summary>Seed of the sampling random source; unset for a random seed. Tests set it for reproducible rankings.</summary>
    public int? RandomSeed { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) => ChannelPurposeMap.Validate(ChannelPurposes, nameof(ChannelPurposes));
}
