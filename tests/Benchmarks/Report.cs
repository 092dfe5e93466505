using System.Globalization;

namespace Journey.Benchmarks;

/// <summary>One reported figure with its ratio to the same-run baseline and the target it is held to.</summary>
/// <param name="Scenario">What was measured.</param>
/// <param name="Value">The figure as text, e.g. <c>p99 212 µs</c>.</param>
/// <param name="Baseline">The baseline it is compared with.</param>
/// <param name="Ratio">Figure divided by baseline (for rates: baseline divided by figure is not used; see <paramref name="Target"/>).</param>
/// <param name="Target">The target, e.g. <c>≤ 1.5×</c>.</param>
/// <param name="Met">Whether the target was met; null for a baseline or a figure only reported.</param>
public sealed record Figure(string Scenario, string Value, string Baseline, double Ratio, string Target, bool? Met)
{
    /// <summary>PASS or MISS for a figure held to a target; a dash for a baseline or a figure only reported.</summary>
    public string Verdict => Met switch { null => "-", true => "PASS", false => "MISS" };
}

/// <summary>Prints the figures as a table.</summary>
public static class Report
{
    public static string Micros(TimeSpan value) => value.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture) + " µs";

    public static string Rate(double perSecond, string unit) => perSecond.ToString("N0", CultureInfo.InvariantCulture) + " " + unit + "/s";

    public static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    public static void Print(IReadOnlyList<Figure> figures, TextWriter output)
    {
        output.WriteLine();
        output.WriteLine("| scenario | figure | baseline (same run) | ratio | target | met |");
        output.WriteLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
        {
            output.WriteLine($"| {f.Scenario} | {f.Value} | {f.Baseline} | {f.Ratio.ToString("0.00", CultureInfo.InvariantCulture)}× | {f.Target} | {f.Verdict} |");
        }
    }
}
