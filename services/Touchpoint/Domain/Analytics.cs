using System.Globalization;
using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Domain;

/// <summary>A touchpoint's totals over a period of days.</summary>
public sealed record TouchpointTotals(long Interactions, long RatingSum, long RatingCount, long UniquePeople, long Purchasers);

/// <summary>Funnel totals over a period of days.</summary>
/// <param name="PeoplePerStage">Distinct people per stage, in journey order (6 entries).</param>
/// <param name="PeopleInBothStages">Distinct people who reached stage k and k+1 (5 entries).</param>
public sealed record FunnelTotals(IReadOnlyList<long> PeoplePerStage, IReadOnlyList<long> PeopleInBothStages);

/// <summary>Ratings of one touchpoint over a period.</summary>
public sealed record RatingTotals(string TouchpointId, long RatingSum, long RatingCount);

/// <summary>
/// The aggregates the interaction log keeps up to date in each ingest transaction. Every read here
/// touches aggregate rows of the period asked for, never the raw interactions.
/// </summary>
public interface IJourneyAggregates
{
    /// <summary>Totals of one touchpoint over days <paramref name="fromDay"/> to <paramref name="toDay"/> (days since 1970-01-01 UTC, inclusive).</summary>
    Task<TouchpointTotals> TouchpointTotalsAsync(string touchpointId, int fromDay, int toDay, TimeSpan purchaseWindow, CancellationToken cancellationToken);

    /// <summary>People per stage and in consecutive stages over the days.</summary>
    Task<FunnelTotals> FunnelTotalsAsync(int fromDay, int toDay, CancellationToken cancellationToken);

    /// <summary>For each person whose first purchase in the days falls there: distinct touchpoints met before it.</summary>
    Task<IReadOnlyList<long>> TouchpointsBeforePurchaseAsync(int fromDay, int toDay, CancellationToken cancellationToken);

    /// <summary>Last touchpoints of people who never purchased and whose last interaction was in [from, toExclusive), most people first.</summary>
    Task<IReadOnlyList<(string TouchpointId, long People)>> DropOffsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int limit, CancellationToken cancellationToken);

    /// <summary>Ratings per touchpoint that was rated in the days.</summary>
    Task<IReadOnlyList<RatingTotals>> RatingsAsync(int fromDay, int toDay, CancellationToken cancellationToken);
}

/// <summary>A touchpoint's scorecard.</summary>
public sealed record Scorecard(
    string TouchpointId, long Interactions, long UniquePeople, long RatingCount, double AverageRating, double TargetSatisfaction,
    double ExperienceGap, long Purchasers, double PurchaseShare, int PurchaseWindowDays);

/// <summary>One stage of the funnel.</summary>
public sealed record FunnelStageFigures(JourneyStage Stage, long People, double ConversionFromPrevious);

/// <summary>The journey funnel.</summary>
public sealed record Funnel(
    IReadOnlyList<FunnelStageFigures> Stages, long Purchasers, double MedianTouchpointsBeforePurchase, double P90TouchpointsBeforePurchase,
    IReadOnlyList<(string TouchpointId, long People)> DropOffs);

/// <summary>A touchpoint whose experience falls short.</summary>
public sealed record Gap(TouchpointDefinition Touchpoint, double AverageRating, long RatingCount, double GapValue, double Priority);

/// <summary>Journey analytics over periods of whole UTC days.</summary>
public sealed class JourneyAnalytics(IJourneyAggregates aggregates, ITouchpointCatalogStore catalog, IOptions<TouchpointOptions> options, TimeProvider clock)
{
    /// <summary>The longest period, in days.</summary>
    public const int MaxPeriodDays = 400;

    /// <summary>A touchpoint's scorecard.</summary>
    public async Task<Scorecard> ScorecardAsync(string name, DateTimeOffset? start, DateTimeOffset? end, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var id = TouchpointNames.TryParse(name);
        validation.Require(id is not null, "name", "must be touchpoints/{touchpoint}");
        var (from, to) = Days(start, end, "period", validation);
        validation.ThrowIfInvalid();

        var touchpoint = await catalog.GetAsync(id!, cancellationToken) ?? throw new NotFoundException("Touchpoint", name);
        var window = options.Value.PurchaseWindow;
        var totals = await aggregates.TouchpointTotalsAsync(touchpoint.Id, from, to, window, cancellationToken);
        var average = totals.RatingCount == 0 ? 0 : (double)totals.RatingSum / totals.RatingCount;
        var target = touchpoint.IntendedExperience.TargetSatisfaction;
        return new Scorecard(
            touchpoint.Id, totals.Interactions, totals.UniquePeople, totals.RatingCount, average, target,
            totals.RatingCount == 0 ? 0 : target - average, totals.Purchasers,
            totals.UniquePeople == 0 ? 0 : (double)totals.Purchasers / totals.UniquePeople, (int)window.TotalDays);
    }

    /// <summary>The journey funnel.</summary>
    public async Task<Funnel> FunnelAsync(DateTimeOffset? start, DateTimeOffset? end, int dropOffLimit, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var (from, to) = Days(start, end, "period", validation);
        validation.Require(dropOffLimit is >= 0 and <= 100, "drop_off_limit", "must be 0 to 100");
        validation.ThrowIfInvalid();

        var totals = await aggregates.FunnelTotalsAsync(from, to, cancellationToken);
        var stages = new List<FunnelStageFigures>(6);
        for (var i = 0; i < StageMask.Ordered.Count; i++)
        {
            var conversion = i == 0 || totals.PeoplePerStage[i - 1] == 0 ? 0 : (double)totals.PeopleInBothStages[i - 1] / totals.PeoplePerStage[i - 1];
            stages.Add(new FunnelStageFigures(StageMask.Ordered[i], totals.PeoplePerStage[i], conversion));
        }

        var counts = (await aggregates.TouchpointsBeforePurchaseAsync(from, to, cancellationToken)).Order().ToList();

        // People count as dropped off only once they have been silent for the whole silence period.
        var periodEnd = DateTimeOffset.UnixEpoch.AddDays(to + 1);
        var silentBefore = clock.GetUtcNow() - options.Value.SilencePeriod;
        var dropOffs = await aggregates.DropOffsAsync(
            DateTimeOffset.UnixEpoch.AddDays(from), periodEnd < silentBefore ? periodEnd : silentBefore, dropOffLimit == 0 ? 10 : dropOffLimit, cancellationToken);
        return new Funnel(stages, counts.Count, Median(counts), NearestRank(counts, 0.9), dropOffs);
    }

    /// <summary>A page of touchpoints whose rated experience falls short, highest criticality times gap first.</summary>
    public async Task<(IReadOnlyList<Gap> Page, string NextPageToken)> GapsAsync(DateTimeOffset? start, DateTimeOffset? end, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var (from, to) = Days(start, end, "period", validation);
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        var offsetText = PageTokens.DecodeString(pageToken);
        var offset = 0;
        validation.Require(pageToken.Length == 0 || (int.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out offset) && offset > 0), "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();

        var ratings = await aggregates.RatingsAsync(from, to, cancellationToken);
        var touchpoints = await catalog.GetManyAsync(ratings.Select(r => r.TouchpointId).ToList(), cancellationToken);
        var ranked = ratings
            .Where(r => r.RatingCount > 0 && touchpoints.ContainsKey(r.TouchpointId))
            .Select(r =>
            {
                var touchpoint = touchpoints[r.TouchpointId];
                var average = (double)r.RatingSum / r.RatingCount;
                var gap = touchpoint.IntendedExperience.TargetSatisfaction - average;
                return new Gap(touchpoint, average, r.RatingCount, gap, touchpoint.Criticality * gap);
            })
            .Where(g => g.GapValue > 0)
            .OrderByDescending(g => g.Priority).ThenBy(g => g.Touchpoint.Id, StringComparer.Ordinal)
            .ToList();
        var size = PageTokens.Size(pageSize);
        var page = ranked.Skip(offset).Take(size).ToList();
        var next = offset + size < ranked.Count ? PageTokens.EncodeString((offset + size).ToString(CultureInfo.InvariantCulture)) : "";
        return (page, next);
    }

    /// <summary>The day number (days since 1970-01-01 UTC) of <paramref name="time"/>.</summary>
    public static int DayOf(DateTimeOffset time) => (int)Math.Floor((time - DateTimeOffset.UnixEpoch).TotalDays);

    private static (int From, int To) Days(DateTimeOffset? start, DateTimeOffset? end, string field, Validation validation)
    {
        if (start is null || end is null)
        {
            validation.Add(field, "start_time and end_time are required");
            return (0, 0);
        }

        var from = DayOf(start.Value);
        var to = DayOf(end.Value);
        validation.Require(to >= from, field + ".end_time", "must not be before start_time");
        validation.Require(to - from < MaxPeriodDays, field + ".end_time", $"must be at most {MaxPeriodDays} days after start_time");
        return (from, to);
    }

    private static double Median(List<long> sorted) =>
        sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2.0;

    private static double NearestRank(List<long> sorted, double percentile) =>
        sorted.Count == 0 ? 0 : sorted[Math.Max(0, (int)Math.Ceiling(percentile * sorted.Count) - 1)];
}
