using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.Reflection;
using Journey.Shared.Security;

namespace Journey.Shared.Errors;

/// <summary>
/// The platform-wide ceiling on every request: walks a parsed message by protobuf reflection and
/// checks nesting depth, string and bytes lengths, repeated counts, map entries and the number of
/// values in all against <see cref="LimitsOptions"/>. Services keep their tighter rules per field;
/// this only makes sure no field of any request is unbounded. Scalar fields are never read, and a
/// request within the limits costs no allocation but one enumerator per non-empty map.
/// </summary>
public sealed class RequestLimits
{
    private readonly ConcurrentDictionary<MessageDescriptor, FieldDescriptor[]> _plans = new();
    private readonly int _maxString;
    private readonly int _maxBytes;
    private readonly int _maxRepeated;
    private readonly int _maxMap;
    private readonly int _maxDepth;
    private readonly int _maxValues;

    /// <summary>Creates the checker for <paramref name="options"/>.</summary>
    public RequestLimits(LimitsOptions options)
    {
        _maxString = options.MaxStringLength;
        _maxBytes = options.MaxBytesLength;
        _maxRepeated = options.MaxRepeatedCount;
        _maxMap = options.MaxMapEntries;
        _maxDepth = options.MaxDepth;
        _maxValues = options.MaxValues;
    }

    /// <summary>The first field of <paramref name="message"/> over a limit (path in snake_case, e.g. <c>interactions[3].properties</c>), or null.</summary>
    public FieldViolation? Check(IMessage message)
    {
        var values = 0;
        return Walk(message, 1, ref values)?.ToViolation();
    }

    /// <summary>Throws INVALID_ARGUMENT with <c>google.rpc.BadRequest</c> naming the field and the limit when <paramref name="message"/> is over one.</summary>
    public void ThrowIfExceeded(IMessage message)
    {
        if (Check(message) is { } violation)
        {
            throw new InvalidArgumentException([violation]);
        }
    }

    private Breach? Walk(IMessage message, int depth, ref int values)
    {
        if (depth > _maxDepth)
        {
            return new Breach("", $"nests messages more than {_maxDepth} levels deep (Journey:Limits:MaxDepth)");
        }

        foreach (var field in PlanOf(message.Descriptor))
        {
            var value = field.Accessor.GetValue(message);
            var breach = field.IsMap ? CheckMap(field, (IDictionary)value, depth, ref values)
                : field.IsRepeated ? CheckRepeated(field, (IList)value, depth, ref values)
                : CheckSingle(field, value, depth, ref values);
            if (breach is not null)
            {
                return breach;
            }
        }

        return null;
    }

    private Breach? CheckSingle(FieldDescriptor field, object? value, int depth, ref int values)
    {
        switch (value)
        {
            case null:
                return null;
            case IMessage nested:
                return Count(ref values, field.Name) ?? Walk(nested, depth + 1, ref values)?.Under(field.Name);
            default:
                return CheckScalar(value, ref values)?.Under(field.Name);
        }
    }

    private Breach? CheckRepeated(FieldDescriptor field, IList list, int depth, ref int values)
    {
        var count = list.Count;
        if (count == 0)
        {
            return null;
        }

        if (CheckCount(field.Name, count, "elements", _maxRepeated, "MaxRepeatedCount", ref values) is { } tooMany)
        {
            return tooMany;
        }

        if (field.FieldType is FieldType.Message or FieldType.Group)
        {
            for (var i = 0; i < count; i++)
            {
                if (Walk((IMessage)list[i]!, depth + 1, ref values) is { } breach)
                {
                    return breach.Under(Indexed(field.Name, i));
                }
            }
        }
        else if (field.FieldType is FieldType.String or FieldType.Bytes)
        {
            for (var i = 0; i < count; i++)
            {
                if (CheckLength(list[i]!) is { } breach)
                {
                    return breach.Under(Indexed(field.Name, i));
                }
            }
        }

        return null;
    }

    private Breach? CheckMap(FieldDescriptor field, IDictionary map, int depth, ref int values)
    {
        var count = map.Count;
        if (count == 0)
        {
            return null;
        }

        if (CheckCount(field.Name, count, "entries", _maxMap, "MaxMapEntries", ref values) is { } tooMany)
        {
            return tooMany;
        }

        if (map is MapField<string, string> texts)
        {
            // The common shape (small properties): typed enumeration, no boxing.
            foreach (var (key, text) in texts)
            {
                if (key.Length > _maxString)
                {
                    return TooLong(key.Length).Under(field.Name, "a key ");
                }

                if (text.Length > _maxString)
                {
                    return TooLong(text.Length).Under(field.Name, "a value ");
                }
            }

            return null;
        }

        var entry = field.MessageType;
        var keyIsText = entry.Fields[1].FieldType is FieldType.String;
        var valueType = entry.Fields[2].FieldType;
        var valueIsChecked = valueType is FieldType.String or FieldType.Bytes or FieldType.Message;
        if (!keyIsText && !valueIsChecked)
        {
            return null;
        }

        var entries = map.GetEnumerator();
        while (entries.MoveNext())
        {
            if (keyIsText && CheckLength(entries.Key) is { } keyBreach)
            {
                return keyBreach.Under(field.Name, "a key ");
            }

            var item = entries.Value;
            var breach = item switch
            {
                IMessage nested => Walk(nested, depth + 1, ref values),
                string or ByteString => CheckLength(item),
                _ => null,
            };
            if (breach is not null)
            {
                return breach.Under(field.Name, "a value ");
            }
        }

        return null;
    }

    private Breach? CheckScalar(object value, ref int values) =>
        value switch
        {
            string { Length: 0 } or ByteString { Length: 0 } => null,
            _ => Count(ref values, "") ?? CheckLength(value),
        };

    private Breach? CheckLength(object value) =>
        value switch
        {
            string text when text.Length > _maxString => TooLong(text.Length),
            ByteString bytes when bytes.Length > _maxBytes =>
                new Breach("", $"is {bytes.Length} bytes long; at most {_maxBytes} are allowed (Journey:Limits:MaxBytesLength)"),
            _ => null,
        };

    private Breach TooLong(int length) =>
        new("", $"is {length} characters long; at most {_maxString} are allowed (Journey:Limits:MaxStringLength)");

    // A repeated field or map counts against its own limit, then each of its values against the request's.
    private Breach? CheckCount(string field, int count, string unit, int max, string setting, ref int values)
    {
        if (count > max)
        {
            return new Breach(field, $"has {count} {unit}; at most {max} are allowed (Journey:Limits:{setting})");
        }

        values += count;
        return values > _maxValues ? TooManyValues(field) : null;
    }

    private Breach? Count(ref int values, string field) => ++values > _maxValues ? TooManyValues(field) : null;

    private Breach TooManyValues(string field) =>
        new(field, $"takes the request over {_maxValues} values in all (Journey:Limits:MaxValues)");

    private static string Indexed(string name, int index) => string.Create(CultureInfo.InvariantCulture, $"{name}[{index}]");

    /// <summary>The fields worth reading: strings, bytes, messages, repeated and map fields. Scalars cannot exceed anything.</summary>
    private FieldDescriptor[] PlanOf(MessageDescriptor descriptor) =>
        _plans.TryGetValue(descriptor, out var plan) ? plan : _plans.GetOrAdd(descriptor, static d => d.Fields.InFieldNumberOrder()
            .Where(f => f.IsRepeated || f.IsMap || f.FieldType is FieldType.String or FieldType.Bytes or FieldType.Message or FieldType.Group)
            .ToArray());

    /// <summary>A limit broken somewhere below; the path is built only on the way out of a failed check.</summary>
    private sealed class Breach(string path, string rule)
    {
        private string _path = path;
        private string _prefix = "";

        public Breach Under(string segment, string prefix = "")
        {
            _path = _path.Length == 0 ? segment : $"{segment}.{_path}";
            _prefix = prefix.Length > 0 && _prefix.Length == 0 ? prefix : _prefix;
            return this;
        }

        public FieldViolation ToViolation() => new(_path.Length == 0 ? "request" : _path, $"{_prefix}{rule}".Trim());
    }
}
