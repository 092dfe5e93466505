using System.Globalization;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Reports;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Domain;

/// <summary>A touchpoint's totals over a period of days.</summary>
public sealed record TouchpointTotals(long Interactions, long RatingSum, long RatingCount, long UniquePeople, long Purchasers);

/// <summary>Funnel totals over a period of days.</summary>
/// <param name="PeoplePerStage">Distinct people per stage, in journey order (6 entries).</param>
/// <param name="PeopleInBothStages">Distinct people who reached stage k and k+1 (5 entries).</param>
public sealed record FunnelTotals(IReadOnlyList<long> PeoplePerStage, IReadOnlyList<long> PeopleInBothStages);

/// <summary>Where people went silent without buying.</summary>
/// <param name="Silent">Everyone who went silent in the period.</param>
/// <param name="Top">Their last touchpoints, most people first.</param>
public sealed record DropOffTotals(long Silent, IReadOnlyList<(string TouchpointId, long People)> Top);

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

    /// <summary>
    /// People who never purchased and whose last interaction was in [from, toExclusive): how many in all,
    /// and their last touchpoints, most people first.
    /// </summary>
    Task<DropOffTotals> DropOffsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// People whose first purchase in the days falls there, each with the touchpoints met up to it
    /// (first met at or before it), the most recent purchase first and at most <paramref name="maxPeople"/>; and how many in all.
    /// </summary>
    Task<PathTotals> PurchasePathsAsync(int fromDay, int toDay, int maxPeople, CancellationToken cancellationToken);

    /// <summary>
    /// People who never purchased and whose last interaction was in [from, toExclusive), each with every
    /// touchpoint they met, the most recently silent first and at most <paramref name="maxPeople"/>; and how many in all.
    /// </summary>
    Task<PathTotals> DropOffPathsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken);

    /// <summary>
    /// People who first met <paramref name="touchpointId"/> in [from, toExclusive), each with the other
    /// touchpoints they first met at or before that time (possibly none), the most recent first and at
    /// most <paramref name="maxPeople"/>; and how many in all.
    /// </summary>
    Task<PathTotals> TouchpointPathsAsync(string touchpointId, DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken);

    /// <summary>Ratings per touchpoint that was rated in the days.</summary>
    Task<IReadOnlyList<RatingTotals>> RatingsAsync(int fromDay, int toDay, CancellationToken cancellationToken);
}

/// <summary>A report period of whole UTC days (days since 1970-01-01), both inclusive.</summary>
public sealed record DayPeriod(int FromDay, int ToDay)
{
    /// <summary>The period used when a request leaves the start open, in days up to its end.</summary>
    public const int DefaultDays = 30;

    /// <summary>The longest period, in days.</summary>
    public const int MaxDays = 366;

    /// <summary>The latest end a request may give: a period is widened to whole days, and its end (the next midnight) must still be a time of the year 9999.</summary>
    public static readonly DateTimeOffset LatestEnd = new(9999, 12, 31, 0, 0, 0, TimeSpan.Zero);

    private static readonly int FirstDay = JourneyAnalytics.DayOf(DateTimeOffset.MinValue);

    /// <summary>The first instant of the period.</summary>
    public DateTimeOffset Start => DateTimeOffset.UnixEpoch.AddDays(FromDay);

    /// <summary>The first instant after the period.</summary>
    public DateTimeOffset End => DateTimeOffset.UnixEpoch.AddDays(ToDay + 1);

    /// <summary>
    /// Widens a requested period [<paramref name="start"/>, <paramref name="end"/>) to whole UTC days: an
    /// open end is the end of the day of <paramref name="now"/>, an open start the first of the
    /// <see cref="DefaultDays"/> days up to the end (never before the year 1). Every time a request can
    /// carry is either resolved or reported in <paramref name="validation"/> under <c>period.start_time</c>,
    /// <c>period.end_time</c> or <c>period</c>; null when something was reported.
    /// </summary>
    /// <param name="start">The first instant included, or null.</param>
    /// <param name="end">The first instant no longer included, or null. A caller holding a finer time than ticks rounds it up, so the instant before it stays included.</param>
    /// <param name="now">The current time.</param>
    /// <param name="validation">Where rule violations are recorded.</param>
    public static DayPeriod? Resolve(DateTimeOffset? start, DateTimeOffset? end, DateTimeOffset now, Validation validation)
    {
        if (end is { } e && (e == DateTimeOffset.MinValue || e > LatestEnd))
        {
            validation.Add("period.end_time", e == DateTimeOffset.MinValue
                ? "must be after 0001-01-01T00:00:00Z: nothing comes before it"
                : "must be at most 9999-12-31T00:00:00Z: the period is widened to whole UTC days, and the day after its last must be a time of the year 9999");
            return null;
        }

        // The end is exclusive: a period ending at midnight does not include the day that starts there.
        var to = end is { } last ? JourneyAnalytics.DayOf(last.AddTicks(-1)) : JourneyAnalytics.DayOf(now);
        var endOfPeriod = end ?? DateTimeOffset.UnixEpoch.AddDays(to + 1);
        if (start is { } s && s >= endOfPeriod)
        {
            validation.Add(end is null ? "period.start_time" : "period.end_time", end is null
                ? "must be before the end of the current UTC day when period.end_time is unset"
                : "must be after period.start_time");
            return null;
        }

        var from = start is { } first ? JourneyAnalytics.DayOf(first) : Math.Max(FirstDay, to - (DefaultDays - 1));
        if (to - from >= MaxDays)
        {
            validation.Add("period", $"must span at most {MaxDays} days");
            return null;
        }

        return new DayPeriod(from, to);
    }
}

/// <summary>A touchpoint's scorecard.</summary>
public sealed record Scorecard(
    TouchpointDefinition Touchpoint, DayPeriod Period, long Interactions, long UniquePeople, long RatingCount, double AverageRating,
    double ExperienceGap, long Purchasers, double PurchaseRate, TimeSpan PurchaseWindow);

/// <summary>One stage of the funnel.</summary>
public sealed record FunnelStageFigures(JourneyStage Stage, long People, long ConvertedToNext, double ConversionToNext);

/// <summary>How many distinct touchpoints purchasers met before their first purchase in the period.</summary>
/// <param name="Purchases">Purchases the figures rest on.</param>
/// <param name="Median">The median number of touchpoints before a purchase.</param>
/// <param name="P90">Its 90th percentile.</param>
/// <param name="Mean">Its mean.</param>
/// <param name="Distribution">For each number of touchpoints some purchase came after, how many did; fewest first.</param>
public sealed record TouchpointsBeforePurchase(long Purchases, double Median, double P90, double Mean, IReadOnlyList<(long Touchpoints, long Purchases)> Distribution);

/// <summary>A touchpoint people were last seen at before they went silent without buying.</summary>
public sealed record DropOffPoint(string TouchpointId, string DisplayName, long People, double Share);

/// <summary>The journey funnel.</summary>
public sealed record Funnel(
    DayPeriod Period, IReadOnlyList<FunnelStageFigures> Stages, TouchpointsBeforePurchase BeforePurchase,
    IReadOnlyList<DropOffPoint> DropOffs, TimeSpan SilenceAfter, DateTimeOffset ComputedAt);

/// <summary>Which funnel a report is: its whole days and how many drop-off points it lists.</summary>
public readonly record struct FunnelKey(int FromDay, int ToDay, int DropOffLimit);

/// <summary>A touchpoint whose experience falls short.</summary>
public sealed record Gap(TouchpointDefinition Touchpoint, double AverageRating, long RatingCount, double GapValue, double Priority);

/// <summary>
/// Journey analytics over periods of whole UTC days, read from the aggregates the interaction log
/// keeps in each ingest transaction, so a report never scans raw interactions and outlives their retention.
/// </summary>
public sealed class JourneyAnalytics(
    IJourneyAggregates aggregates, ITouchpointCatalogStore catalog, ReportCache<FunnelKey, Funnel> funnels, IOptions<TouchpointOptions> options, TimeProvider clock)
{
    /// <summary>Drop-off points listed when a request asks for 0.</summary>
    public const int DefaultDropOffLimit = 10;

    /// <summary>A touchpoint's scorecard.</summary>
    public async Task<Scorecard> ScorecardAsync(string name, DateTimeOffset? start, DateTimeOffset? end, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var id = TouchpointNames.TryParse(name);
        validation.Require(id is not null, "name", "must be touchpoints/{touchpoint}");
        var resolved = DayPeriod.Resolve(start, end, clock.GetUtcNow(), validation);
        validation.ThrowIfInvalid();
        var period = resolved!;

        var touchpoint = await catalog.GetAsync(id!, cancellationToken) ?? throw new NotFoundException("Touchpoint", name);
        var window = options.Value.PurchaseWindow;
        var totals = await aggregates.TouchpointTotalsAsync(touchpoint.Id, period.FromDay, period.ToDay, window, cancellationToken);
        var average = totals.RatingCount == 0 ? 0 : (double)totals.RatingSum / totals.RatingCount;
        return new Scorecard(
            touchpoint, period, totals.Interactions, totals.UniquePeople, totals.RatingCount, average,
            totals.RatingCount == 0 ? 0 : touchpoint.IntendedExperience.TargetSatisfaction - average, totals.Purchasers,
            totals.UniquePeople == 0 ? 0 : (double)totals.Purchasers / totals.UniquePeople, window);
    }

    /// <summary>
    /// The journey funnel. Its per-person grouping reads every person of the period, which takes
    /// seconds on a large store, so a funnel that was slow to compute is kept per period and refreshed
    /// in the background (<see cref="ReportCache{TKey, TValue}"/>); <see cref="Funnel.ComputedAt"/> says as of when.
    /// </summary>
    public async Task<Funnel> FunnelAsync(DateTimeOffset? start, DateTimeOffset? end, int dropOffLimit, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var resolved = DayPeriod.Resolve(start, end, clock.GetUtcNow(), validation);
        validation.Require(dropOffLimit is >= 0 and <= 100, "drop_off_limit", "must be 0 to 100 (0 for the default, 10)");
        validation.ThrowIfInvalid();
        var period = resolved!;
        var limit = dropOffLimit == 0 ? DefaultDropOffLimit : dropOffLimit;
        return await funnels.GetAsync(new FunnelKey(period.FromDay, period.ToDay, limit), (now, ct) => ComputeFunnelAsync(period, limit, now, ct), cancellationToken);
    }

    private async Task<Funnel> ComputeFunnelAsync(DayPeriod period, int dropOffLimit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var totals = await aggregates.FunnelTotalsAsync(period.FromDay, period.ToDay, cancellationToken);
        var stages = new List<FunnelStageFigures>(StageMask.Ordered.Count);
        for (var i = 0; i < StageMask.Ordered.Count; i++)
        {
            var people = totals.PeoplePerStage[i];
            var converted = i + 1 < StageMask.Ordered.Count ? totals.PeopleInBothStages[i] : 0;
            stages.Add(new FunnelStageFigures(StageMask.Ordered[i], people, converted, people == 0 ? 0 : (double)converted / people));
        }

        var counts = (await aggregates.TouchpointsBeforePurchaseAsync(period.FromDay, period.ToDay, cancellationToken)).Order().ToList();
        var beforePurchase = new TouchpointsBeforePurchase(
            counts.Count, Median(counts), NearestRank(counts, 0.9), counts.Count == 0 ? 0 : counts.Average(),
            [.. counts.GroupBy(c => c).Select(g => (g.Key, (long)g.Count()))]);

        // People count as dropped off only once they have been silent for the whole silence period.
        var silence = options.Value.SilencePeriod;
        var silentBefore = now - silence;
        var dropOffs = await aggregates.DropOffsAsync(
            period.Start, period.End < silentBefore ? period.End : silentBefore, dropOffLimit, cancellationToken);
        var names = await catalog.GetManyAsync(dropOffs.Top.Select(d => d.TouchpointId).ToList(), cancellationToken);
        var points = dropOffs.Top
            .Select(d => new DropOffPoint(
                d.TouchpointId, names.TryGetValue(d.TouchpointId, out var t) ? t.DisplayName : "", d.People,
                dropOffs.Silent == 0 ? 0 : (double)d.People / dropOffs.Silent))
            .ToList();
        return new Funnel(period, stages, beforePurchase, points, silence, now);
    }

    /// <summary>
    /// The most common paths to the request's end over a period (or from its start anchor), and the
    /// busiest links between their steps; <paramref name="endTouchpoint"/> and <paramref name="startTouchpoint"/> are names or empty.
    /// </summary>
    public async Task<JourneyPathsReport> PathsAsync(
        DateTimeOffset? start, DateTimeOffset? end, PathEnd pathEnd, string endTouchpoint, string startTouchpoint, int maxSteps, int pathLimit, int linkLimit,
        CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var resolved = DayPeriod.Resolve(start, end, clock.GetUtcNow(), validation);
        var query = JourneyPaths.Resolve(pathEnd, endTouchpoint, startTouchpoint, maxSteps, pathLimit, linkLimit, validation);
        validation.ThrowIfInvalid();
        var period = resolved!;

        var silence = options.Value.SilencePeriod;
        var silentBefore = clock.GetUtcNow() - silence;
        var totals = query.End switch
        {
            PathEnd.Purchase => await aggregates.PurchasePathsAsync(period.FromDay, period.ToDay, JourneyPaths.MaxPeople, cancellationToken),
            PathEnd.Touchpoint => await aggregates.TouchpointPathsAsync(query.EndTouchpoint!, period.Start, period.End, JourneyPaths.MaxPeople, cancellationToken),
            _ => await aggregates.DropOffPathsAsync(period.Start, period.End < silentBefore ? period.End : silentBefore, JourneyPaths.MaxPeople, cancellationToken),
        };
        var (top, busiest, throughStart) = query.StartTouchpoint is { } anchor
            ? JourneyPaths.SummariseFrom(anchor, totals.Sequences, query.MaxSteps, query.PathLimit, query.LinkLimit)
            : Unanchored(JourneyPaths.Summarise(totals.Sequences, query.MaxSteps, query.PathLimit, query.LinkLimit));
        var named = top.SelectMany(p => p.Steps)
            .Concat(busiest.SelectMany(l => l.To.Length > 0 ? [l.From, l.To] : new[] { l.From }))
            .Concat(new[] { query.EndTouchpoint, query.StartTouchpoint }.OfType<string>())
            .Distinct()
            .ToList();
        var catalogued = await catalog.GetManyAsync(named, cancellationToken);
        var names = catalogued.ToDictionary(c => c.Key, c => c.Value.DisplayName, StringComparer.Ordinal);
        return new JourneyPathsReport(period, query, totals.People, totals.Sequences.Count, throughStart, top, busiest, names, silence);

        static (IReadOnlyList<PathFigure>, IReadOnlyList<PathLink>, long) Unanchored((IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links) r) =>
            (r.Paths, r.Links, 0);
    }

    /// <summary>A page of touchpoints whose rated experience falls short, highest criticality times gap first.</summary>
    public async Task<(DayPeriod Period, IReadOnlyList<Gap> Page, string NextPageToken)> GapsAsync(
        DateTimeOffset? start, DateTimeOffset? end, long minRatings, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var resolved = DayPeriod.Resolve(start, end, clock.GetUtcNow(), validation);
        validation.Require(minRatings is >= 0 and <= 1_000_000, "min_ratings", "must be 0 to 1000000 (0 for the default, 1)");
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        var offsetText = PageTokens.TryDecode(pageToken);
        var offset = 0;
        validation.Require(pageToken.Length == 0 || (int.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out offset) && offset > 0), "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();
        var period = resolved!;

        var required = Math.Max(1, minRatings);
        var ratings = await aggregates.RatingsAsync(period.FromDay, period.ToDay, cancellationToken);
        var rated = ratings.Where(r => r.RatingCount >= required).ToList();
        var touchpoints = await catalog.GetManyAsync(rated.Select(r => r.TouchpointId).ToList(), cancellationToken);
        var ranked = rated
            .Where(r => touchpoints.ContainsKey(r.TouchpointId))
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
        var next = offset + size < ranked.Count ? PageTokens.Encode((offset + size).ToString(CultureInfo.InvariantCulture)) : "";
        return (period, page, next);
    }

    /// <summary>The day number (days since 1970-01-01 UTC) of <paramref name="time"/>.</summary>
    public static int DayOf(DateTimeOffset time)
    {
        // Whole ticks, not TotalDays: a double cannot tell the last tick of a day from the next midnight.
        var ticks = (time - DateTimeOffset.UnixEpoch).Ticks;
        return (int)(ticks >= 0 ? ticks / TimeSpan.TicksPerDay : ((ticks + 1) / TimeSpan.TicksPerDay) - 1);
    }

    private static double Median(List<long> sorted) =>
        sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2.0;

    private static double NearestRank(List<long> sorted, double percentile) =>
        sorted.Count == 0 ? 0 : sorted[Math.Max(0, (int)Math.Ceiling(percentile * sorted.Count) - 1)];
}
