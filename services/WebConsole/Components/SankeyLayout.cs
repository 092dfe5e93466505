using Journey.Touchpoint.V1;

namespace Journey.WebConsole.Components;

/// <summary>
/// A node of the path chart: a touchpoint at a column (0 on the left), or an end (an empty
/// touchpoint): one column on the right when the chart is aligned at the end, wherever paths end when
/// it is aligned at a start.
/// </summary>
public sealed record SankeyNode(int Column, string Touchpoint, long People, double X, double Y, double Height);

/// <summary>A link drawn as a band from one node's right edge to the next one's left edge; its width is its people.</summary>
public sealed record SankeyBand(JourneyPathLink Link, double X0, double Y0, double X1, double Y1, double Width)
{
    /// <summary>The band's centre line as an SVG path: a horizontal S-curve.</summary>
    public string Path
    {
        get
        {
            var middle = (X0 + X1) / 2;
            return FormattableString.Invariant($"M{X0:0.##},{Y0:0.##} C{middle:0.##},{Y0:0.##} {middle:0.##},{Y1:0.##} {X1:0.##},{Y1:0.##}");
        }
    }
}

/// <summary>
/// Lays out GetJourneyPaths' links as a Sankey chart: aligned at the end (one column per number of
/// steps before it, the end on the right) or, for a report anchored at a start, at the start (one
/// column per step after it); each node as tall as the people through it, and every band as wide as
/// its link's people on the same scale, so widths can be compared across the chart.
/// </summary>
public sealed class SankeyLayout
{
    public const double Width = 960;
    public const double Height = 440;
    public const double NodeWidth = 14;
    public const double Gap = 10;
    public const double LabelRoom = 150;

    private SankeyLayout(IReadOnlyList<SankeyNode> nodes, IReadOnlyList<SankeyBand> bands)
    {
        Nodes = nodes;
        Bands = bands;
    }

    public IReadOnlyList<SankeyNode> Nodes { get; }

    public IReadOnlyList<SankeyBand> Bands { get; }

    public static SankeyLayout Of(IReadOnlyList<JourneyPathLink> links)
    {
        if (links.Count == 0)
        {
            return new SankeyLayout([], []);
        }

        // Positions left to right: counted back from the end (negative) or on from the start.
        var fromStart = links.Any(l => l.StepsAfterStart > 0);
        (int, string) From(JourneyPathLink l) => (fromStart ? l.StepsAfterStart - 1 : -l.StepsBeforeEnd, l.FromTouchpoint);
        (int, string) To(JourneyPathLink l) => (fromStart ? l.StepsAfterStart : 1 - l.StepsBeforeEnd, l.ToTouchpoint);

        // A node's people: the larger of what flows in and what flows out among the links shown.
        var outgoing = links.GroupBy(From).ToDictionary(g => g.Key, g => g.Sum(l => l.People));
        var incoming = links.GroupBy(To).ToDictionary(g => g.Key, g => g.Sum(l => l.People));
        var keys = outgoing.Keys.Union(incoming.Keys).ToList();
        var first = keys.Min(k => k.Item1);
        var columns = keys.Max(k => k.Item1) - first;
        var people = keys.ToDictionary(k => k, k => Math.Max(outgoing.GetValueOrDefault(k), incoming.GetValueOrDefault(k)));
        var byColumn = keys.GroupBy(k => k.Item1).ToDictionary(g => g.Key, g => g.OrderByDescending(k => people[k]).ThenBy(k => k.Item2, StringComparer.Ordinal).ToList());
        // One scale for every column: the fullest column, with its gaps, fills the height.
        var scale = (Height - byColumn.Max(c => (c.Value.Count - 1) * Gap)) / Math.Max(1, byColumn.Max(c => c.Value.Sum(k => people[k])));

        var step = (Width - LabelRoom - NodeWidth) / Math.Max(1, columns);
        var nodes = new Dictionary<(int, string), SankeyNode>();
        foreach (var (position, members) in byColumn)
        {
            var y = 0.0;
            foreach (var key in members)
            {
                var height = Math.Max(1, people[key] * scale);
                nodes[key] = new SankeyNode(position - first, key.Item2, people[key], (position - first) * step, y, height);
                y += height + Gap;
            }
        }

        // Bands leave and enter each node stacked from its top, the widest first.
        var leaving = nodes.Keys.ToDictionary(k => k, _ => 0.0);
        var entering = nodes.Keys.ToDictionary(k => k, _ => 0.0);
        var bands = new List<SankeyBand>(links.Count);
        foreach (var link in links.OrderByDescending(l => l.People).ThenBy(l => From(l).Item1).ThenBy(l => l.FromTouchpoint, StringComparer.Ordinal).ThenBy(l => l.ToTouchpoint, StringComparer.Ordinal))
        {
            var from = From(link);
            var to = To(link);
            var width = Math.Max(1, link.People * scale);
            var source = nodes[from];
            var target = nodes[to];
            var y0 = source.Y + leaving[from] + width / 2;
            var y1 = target.Y + entering[to] + width / 2;
            leaving[from] += width;
            entering[to] += width;
            bands.Add(new SankeyBand(link, source.X + NodeWidth, y0, target.X, y1, width));
        }

        return new SankeyLayout([.. nodes.Values.OrderBy(n => n.Column).ThenBy(n => n.Y)], bands);
    }
}
