using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Dapr.Client.Autogen.Grpc.v1;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// What a Dapr 1.16.9 sidecar makes of a gRPC <c>PublishEvent</c> call, byte for byte, read from its
/// sources rather than assumed, so that a test can put what our publisher really sent through the
/// rules the real sidecar applies and hand the result to our subscriber. No sidecar runs here.
/// <list type="bullet">
/// <item>dapr/dapr v1.16.9 <c>pkg/api/grpc/grpc.go</c> <c>PublishEvent</c>: a <c>rawPayload</c> metadata
/// entry skips the envelope; otherwise <c>NewCloudEvent</c> builds it and <c>json.Marshal</c> turns it
/// into the bytes the broker stores.</item>
/// <item>dapr/dapr v1.16.9 <c>pkg/runtime/pubsub/cloudevents.go</c> <c>NewCloudEvent</c>: an
/// <c>application/cloudevents+json</c> body is taken as a CloudEvent; otherwise the metadata entries
/// <c>cloudevent.id</c>, <c>.source</c>, <c>.type</c>, <c>.traceid</c>, <c>.tracestate</c> and
/// <c>.traceparent</c> (matched without regard to case, mapstructure <c>WeakDecode</c>) override the
/// defaults, and <c>traceparent</c> wins over the sidecar's own trace id.</item>
/// <item>dapr/components-contrib v1.16.9 (the version dapr v1.16.9's go.mod pins)
/// <c>pubsub/envelope.go</c> <c>NewCloudEventsEnvelope</c>: JSON content types put the parsed JSON in
/// <c>data</c> (the raw text when it does not parse); <c>application/octet-stream</c>, and a
/// protobuf that is itself a CloudEvent, go base64 into <c>data_base64</c>; every other type puts
/// <c>string(data)</c> into <c>data</c>. <c>contenttype/utils.go</c> decides the types: a lower-cased
/// exact match, or a match of what stands before the first ';'.</item>
/// <item><c>contenttype.IsCloudEventProtobuf</c> for <c>application/x-protobuf</c> calls
/// cloudevents/sdk-go <c>binding/format/protobuf/v2</c> v2.15.2 <c>Protobuf.Unmarshal</c>:
/// protobuf-go v1.36.6 <c>proto.Unmarshal</c> into <c>io.cloudevents.v1.CloudEvent</c>
/// (<c>internal/impl/decode.go</c>, <c>codec_map.go</c>), then <c>FromProto</c>, which fails for an
/// attribute value with no <c>attr</c> set. See <see cref="GoCloudEventProtobuf"/>.</item>
/// <item>Go's <c>encoding/json</c> (Go 1.24, dapr v1.16.9's toolchain) writes a map with its keys
/// sorted and escapes strings HTML-safe; each byte of <c>string(data)</c> that is not valid UTF-8
/// becomes <c>\ufffd</c>. That replacement is what destroys binary data sent under any other
/// content type.</item>
/// <item>Delivery over HTTP (dapr/dapr v1.16.9 <c>pkg/runtime/subscription/subscription.go</c> and
/// <c>pkg/runtime/subscription/postman/http/http.go</c>): without <c>rawPayload</c> the stored bytes
/// are POSTed unchanged to the route as <c>application/cloudevents+json</c>.</item>
/// </list>
/// Inputs the rules above treat in ways this helper does not model (a <c>rawPayload</c> or
/// <c>ttlInSeconds</c> entry, a CloudEvent as the body, JSON data that is not UTF-8, protobuf
/// CloudEvents with text data or URI attributes) throw <see cref="NotSupportedException"/> instead of
/// guessing.
/// </summary>
internal static class DaprPubSubRules
{
    /// <summary>The trace context the sidecar's own gRPC server span would carry.</summary>
    public const string SidecarTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>The CloudEvent JSON the sidecar of <paramref name="appId"/> stores in the broker for <paramref name="request"/>, and later delivers.</summary>
    public static byte[] CloudEventFor(PublishEventRequest request, string appId, DateTimeOffset now, string sidecarTraceparent = SidecarTraceparent, string sidecarTracestate = "")
    {
        var metadata = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal);
        foreach (var unmodelled in new[] { "rawPayload", "ttlInSeconds" })
        {
            if (metadata.ContainsKey(unmodelled))
            {
                throw new NotSupportedException($"The metadata entry {unmodelled} takes a path these rules do not model.");
            }
        }

        var contentType = request.DataContentType;
        if (IsContentType(contentType, "application/cloudevents+json"))
        {
            throw new NotSupportedException("A CloudEvent as the body (FromCloudEvent) is not modelled.");
        }

        // NewCloudEvent: defaults, then the cloudevent.* metadata overrides.
        var id = Override(metadata, "cloudevent.id") ?? "";
        var source = Override(metadata, "cloudevent.source") ?? appId;
        var type = Override(metadata, "cloudevent.type") ?? "";
        var traceId = Override(metadata, "cloudevent.traceid") ?? sidecarTraceparent;
        var traceState = Override(metadata, "cloudevent.tracestate") ?? sidecarTracestate;
        if (Override(metadata, "cloudevent.traceparent") is { Length: > 0 } traceParent)
        {
            traceId = traceParent;
        }

        // NewCloudEventsEnvelope.
        if (id.Length == 0)
        {
            id = Guid.NewGuid().ToString();
        }

        if (type.Length == 0)
        {
            type = "com.dapr.event.sent";
        }

        if (source.Length == 0)
        {
            source = "Dapr";
        }

        if (contentType.Length == 0)
        {
            contentType = "text/plain";
        }

        var data = request.Data.ToByteArray();
        var json = new GoJsonWriter();
        var fields = new SortedDictionary<string, Action>(Utf8Order.Instance)
        {
            ["id"] = () => json.String(id),
            ["specversion"] = () => json.String("1.0"),
            ["datacontenttype"] = () => json.String(contentType),
            ["source"] = () => json.String(source),
            ["type"] = () => json.String(type),
            ["topic"] = () => json.String(request.Topic),
            ["pubsubname"] = () => json.String(request.PubsubName),
            ["traceid"] = () => json.String(traceId),
            ["traceparent"] = () => json.String(traceId),
            ["tracestate"] = () => json.String(traceState),
            ["time"] = () => json.String(now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        };
        if (IsContentType(contentType, "application/json"))
        {
            if (ParseFirstJsonValue(data) is { } parsed)
            {
                fields["data"] = () => json.Value(parsed.RootElement);
            }
            else
            {
                fields["data"] = () => json.String(data);
            }
        }
        else if (IsContentType(contentType, "application/octet-stream") || IsCloudEventProtobuf(contentType, data))
        {
            fields["data_base64"] = () => json.String(Convert.ToBase64String(data));
        }
        else
        {
            fields["data"] = () => json.String(data);
        }

        json.Object(fields);
        return json.ToArray();
    }

    /// <summary>POSTs <paramref name="cloudEvent"/> to <paramref name="route"/> as the sidecar delivers it; returns the HTTP status and the reply's <c>status</c>.</summary>
    public static async Task<(System.Net.HttpStatusCode Code, string? Status)> DeliverAsync(HttpClient http, string route, byte[] cloudEvent)
    {
        using var content = new ByteArrayContent(cloudEvent);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
        using var response = await http.PostAsync(route, content);
        var body = await response.Content.ReadAsByteArrayAsync();
        if (body.Length == 0)
        {
            return (response.StatusCode, null);
        }

        using var reply = JsonDocument.Parse(body);
        return (response.StatusCode, reply.RootElement.TryGetProperty("status", out var status) ? status.GetString() : null);
    }

    /// <summary><c>contenttype.isContentType</c>: lower-cased, equal to <paramref name="expected"/> or equal before the first ';' (no trimming).</summary>
    internal static bool IsContentType(string contentType, string expected)
    {
        var lower = contentType.ToLowerInvariant();
        if (lower == expected)
        {
            return true;
        }

        var semicolon = lower.IndexOf(';', StringComparison.Ordinal);
        return semicolon >= 0 && lower[..semicolon] == expected;
    }

    /// <summary><c>contenttype.IsCloudEventProtobuf</c>.</summary>
    internal static bool IsCloudEventProtobuf(string contentType, byte[] data) =>
        IsContentType(contentType, "application/cloudevents+protobuf")
        || (IsContentType(contentType, "application/x-protobuf") && GoCloudEventProtobuf.Unmarshals(data));

    /// <summary>mapstructure matches a tag exactly first, then without regard to case.</summary>
    private static string? Override(Dictionary<string, string> metadata, string key)
    {
        if (metadata.TryGetValue(key, out var exact))
        {
            return exact;
        }

        var folded = metadata.Where(m => string.Equals(m.Key, key, StringComparison.OrdinalIgnoreCase)).ToList();
        return folded.Count switch
        {
            0 => null,
            1 => folded[0].Value,
            _ => throw new NotSupportedException($"Several metadata keys match {key}; the sidecar would pick one at random."),
        };
    }

    /// <summary>
    /// <c>unmarshalPrecise</c>: a <c>json.Decoder</c> reads the first value and ignores what follows;
    /// null when it does not parse. Go accepts strings that are not UTF-8 (and replaces the bytes);
    /// that case is not modelled.
    /// </summary>
    private static JsonDocument? ParseFirstJsonValue(byte[] data)
    {
        if (!Utf8.IsValid(data))
        {
            throw new NotSupportedException("JSON data that is not UTF-8 is not modelled.");
        }

        try
        {
            var reader = new Utf8JsonReader(data, new JsonReaderOptions { MaxDepth = 10_000, AllowMultipleValues = true });
            return reader.Read() ? JsonDocument.ParseValue(ref reader) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Go sorts map keys as strings, which compares their UTF-8 bytes.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y) =>
            ((ReadOnlySpan<byte>)Encoding.UTF8.GetBytes(x ?? "")).SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
    }

    /// <summary>Go's <c>encoding/json</c> output for the values a CloudEvent map holds.</summary>
    private sealed class GoJsonWriter
    {
        private const string Hex = "0123456789abcdef";
        private readonly ArrayBufferWriter<byte> _out = new();

        public byte[] ToArray() => _out.WrittenSpan.ToArray();

        public void Object(SortedDictionary<string, Action> fields)
        {
            Raw("{"u8);
            var first = true;
            foreach (var (name, write) in fields)
            {
                if (!first)
                {
                    Raw(","u8);
                }

                first = false;
                String(name);
                Raw(":"u8);
                write();
            }

            Raw("}"u8);
        }

        public void Value(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    // A Go map keeps the last of duplicate keys.
                    var members = new SortedDictionary<string, Action>(Utf8Order.Instance);
                    foreach (var property in element.EnumerateObject())
                    {
                        var value = property.Value;
                        members[property.Name] = () => Value(value);
                    }

                    Object(members);
                    break;
                case JsonValueKind.Array:
                    Raw("["u8);
                    var first = true;
                    foreach (var item in element.EnumerateArray())
                    {
                        if (!first)
                        {
                            Raw(","u8);
                        }

                        first = false;
                        Value(item);
                    }

                    Raw("]"u8);
                    break;
                case JsonValueKind.String:
                    String(element.GetString()!);
                    break;
                default:
                    // json.Number, true, false and null are written as their literal text.
                    Raw(Encoding.UTF8.GetBytes(element.GetRawText()));
                    break;
            }
        }

        public void String(string value) => String(Encoding.UTF8.GetBytes(value));

        /// <summary><c>appendString</c> with HTML escaping: Go's rules, including one <c>\ufffd</c> per byte that does not start a valid UTF-8 sequence.</summary>
        public void String(ReadOnlySpan<byte> value)
        {
            Raw("\""u8);
            var i = 0;
            while (i < value.Length)
            {
                var b = value[i];
                if (b < 0x80)
                {
                    switch (b)
                    {
                        case (byte)'"' or (byte)'\\':
                            Raw([(byte)'\\', b]);
                            break;
                        case (byte)'\b':
                            Raw(@"\b"u8);
                            break;
                        case (byte)'\f':
                            Raw(@"\f"u8);
                            break;
                        case (byte)'\n':
                            Raw(@"\n"u8);
                            break;
                        case (byte)'\r':
                            Raw(@"\r"u8);
                            break;
                        case (byte)'\t':
                            Raw(@"\t"u8);
                            break;
                        case < 0x20 or (byte)'<' or (byte)'>' or (byte)'&':
                            Raw([(byte)'\\', (byte)'u', (byte)'0', (byte)'0', (byte)Hex[b >> 4], (byte)Hex[b & 0xF]]);
                            break;
                        default:
                            Raw([b]);
                            break;
                    }

                    i++;
                    continue;
                }

                // utf8.DecodeRune: an invalid sequence yields (RuneError, 1), so each bad byte is replaced on its own.
                if (Rune.DecodeFromUtf8(value[i..], out var rune, out var size) != OperationStatus.Done)
                {
                    Raw(@"\ufffd"u8);
                    i++;
                    continue;
                }

                if (rune.Value is 0x2028 or 0x2029)
                {
                    Raw([(byte)'\\', (byte)'u', (byte)'2', (byte)'0', (byte)'2', (byte)Hex[rune.Value & 0xF]]);
                }
                else
                {
                    Raw(value.Slice(i, size));
                }

                i += size;
            }

            Raw("\""u8);
        }

        private void Raw(ReadOnlySpan<byte> bytes) => _out.Write(bytes);
    }
}

/// <summary>
/// Whether cloudevents/sdk-go v2.15.2 <c>Protobuf.Unmarshal</c> accepts bytes as an
/// <c>io.cloudevents.v1.CloudEvent</c>, following protobuf-go v1.36.6's decoder: a field whose wire
/// type does not match its declaration is kept as unknown, a proto3 <c>string</c> must be valid UTF-8,
/// a map entry without a value gets an empty message, and the last occurrence of a oneof member wins.
/// <c>FromProto</c> then fails on any attribute value whose <c>attr</c> is unset, which is what a
/// <c>google.protobuf.Timestamp</c> in field 5 (our envelope's <c>occurred_at</c>) parses to.
/// </summary>
internal static class GoCloudEventProtobuf
{
    private const int Varint = 0, Fixed64 = 1, Bytes = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5;
    private const ulong MaxValidNumber = (1 << 29) - 1;

    private sealed class Invalid : Exception;

    public static bool Unmarshals(byte[] data)
    {
        // A Go map: a later entry with the same key replaces the earlier one.
        var attributes = new Dictionary<string, int?>(StringComparer.Ordinal);
        var textData = false;
        try
        {
            var b = new ReadOnlySpan<byte>(data);
            while (b.Length > 0)
            {
                var (number, wireType) = MessageTag(ref b);
                switch (number)
                {
                    case 1 or 2 or 3 or 4 when wireType == Bytes:
                        Utf8String(ref b);
                        break;
                    case 5 when wireType == Bytes:
                        var (key, attr) = AttributeEntry(Length(ref b));
                        attributes[key] = attr;
                        break;
                    case 6 when wireType == Bytes:
                        Length(ref b);
                        textData = false;
                        break;
                    case 7 when wireType == Bytes:
                        Utf8String(ref b);
                        textData = true;
                        break;
                    case 8 when wireType == Bytes:
                        Any(Length(ref b));
                        textData = false;
                        break;
                    default:
                        SkipField(ref b, number, wireType);
                        break;
                }
            }
        }
        catch (Invalid)
        {
            return false;
        }

        if (attributes.Values.Any(attr => attr is null))
        {
            return false;
        }

        return textData || attributes.Values.Any(attr => attr is 5 or 6)
            ? throw new NotSupportedException("Protobuf CloudEvents with text data or URI attributes are not modelled.")
            : true;
    }

    /// <summary>One <c>attributes</c> map entry: its key, and the number of the <c>attr</c> member its value has set (null for none).</summary>
    private static (string Key, int? Attr) AttributeEntry(ReadOnlySpan<byte> entry)
    {
        var key = "";
        int? attr = null;
        while (entry.Length > 0)
        {
            var (number, wireType) = Tag(ref entry);
            if (number > MaxValidNumber)
            {
                throw new Invalid();
            }

            switch (number)
            {
                case 1 when wireType == Bytes:
                    key = Encoding.UTF8.GetString(Utf8String(ref entry));
                    break;
                case 2 when wireType == Bytes:
                    // Every occurrence of the value merges into the entry's one message.
                    attr = AttributeValue(Length(ref entry)) ?? attr;
                    break;
                default:
                    SkipField(ref entry, number, wireType);
                    break;
            }
        }

        return (key, attr);
    }

    /// <summary>A <c>CloudEventAttributeValue</c>: the number of the oneof member set last, or null.</summary>
    private static int? AttributeValue(ReadOnlySpan<byte> value)
    {
        int? attr = null;
        while (value.Length > 0)
        {
            var (number, wireType) = MessageTag(ref value);
            switch (number)
            {
                case 1 or 2 when wireType == Varint:
                    ReadVarint(ref value);
                    attr = (int)number;
                    break;
                case 3 or 5 or 6 when wireType == Bytes:
                    Utf8String(ref value);
                    attr = (int)number;
                    break;
                case 4 when wireType == Bytes:
                    Length(ref value);
                    attr = 4;
                    break;
                case 7 when wireType == Bytes:
                    Timestamp(Length(ref value));
                    attr = 7;
                    break;
                default:
                    SkipField(ref value, number, wireType);
                    break;
            }
        }

        return attr;
    }

    private static void Timestamp(ReadOnlySpan<byte> timestamp)
    {
        while (timestamp.Length > 0)
        {
            var (number, wireType) = MessageTag(ref timestamp);
            if (number is 1 or 2 && wireType == Varint)
            {
                ReadVarint(ref timestamp);
            }
            else
            {
                SkipField(ref timestamp, number, wireType);
            }
        }
    }

    private static void Any(ReadOnlySpan<byte> any)
    {
        while (any.Length > 0)
        {
            var (number, wireType) = MessageTag(ref any);
            switch (number)
            {
                case 1 when wireType == Bytes:
                    Utf8String(ref any);
                    break;
                case 2 when wireType == Bytes:
                    Length(ref any);
                    break;
                default:
                    SkipField(ref any, number, wireType);
                    break;
            }
        }
    }

    /// <summary>A tag inside a message: the number must be 1 to 2^29-1, and an end-group tag outside a group is an error.</summary>
    private static (ulong Number, int WireType) MessageTag(ref ReadOnlySpan<byte> b)
    {
        var tag = ReadVarint(ref b);
        var number = tag >> 3;
        if (number is < 1 or > MaxValidNumber || (tag & 7) == EndGroup)
        {
            throw new Invalid();
        }

        return (number, (int)(tag & 7));
    }

    /// <summary><c>protowire.ConsumeTag</c>: numbers up to 2^31-1 pass here; callers check the stricter limit.</summary>
    private static (ulong Number, int WireType) Tag(ref ReadOnlySpan<byte> b)
    {
        var tag = ReadVarint(ref b);
        var number = tag >> 3;
        if (number is < 1 or > int.MaxValue)
        {
            throw new Invalid();
        }

        return (number, (int)(tag & 7));
    }

    /// <summary><c>protowire.ConsumeVarint</c>: at most ten bytes, the tenth at most 1.</summary>
    private static ulong ReadVarint(ref ReadOnlySpan<byte> b)
    {
        ulong value = 0;
        for (var i = 0; i < 10; i++)
        {
            if (i >= b.Length)
            {
                throw new Invalid();
            }

            var current = b[i];
            if (i == 9 && current > 1)
            {
                throw new Invalid();
            }

            value |= (ulong)(current & 0x7F) << (7 * i);
            if (current < 0x80)
            {
                b = b[(i + 1)..];
                return value;
            }
        }

        throw new Invalid();
    }

    private static ReadOnlySpan<byte> Length(ref ReadOnlySpan<byte> b)
    {
        var length = ReadVarint(ref b);
        if (length > (ulong)b.Length)
        {
            throw new Invalid();
        }

        var value = b[..(int)length];
        b = b[(int)length..];
        return value;
    }

    private static ReadOnlySpan<byte> Utf8String(ref ReadOnlySpan<byte> b)
    {
        var value = Length(ref b);
        return Utf8.IsValid(value) ? value : throw new Invalid();
    }

    /// <summary><c>protowire.ConsumeFieldValue</c>: unknown fields are skipped, groups to their matching end.</summary>
    private static void SkipField(ref ReadOnlySpan<byte> b, ulong number, int wireType)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint(ref b);
                break;
            case Fixed32 or Fixed64:
                var size = wireType == Fixed32 ? 4 : 8;
                if (b.Length < size)
                {
                    throw new Invalid();
                }

                b = b[size..];
                break;
            case Bytes:
                Length(ref b);
                break;
            case StartGroup:
                while (true)
                {
                    var (inner, innerType) = Tag(ref b);
                    if (innerType == EndGroup)
                    {
                        if (inner != number)
                        {
                            throw new Invalid();
                        }

                        return;
                    }

                    SkipField(ref b, inner, innerType);
                }

            default:
                throw new Invalid();
        }
    }
}
