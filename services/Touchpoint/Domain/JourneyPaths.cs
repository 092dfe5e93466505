using Journey.Shared.Errors;

namespace Journey.Touchpoint.Domain;

/// <summary>Where a journey path ends (numbered as journey.touchpoint.v1.PathEnd).</summary>
public enum PathEnd
{
    Unspecified = 0,
    Purchase = 1,
    DropOff = 2,
}

/// <summary>
/// People who reached an end, as the aggregates hold them: for each, the distinct touchpoints met
/// up to the end in the order first met (ties by id).
/// </summary>
/// <param name="People">Everyone who reached the end in the period.</param>
/// <param name="Sequences">The sequences of those read: all of them, or the most recent <see cref="JourneyPaths.MaxPeople"/>.</param>
public sealed record PathTotals(long People, IReadOnlyList<IReadOnlyList<string>> Sequences);

/// <summary>One path: its last steps before the end, and the people on it.</summary>
public sealed record PathFigure(IReadOnlyList<string> Steps, bool EarlierSteps, long People, double Share);

/// <summary>People who went from one step to the next, <paramref name="StepsBeforeEnd"/> steps before the end; an empty <paramref name="To"/> is the end.</summary>
public sealed record PathLink(int StepsBeforeEnd, string From, string To, long People);

/// <summary>The paths report.</summary>
public sealed record JourneyPathsReport(
    DayPeriod Period, PathEnd End, long People, long PeopleConsidered, IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links,
    IReadOnlyDictionary<string, string> DisplayNames, TimeSpan SilenceAfter);

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

    /// <summary>Checks a request's figures and resolves the defaults; null for a field it reported.</summary>
    public static (int MaxSteps, int PathLimit, int LinkLimit) Resolve(PathEnd end, int maxSteps, int pathLimit, int linkLimit, Validation validation)
    {
        validation.Require(end is PathEnd.Purchase or PathEnd.DropOff, "end", "must be PATH_END_PURCHASE or PATH_END_DROP_OFF");
        validation.Require(maxSteps is >= 0 and <= MaxMaxSteps, "max_steps", $"must be 0 to {MaxMaxSteps} (0 for the default, {DefaultMaxSteps})");
        validation.Require(pathLimit is >= 0 and <= MaxLimit, "path_limit", $"must be 0 to {MaxLimit} (0 for the default, {DefaultPathLimit})");
        validation.Require(linkLimit is >= 0 and <= MaxLimit, "link_limit", $"must be 0 to {MaxLimit} (0 for the default, {DefaultLinkLimit})");
        return (maxSteps == 0 ? DefaultMaxSteps : maxSteps, pathLimit == 0 ? DefaultPathLimit : pathLimit, linkLimit == 0 ? DefaultLinkLimit : linkLimit);
    }

    /// <summary>The <paramref name="pathLimit"/> most common paths and <paramref name="linkLimit"/> busiest links of <paramref name="sequences"/>.</summary>
    public static (IReadOnlyList<PathFigure> Paths, IReadOnlyList<PathLink> Links) Summarise(
        IReadOnlyList<IReadOnlyList<string>> sequences, int maxSteps, int pathLimit, int linkLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        var paths = new Dictionary<PathKey, long>();
        var links = new Dictionary<(int StepsBeforeEnd, string From, string To), long>();
        foreach (var sequence in sequences)
        {
            var kept = Math.Min(maxSteps, sequence.Count);
            var tail = sequence.Skip(sequence.Count - kept).ToArray();
            var key = new PathKey(tail, sequence.Count > kept);
            paths[key] = paths.GetValueOrDefault(key) + 1;
            for (var i = 0; i < tail.Length; i++)
            {
                var link = (tail.Length - i, tail[i], i + 1 < tail.Length ? tail[i + 1] : "");
                links[link] = links.GetValueOrDefault(link) + 1;
            }
        }

        var considered = sequences.Count;
        var topPaths = paths
            .OrderByDescending(p => p.Value)
            .ThenBy(p => string.Join('\n', p.Key.Steps), StringComparer.Ordinal)
            .ThenBy(p => p.Key.EarlierSteps)
            .Take(pathLimit)
            .Select(p => new PathFigure(p.Key.Steps, p.Key.EarlierSteps, p.Value, (double)p.Value / considered))
            .ToList();
        var topLinks = links
            .OrderByDescending(l => l.Value)
            .ThenByDescending(l => l.Key.StepsBeforeEnd)
            .ThenBy(l => l.Key.From, StringComparer.Ordinal)
            .ThenBy(l => l.Key.To, StringComparer.Ordinal)
            .Take(linkLimit)
            .Select(l => new PathLink(l.Key.StepsBeforeEnd, l.Key.From, l.Key.To, l.Value))
            .ToList();
        return (topPaths, topLinks);
    }

    /// <summary>A path's identity: its steps in order, and whether earlier steps were cut.</summary>
    private sealed class PathKey(string[] steps, bool earlierSteps) : IEquatable<PathKey>
    {
        public string[] Steps { get; } = steps;

        public bool EarlierSteps { get; } = earlierSteps;

        public bool Equals(PathKey? other) =>
            other is not null && EarlierSteps == other.EarlierSteps && Steps.AsSpan().SequenceEqual(other.Steps);

        public override bool Equals(object? obj) => Equals(obj as PathKey);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(EarlierSteps);
            foreach (var step in Steps)
            {
                hash.Add(step, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
