using System.Text;

namespace Journey.Cli.Input;

/// <summary>One CSV record with the file line it starts on, for error messages.</summary>
public sealed record CsvRow(int Line, IReadOnlyDictionary<string, string> Cells)
{
    public string Get(string column) => Cells.TryGetValue(column, out var value) ? value.Trim() : "";

    /// <summary>A list cell: values separated by ';' or '|'.</summary>
    public IReadOnlyList<string> List(string column) =>
        Get(column).Split([';', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>An RFC 4180 reader (quoted fields, doubled quotes, line breaks inside quotes) keyed by the header row.</summary>
public static class Csv
{
    public static IReadOnlyList<CsvRow> Read(TextReader reader)
    {
        var records = ReadRecords(reader).ToList();
        if (records.Count == 0)
        {
            throw CliException.Input("the CSV file is empty: it needs a header row.");
        }

        var header = records[0].Fields.Select(h => h.Trim().ToLowerInvariant().Replace(' ', '_')).ToArray();
        var rows = new List<CsvRow>();
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.All(string.IsNullOrWhiteSpace))
            {
                continue;
            }

            if (fields.Count > header.Length)
            {
                throw CliException.Input($"line {line}: {fields.Count} fields but the header names {header.Length}.");
            }

            var cells = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < fields.Count; i++)
            {
                cells[header[i]] = fields[i];
            }

            rows.Add(new CsvRow(line, cells));
        }

        return rows;
    }

    private static IEnumerable<(int Line, List<string> Fields)> ReadRecords(TextReader reader)
    {
        var line = 1;
        var start = 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        int c;
        while ((c = reader.Read()) != -1)
        {
            any = true;
            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (ch == '\n')
                    {
                        line++;
                    }

                    field.Append(ch);
                }

                continue;
            }

            switch (ch)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    yield return (start, fields);
                    fields = [];
                    line++;
                    start = line;
                    any = false;
                    break;
                default:
                    field.Append(ch);
                    break;
            }
        }

        if (quoted)
        {
            throw CliException.Input($"line {start}: a quoted field is never closed.");
        }

        if (any)
        {
            fields.Add(field.ToString());
            yield return (start, fields);
        }
    }
}
