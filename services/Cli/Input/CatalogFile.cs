using System.Text;
using System.Text.Json;
using Google.Protobuf;

namespace Journey.Cli.Input;

/// <summary>One catalog entry read from a file: the message, or why it could not be read, and where it stands.</summary>
public sealed record CatalogEntry<T>(string Where, T? Message, string? Error)
    where T : class, IMessage<T>, new();

/// <summary>Reads a catalog (touchpoints or content) from CSV or JSON; a bad entry is reported with its line, never sent.</summary>
public static class CatalogFile
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    /// <summary>CSV when the file ends in .csv, JSON when it ends in .json, else <paramref name="format"/>.</summary>
    public static bool IsCsv(string path, string? format)
    {
        if (format is not null)
        {
            return format.Equals("csv", StringComparison.OrdinalIgnoreCase);
        }

        var extension = Path.GetExtension(path);
        if (extension.Equals(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return extension.Equals(".json", StringComparison.OrdinalIgnoreCase)
            ? false
            : throw CliException.Usage($"cannot tell the format of '{path}': name it .csv or .json, or pass --format csv|json.");
    }

    public static IReadOnlyList<CatalogEntry<T>> ReadCsv<T>(string path, Func<CsvRow, T> map)
        where T : class, IMessage<T>, new()
    {
        using var reader = Open(path);
        return Csv.Read(reader).Select(row =>
        {
            try
            {
                return new CatalogEntry<T>($"line {row.Line}", map(row), null);
            }
            catch (CliException e)
            {
                return new CatalogEntry<T>($"line {row.Line}", null, e.Message);
            }
        }).ToList();
    }

    /// <summary>A JSON array of messages in proto JSON, or an object holding one under <paramref name="listField"/>.</summary>
    public static IReadOnlyList<CatalogEntry<T>> ReadJson<T>(string path, string listField)
        where T : class, IMessage<T>, new()
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Input($"cannot read '{path}': {e.Message}");
        }

        var entries = new List<CatalogEntry<T>>();
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && !(reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals(listField)))
                {
                    if (reader.TokenType == JsonTokenType.PropertyName)
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                reader.Read();
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw CliException.Input($"'{path}' must hold a JSON array, or an object with a \"{listField}\" array.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                var line = 1 + bytes.AsSpan(0, start).Count((byte)'\n');
                reader.Skip();
                var text = Encoding.UTF8.GetString(bytes, start, (int)reader.TokenStartIndex + 1 - start);
                try
                {
                    entries.Add(new CatalogEntry<T>($"line {line}", Parser.Parse<T>(text), null));
                }
                catch (InvalidProtocolBufferException e)
                {
                    entries.Add(new CatalogEntry<T>($"line {line}", null, e.Message));
                }
                catch (InvalidJsonException e)
                {
                    entries.Add(new CatalogEntry<T>($"line {line}", null, e.Message));
                }
            }
        }
        catch (JsonException e)
        {
            throw CliException.Input($"'{path}' is not valid JSON (line {e.LineNumber + 1}): {e.Message}");
        }

        return entries;
    }

    public static StreamReader Open(string path)
    {
        try
        {
            return new StreamReader(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Input($"cannot read '{path}': {e.Message}");
        }
    }

    public static double Number(CsvRow row, string column, double fallback = 0)
    {
        var text = row.Get(column);
        if (text.Length == 0)
        {
            return fallback;
        }

        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw CliException.Input($"{column} '{text}' is not a number");
    }
}
