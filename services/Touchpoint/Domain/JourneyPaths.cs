using Journey.Shared.Errors;

namespace Journey.Touchpoint.Domain;

/// <summary>Where a journey path ends (numbered as journey.touchpoint.v1.PathEnd).</summary>
public enum PathEnd
{
    Unspecified = 0,
    Purchase = 1,
    DropOff = 2,
    Touchpoint = 3,
}

/// <summary>
/// People who reached an end, as the aggregates hold them: for each, the distinct touchpoints met
/// up to the end in the order first met (ties by id).
/// </summary>
/// <param name="People">Everyone who reached the end in the period.</param>
/// <param name="Sequences">The sequences of those read: all of them, or the most recent <see cref="JourneyPaths.MaxPeople"/>.</param>
public sealed record PathTotals(long People, IReadOnlyList<IReadOnlyList<string>> Sequences);

/// <summary>
/// One path and the people on it: its last steps before the end, or with a start anchor its first
/// steps from the start (<paramref name="LaterSteps"/> when the end does not follow the last).
/// </summary>
public sealed record PathFigure(IReadOnlyList<string> Steps, bool EarlierSteps, long People, double Share, bool LaterSteps = false);

/// <summary>
/// People who went from one step to the next, <paramref name="StepsBeforeEnd"/> steps before the end,
/// or with a start anchor leaving step <paramref name="StepsAfterStart"/> (1 is the start); an empty
/// <paramref name="To"/> is the end.
/// </summary>
public sealed record PathLink(int StepsBeforeEnd, string From, string To, long People, int StepsAfterStart = 0);

/// <summary>What a paths report is asked for: its end, the optional end touchpoint and start anchor (ids), and its sizes.</summary>
public sealed record PathQuery(PathEnd End, string? EndTouchpoint, string? StartTouchpoint, int MaxSteps, int PathLimit, int LinkLimit);

/// <summary>The paths report.</summary>
public sealed record JourneyPathsReport(
    DayPeriod Period, PathQuery Query, long People, long PeopleConsidered, long PeopleThroughStart, IReadOnlyList<PathFigure> Paths,
    IReadOnlyList<PathLink> Links, IReadOnlyDictionary<string, string> DisplayNames, TimeSpan SilenceAfter);

/// <summary>
/// The most common paths and links among people's touchpoint sequences. A path is the last
/// <c>maxSteps</c> touchpoints of a sequence (the end follows them); links are counted from the end,
/// so a Sankey chart aligns everyone at the end they reached whatever the length of their journey.
/// </summary>
public static class JourneyPaths
{
    public const int DefaultMaxSteps = 4;
    public const int MaxMaxSteps = 10;
    public const int DefaultPathLimit = 10;
    public const int DefaultLinkLimit = 40;
    public const int MaxLimit = 100;

    /// <summary>The most people a report reads, the most recent to reach the end; a bound on a report's memory and time whatever the store's size.</summary>
    public const int MaxPeople = 50_000;

    /// <summary>
    /// Checks a request and resolves the defaults; the touchpoints come as names
    /// (<c>touchpoints/{id}</c>) and leave as ids. Meaningless when it reported a field.
    /// </summary>
    public static PathQuery Resolve(
        PathEnd end, string endTouchpoint, string startTouchpoint, int maxSteps, int pathLimit, int linkLimit, Validation validation)
    {
        validation.Require(
            end is PathEnd.Purchase or PathEnd.DropOff or PathEnd.Touchpoint, "end", "must be PATH_END_PURCHASE, PATH_END_DROP_OFF or PATH_END_TOUCHPOINT");
        validation.Require(maxSteps is >= 0 and <= MaxMaxSteps, "max_steps", $"must be 0 to {MaxMaxSteps} (0 for the default, {DefaultMaxSteps})");
        validation.Require(pathLimit is >= 0 and <= MaxLimit, "path_limit", $"must be 0 to {MaxLimit} (0 for the default, {DefaultPathLimit})");
        validation.Require(linkLimit is >= 0 and <= MaxLimit, "link_limit", $"must be 0 to {MaxLimit} (0 for the default, {DefaultLinkLimit})");
        string? endId = null;
        if (end == PathEnd.Touchpoint)
        {
            endId = TouchpointNames.TryParse(endTouchpoint);
            validation.Require(endId is not null, "end_touchpoint", "must name the touchpoint the paths end at, touchpoints/{touchpoint}, with PATH_END_TOUCHPOINT");
        }
        else
        {
            validation.Require(endTouchpoint.Length == 0, "end_touchpoint", "must be empty unless end is PATH_END_TOUCHPOINT");
        }

        string? startId = null;
        if (startTouchpoint.Length > 0)
        {
            startId = TouchpointNames.TryParse(startTouchpoint);
            validation.Require(startId is not null, "start_touchpoint", "must be empty or a touchpoint name, touchpoints/{touchpoint}");
            validation.Require(startId is null || startId != endId, "start_touchpoint", "must differ from end_touchpoint");
        }

        return new PathQuery(
            end, endId, startId, maxSteps == 0 ? DefaultMaxSteps : maxSteps, pathLimit == 0 ? DefaultPathLimit : pathLimit, linkLimit == 0 ? DefaultLinkLimit : linkLimit);
    }

    /// <summary>
    /// The <paramref name="pathLimit"/> most common paths and <paramref name="linkLimit"/> busiest
    /// links of <paramref name="sequences"/>, counted back from the end: each path is a sequence's
    /// last <paramref name="maxSteps"/> steps.
    /// </summary>
    public static (IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links) Summarise(
        IReadOnlyList<IReadOnlyList<string>> sequences, int maxSteps, int pathLimit, int linkLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        var paths = new Dictionary<PathKey, long>();
        var links = new Dictionary<PathLink, long>();
        foreach (var sequence in sequences)
        {
            var kept = Math.Min(maxSteps, sequence.Count);
            var tail = sequence.Skip(sequence.Count - kept).ToArray();
            Count(paths, new PathKey(tail, sequence.Count > kept, false));
            for (var i = 0; i < tail.Length; i++)
            {
                Count(links, new PathLink(tail.Length - i, tail[i], i + 1 < tail.Length ? tail[i + 1] : "", 0));
            }
        }

        return Top(paths, links, sequences.Count, pathLimit, linkLimit);
    }

    /// <summary>
    /// The paths from <paramref name="start"/>: of the sequences that met it, the part from it on,
    /// each path its first <paramref name="maxSteps"/> steps, and the links counted from the start. A
    /// path cut short has no link to the end. Also how many sequences met the start.
    /// </summary>
    public static (IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links, long ThroughStart) SummariseFrom(
        string start, IReadOnlyList<IReadOnlyList<string>> sequences, int maxSteps, int pathLimit, int linkLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        var paths = new Dictionary<PathKey, long>();
        var links = new Dictionary<PathLink, long>();
        var through = 0;
        foreach (var sequence in sequences)
        {
            var at = IndexOf(sequence, start);
            if (at < 0)
            {
                continue;
            }

            through++;
            var remaining = sequence.Count - at;
            var kept = Math.Min(maxSteps, remaining);
            var head = sequence.Skip(at).Take(kept).ToArray();
            var later = remaining > kept;
            Count(paths, new PathKey(head, false, later));
            for (var i = 0; i < head.Length; i++)
            {
                if (i + 1 < head.Length || !later)
                {
                    Count(links, new PathLink(0, head[i], i + 1 < head.Length ? head[i + 1] : "", 0, i + 1));
                }
            }
        }

        var (top, busiest) = Top(paths, links, through, pathLimit, linkLimit);
        return (top, busiest, through);
    }

    private static int IndexOf(IReadOnlyList<string> sequence, string touchpoint)
    {
        for (var i = 0; i < sequence.Count; i++)
        {
            if (string.Equals(sequence[i], touchpoint, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static void Count<TKey>(Dictionary<TKey, long> counts, TKey key)
        where TKey : notnull =>
        counts[key] = counts.GetValueOrDefault(key) + 1;

    private static (IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links) Top(
        Dictionary<PathKey, long> paths, Dictionary<PathLink, long> links, long considered, int pathLimit, int linkLimit)
    {
        var topPaths = paths
            .OrderByDescending(p => p.Value)
            .ThenBy(p => string.Join('\n', p.Key.Steps), StringComparer.Ordinal)
            .ThenBy(p => p.Key.EarlierSteps)
            .ThenBy(p => p.Key.LaterSteps)
            .Take(pathLimit)
            .Select(p => new PathFigure(p.Key.Steps, p.Key.EarlierSteps, p.Value, (double)p.Value / considered, p.Key.LaterSteps))
            .ToList();
        var topLinks = links
            .OrderByDescending(l => l.Value)
            .ThenByDescending(l => l.Key.StepsBeforeEnd)
            .ThenBy(l => l.Key.StepsAfterStart)
            .ThenBy(l => l.Key.From, StringComparer.Ordinal)
            .ThenBy(l => l.Key.To, StringComparer.Ordinal)
            .Take(linkLimit)
            .Select(l => l.Key with { People = l.Value })
            .ToList();
        return (topPaths, topLinks);
    }

    /// <summary>A path's identity: its steps in order, and whether steps before or after them were cut.</summary>
    private sealed class PathKey(string[] steps, bool earlierSteps, bool laterSteps) : IEquatable<PathKey>
    {
        public string[] Steps { get; } = steps;

        public bool EarlierSteps { get; } = earlierSteps;

        public bool LaterSteps { get; } = laterSteps;

        public bool Equals(PathKey? other) =>
            other is not null && EarlierSteps == other.EarlierSteps && LaterSteps == other.LaterSteps && Steps.AsSpan().SequenceEqual(other.Steps);

        public override bool Equals(object? obj) => Equals(obj as PathKey);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(EarlierSteps);
            hash.Add(LaterSteps);
            foreach (var step in Steps)
            {
                hash.Add(step, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
