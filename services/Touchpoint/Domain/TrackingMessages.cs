using System.Globalization;
using System.Text.Json;

namespace Journey.Touchpoint.Domain;

/// <summary>The Segment spec's message types.</summary>
public enum TrackingMessageType
{
    /// <summary>Not a type the spec names.</summary>
    Unknown = 0,

    /// <summary>An action (<c>Order Completed</c>).</summary>
    Track,

    /// <summary>A web page view.</summary>
    Page,

    /// <summary>An app screen view.</summary>
    Screen,

    /// <summary>Who the person is (user id and traits).</summary>
    Identify,

    /// <summary>Links a previous id to the user id.</summary>
    Alias,

    /// <summary>The person's company or account.</summary>
    Group,
}

/// <summary>One message of the tracking API as a Segment-compatible SDK sends it, reduced to what Journey reads.</summary>
/// <param name="Type">The type.</param>
/// <param name="MessageId">The sender's unique id for the message (the interaction id).</param>
/// <param name="UserId">The sender's id of a known person.</param>
/// <param name="AnonymousId">The device or browser id.</param>
/// <param name="PreviousId">For alias: the id being linked.</param>
/// <param name="EventName">For track: the event; for page and screen: the name.</param>
/// <param name="Timestamp">When it happened by the sender's clock.</param>
/// <param name="SentAt">When the sender sent it by its clock.</param>
/// <param name="Properties">Track, page and screen properties (scalars as text).</param>
/// <param name="Traits">Identify traits, and <c>context.traits</c> for the others (scalars as text).</param>
/// <param name="PagePath">The page's URL path (from properties or <c>context.page</c>).</param>
/// <param name="Campaign">Whether <c>context.campaign</c> is present.</param>
/// <param name="ClickId">An ad click id (<c>gclid</c>, <c>fbclid</c>, <c>msclkid</c>, <c>ttclid</c>) from properties, campaign or the page URL; empty for none.</param>
public sealed record TrackingMessage(
    TrackingMessageType Type,
    string MessageId,
    string UserId,
    string AnonymousId,
    string PreviousId,
    string EventName,
    DateTimeOffset? Timestamp,
    DateTimeOffset? SentAt,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyDictionary<string, string> Traits,
    string PagePath,
    bool Campaign,
    string ClickId)
{
    /// <summary>
    /// <c>context.consent.categoryPreferences</c> of Segment's consent spec: each category the person
    /// allowed (true) or refused (false); empty when the message carries none.
    /// </summary>
    public IReadOnlyDictionary<string, bool> CategoryPreferences { get; init; } = NoPreferences;

    private static readonly IReadOnlyDictionary<string, bool> NoPreferences = new Dictionary<string, bool>();
}

/// <summary>
/// Reads the tracking API's JSON as Segment's spec defines it (Journey reads messages, never writes them).
/// A body that is not JSON, or not an object, is a bad request; a message that breaks a rule is rejected alone.
/// </summary>
public static class TrackingMessageReader
{
    private static readonly string[] ClickIdNames = ["gclid", "fbclid", "msclkid", "ttclid", "dclid", "li_fat_id"];

    /// <summary>The messages of a body: a batch's <c>batch</c> array, or the body itself with <paramref name="impliedType"/>.</summary>
    /// <param name="root">The parsed body.</param>
    /// <param name="impliedType">The route's type (<c>/v1/track</c> → track); null for <c>/v1/batch</c>.</param>
    /// <returns>Each message as parsed, or the reason it cannot be; and the body's <c>writeKey</c>, when present.</returns>
    /// <param name="maxMessageBytes">The most a message's JSON may take; a larger one is rejected alone.</param>
    public static (IReadOnlyList<(TrackingMessage? Message, string? Error)> Messages, string? WriteKey) Read(JsonElement root, TrackingMessageType? impliedType, int maxMessageBytes)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the body must be a JSON object");
        }

        var writeKey = Text(root, "writeKey");
        var batchSentAt = Time(root, "sentAt");
        if (impliedType is { } type)
        {
            return ([ReadOne(root, type, batchSentAt)], writeKey);
        }

        if (!root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("a batch must have a 'batch' array");
        }

        var messages = new List<(TrackingMessage?, string?)>(batch.GetArrayLength());
        foreach (var item in batch.EnumerateArray())
        {
            messages.Add(item.ValueKind != JsonValueKind.Object ? (null, "must be a JSON object")
                : System.Text.Encoding.UTF8.GetByteCount(item.GetRawText()) > maxMessageBytes ? (null, $"exceeds {maxMessageBytes / 1024} KB, the most one message may take")
                : ReadOne(item, TypeOf(Text(item, "type")), batchSentAt));
        }

        return (messages, writeKey);
    }

    /// <summary>The type a <c>type</c> field names (case-insensitive), or <see cref="TrackingMessageType.Unknown"/>.</summary>
    public static TrackingMessageType TypeOf(string? type) => type?.ToLowerInvariant() switch
    {
        "track" => TrackingMessageType.Track,
        "page" => TrackingMessageType.Page,
        "screen" => TrackingMessageType.Screen,
        "identify" => TrackingMessageType.Identify,
        "alias" => TrackingMessageType.Alias,
        "group" => TrackingMessageType.Group,
        _ => TrackingMessageType.Unknown,
    };

    private static (TrackingMessage?, string?) ReadOne(JsonElement item, TrackingMessageType type, DateTimeOffset? batchSentAt)
    {
        if (type == TrackingMessageType.Unknown)
        {
            return (null, "type must be track, page, screen, identify, alias or group");
        }

        var context = item.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var properties = Scalars(item, "properties");
        var traits = type == TrackingMessageType.Identify ? Scalars(item, "traits") : new Dictionary<string, string>(StringComparer.Ordinal);
        if (context.ValueKind == JsonValueKind.Object)
        {
            foreach (var (key, value) in Scalars(context, "traits"))
            {
                traits.TryAdd(key, value);
            }
        }

        var eventName = type switch
        {
            TrackingMessageType.Track => Text(item, "event") ?? "",
            TrackingMessageType.Page or TrackingMessageType.Screen => Text(item, "name") ?? properties.GetValueOrDefault("name") ?? "",
            _ => "",
        };
        var page = context.ValueKind == JsonValueKind.Object && context.TryGetProperty("page", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var url = properties.GetValueOrDefault("url") ?? (page.ValueKind == JsonValueKind.Object ? Text(page, "url") : null) ?? "";
        var path = properties.GetValueOrDefault("path") ?? (page.ValueKind == JsonValueKind.Object ? Text(page, "path") : null) ?? PathOf(url);
        var campaign = context.ValueKind == JsonValueKind.Object && context.TryGetProperty("campaign", out var campaignElement) && campaignElement.ValueKind == JsonValueKind.Object ? campaignElement : default;
        var clickId = ClickIdNames.Select(n => properties.GetValueOrDefault(n)
            ?? (campaign.ValueKind == JsonValueKind.Object ? Text(campaign, n) : null)
            ?? QueryValue(url, n)).FirstOrDefault(v => !string.IsNullOrEmpty(v)) ?? "";

        var message = new TrackingMessage(
            type,
            Text(item, "messageId") ?? "",
            Text(item, "userId") ?? "",
            Text(item, "anonymousId") ?? "",
            Text(item, "previousId") ?? "",
            eventName,
            Time(item, "timestamp") ?? Time(item, "originalTimestamp"),
            Time(item, "sentAt") ?? batchSentAt,
            properties,
            traits,
            path,
            campaign.ValueKind == JsonValueKind.Object,
            clickId)
        {
            CategoryPreferences = CategoryPreferences(context),
        };
        if (message.UserId.Length == 0 && message.AnonymousId.Length == 0)
        {
            return (message, "userId or anonymousId is required");
        }

        return (message, null);
    }

    /// <summary>
    /// The boolean members of <c>context.consent.categoryPreferences</c>; members of another kind are
    /// not a preference and are skipped, and at most <see cref="MaxCategoryPreferences"/> are read.
    /// </summary>
    private static Dictionary<string, bool> CategoryPreferences(JsonElement context)
    {
        var preferences = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (context.ValueKind == JsonValueKind.Object
            && context.TryGetProperty("consent", out var consent) && consent.ValueKind == JsonValueKind.Object
            && consent.TryGetProperty("categoryPreferences", out var categories) && categories.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in categories.EnumerateObject())
            {
                if (preferences.Count >= MaxCategoryPreferences)
                {
                    break;
                }

                if (member.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    preferences.TryAdd(member.Name, member.Value.GetBoolean());
                }
            }
        }

        return preferences;
    }

    /// <summary>Most consent categories read from one message.</summary>
    public const int MaxCategoryPreferences = 100;

    /// <summary>A string or number field as text; null when absent, null or another kind.</summary>
    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;

    private static DateTimeOffset? Time(JsonElement item, string name) =>
        Text(item, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    /// <summary>The scalar members of an object field (strings, numbers, booleans) as text.</summary>
    private static Dictionary<string, string> Scalars(JsonElement item, string name)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!item.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Object)
        {
            return result;
        }

        foreach (var member in value.EnumerateObject())
        {
            var text = member.Value.ValueKind switch
            {
                JsonValueKind.String => member.Value.GetString(),
                JsonValueKind.Number => member.Value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
            if (text is not null)
            {
                result.TryAdd(member.Name, text);
            }
        }

        return result;
    }

    private static string PathOf(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.AbsolutePath : "";

    private static string? QueryValue(string url, string name)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Query.Length < 2)
        {
            return null;
        }

        foreach (var pair in uri.Query[1..].Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && pair[..eq] == name)
            {
                return Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
        }

        return null;
    }
}
