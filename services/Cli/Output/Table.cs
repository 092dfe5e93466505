namespace Journey.Cli.Output;

/// <summary>A plain-text table with aligned columns; numbers are right-aligned.</summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public Table Add(params object?[] cells)
    {
        _rows.Add(cells.Select(Format).ToArray());
        return this;
    }

    public void Write(TextWriter writer)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var numeric = headers.Select((_, i) => _rows.Count > 0 && _rows.All(r => i >= r.Length || IsNumber(r[i]))).ToArray();
        WriteRow(writer, headers, widths, numeric);
        writer.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
        {
            WriteRow(writer, row, widths, numeric);
        }
    }

    private static void WriteRow(TextWriter writer, string[] cells, int[] widths, bool[] numeric)
    {
        var parts = widths.Select((w, i) =>
        {
            var cell = i < cells.Length ? cells[i] : "";
            return numeric[i] ? cell.PadLeft(w) : cell.PadRight(w);
        });
        writer.WriteLine(string.Join("  ", parts).TrimEnd());
    }

    private static bool IsNumber(string text) => text.Length == 0 || double.TryParse(text.TrimEnd('%'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);

    private static string Format(object? cell) => cell switch
    {
        null => "",
        double d => d.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
        Enum e => EnumText.Format(e),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };
}
