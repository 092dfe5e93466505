using System.Globalization;
using Journey.Touchpoint.V1;

namespace Journey.WebConsole.Components;

/// <summary>
/// A node of the path chart: a touchpoint at a column (0 on the left), or an end (an empty
/// touchpoint): one column on the right when the chart is aligned at the end, wherever paths end when
/// it is aligned at a start. Its people: the larger of what flows in and what flows out among the
/// links shown.
/// </summary>
public sealed record SankeyNode(string Key, int Column, string Touchpoint, long People);

/// <summary>A link between two nodes, by their keys.</summary>
public sealed record SankeyLink(string Source, string Target, JourneyPathLink Link);

/// <summary>
/// GetJourneyPaths' links as a Sankey chart for ECharts: aligned at the end (one column per number of
/// steps before it, the end on the right) or, for a report anchored at a start, at the start (one
/// column per step after it). The columns are given to ECharts as each node's depth, since the same
/// touchpoint can stand in several columns and paths of different lengths must line up at their end.
/// </summary>
public sealed class SankeyChart
{
    private SankeyChart(IReadOnlyList<SankeyNode> nodes, IReadOnlyList<SankeyLink> links)
    {
        Nodes = nodes;
        Links = links;
    }

    /// <summary>The nodes, left to right, the busiest first in each column.</summary>
    public IReadOnlyList<SankeyNode> Nodes { get; }

    /// <summary>The links, the busiest first.</summary>
    public IReadOnlyList<SankeyLink> Links { get; }

    public static SankeyChart Of(IReadOnlyList<JourneyPathLink> links)
    {
        if (links.Count == 0)
        {
            return new SankeyChart([], []);
        }

        // Positions left to right: counted back from the end (negative) or on from the start.
        var fromStart = links.Any(l => l.StepsAfterStart > 0);
        (int, string) From(JourneyPathLink l) => (fromStart ? l.StepsAfterStart - 1 : -l.StepsBeforeEnd, l.FromTouchpoint);
        (int, string) To(JourneyPathLink l) => (fromStart ? l.StepsAfterStart : 1 - l.StepsBeforeEnd, l.ToTouchpoint);

        var outgoing = links.GroupBy(From).ToDictionary(g => g.Key, g => g.Sum(l => l.People));
        var incoming = links.GroupBy(To).ToDictionary(g => g.Key, g => g.Sum(l => l.People));
        var keys = outgoing.Keys.Union(incoming.Keys).ToList();
        var first = keys.Min(k => k.Item1);
        string Key((int Position, string Touchpoint) k) => $"{k.Position - first}:{k.Touchpoint}";
        var nodes = keys
            .Select(k => new SankeyNode(Key(k), k.Item1 - first, k.Item2, Math.Max(outgoing.GetValueOrDefault(k), incoming.GetValueOrDefault(k))))
            .OrderBy(n => n.Column).ThenByDescending(n => n.People).ThenBy(n => n.Touchpoint, StringComparer.Ordinal)
            .ToList();
        var ordered = links
            .OrderByDescending(l => l.People).ThenBy(l => From(l).Item1).ThenBy(l => l.FromTouchpoint, StringComparer.Ordinal).ThenBy(l => l.ToTouchpoint, StringComparer.Ordinal)
            .Select(l => new SankeyLink(Key(From(l)), Key(To(l)), l))
            .ToList();
        return new SankeyChart(nodes, ordered);
    }

    /// <summary>
    /// The ECharts option: node and link labels are given as literal texts (<paramref name="name"/> of a
    /// touchpoint, the empty one being the end), since the keys that tell columns apart are not for people.
    /// </summary>
    public object Option(Func<string, string> name) => new
    {
        tooltip = new { trigger = "item" },
        series = new object[]
        {
            new
            {
                type = "sankey",
                left = 8,
                right = 170,
                top = 8,
                bottom = 8,
                nodeWidth = 14,
                nodeGap = 10,
                // Keep the order given (busiest first): the columns are fixed by depth already.
                layoutIterations = 0,
                emphasis = new { focus = "adjacency" },
                lineStyle = new { color = "source", opacity = 0.35, curveness = 0.5 },
                data = Nodes.Select(n => new
                {
                    name = n.Key,
                    depth = n.Column,
                    value = n.People,
                    label = new { formatter = Literal(name(n.Touchpoint)) },
                    tooltip = new { formatter = Literal(string.Create(CultureInfo.InvariantCulture, $"{name(n.Touchpoint)}: {n.People:N0} people")) },
                }),
                links = Links.Select(l => new
                {
                    source = l.Source,
                    target = l.Target,
                    value = l.Link.People,
                    tooltip = new { formatter = Literal(string.Create(CultureInfo.InvariantCulture, $"{name(l.Link.FromTouchpoint)} → {name(l.Link.ToTouchpoint)}: {l.Link.People:N0} people")) },
                }),
            },
        },
    };

    /// <summary>A text ECharts shows as it is: its formatter templates use braces.</summary>
    private static string Literal(string text) => text.Replace('{', '(').Replace('}', ')');
}
