using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>What a tracking message becomes under its source's plan.</summary>
public abstract record PlannedMessage
{
    /// <summary>An interaction to record through the ingestion path.</summary>
    public sealed record Record(InteractionInput Input) : PlannedMessage;

    /// <summary>Identifiers (and traits) of one person for the profile service.</summary>
    public sealed record Identify(IReadOnlyList<(IdentifierKind Kind, string Value)> Identifiers, IReadOnlyDictionary<string, string> Traits, DateTimeOffset At) : PlannedMessage;

    /// <summary>Neither recorded nor failed: counted as an issue of the source.</summary>
    public sealed record Unmapped(TrackingIssueKey Issue) : PlannedMessage;

    /// <summary>Broke the plan or the spec; not kept.</summary>
    public sealed record Rejected(string Reason, TrackingIssueKey? Issue = null) : PlannedMessage;

    /// <summary>Accepted and not kept: a type Journey does not map (group).</summary>
    public sealed record Ignored : PlannedMessage;
}

/// <summary>
/// Maps tracking messages onto the catalog by a source's plan, and corrects their times for the
/// sender's clock. Pure: no store, no clock.
/// </summary>
public static class TrackingPlanner
{
    /// <summary>
    /// Differences between the sender's and the service's clocks below this are taken as network and
    /// queueing delay, not skew: the sender's timestamp stands, so an SDK's retry of a message carries
    /// the same time and is a duplicate, not a conflict.
    /// </summary>
    public static readonly TimeSpan SkewTolerance = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When it happened by the service's clock: <c>receivedAt − (sentAt − timestamp)</c>, Segment's
    /// rule. A skew within <see cref="SkewTolerance"/> is ignored, and a larger one counts in whole
    /// seconds, so the retry of a message sent with a wrong clock (sent and received again, a few
    /// milliseconds apart) gets the same corrected time.
    /// </summary>
    public static DateTimeOffset CorrectedTime(DateTimeOffset? timestamp, DateTimeOffset? sentAt, DateTimeOffset receivedAt)
    {
        if (timestamp is not { } at)
        {
            return receivedAt;
        }

        if (sentAt is not { } sent)
        {
            return at;
        }

        var skew = sent - receivedAt;
        if (skew.Duration() < SkewTolerance)
        {
            return at;
        }

        return at - TimeSpan.FromSeconds(Math.Round(skew.TotalSeconds));
    }

    /// <summary>Whether a URL path matches a pattern where <c>*</c> stands for any characters (<c>/models/*</c>).</summary>
    public static bool PathMatches(string pattern, string path)
    {
        var parts = pattern.Split('*');
        if (parts.Length == 1)
        {
            return string.Equals(pattern, path, StringComparison.Ordinal);
        }

        if (!path.StartsWith(parts[0], StringComparison.Ordinal) || !path.EndsWith(parts[^1], StringComparison.Ordinal) || path.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }

        var position = parts[0].Length;
        var end = path.Length - parts[^1].Length;
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var found = path.IndexOf(parts[i], position, end - position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }

            position = found + parts[i].Length;
        }

        return true;
    }

    /// <summary>What <paramref name="message"/> becomes under <paramref name="plan"/>, received at <paramref name="receivedAt"/>.</summary>
    public static PlannedMessage Plan(TrackingPlan plan, TrackingMessage message, DateTimeOffset receivedAt)
    {
        var at = CorrectedTime(message.Timestamp, message.SentAt, receivedAt);
        var identifiers = Identifiers(plan, message);
        switch (message.Type)
        {
            case TrackingMessageType.Identify:
                return new PlannedMessage.Identify(identifiers, Attributes(plan, message.Traits), at);
            case TrackingMessageType.Alias:
                if (message.PreviousId.Length == 0 || message.UserId.Length == 0)
                {
                    return new PlannedMessage.Rejected("an alias needs previousId and userId");
                }

                // The usual alias links the browser's anonymous id to the user id it now has.
                return new PlannedMessage.Identify([(IdentifierKind.AnonymousId, message.PreviousId), (IdentifierKind.CustomerId, message.UserId)], new Dictionary<string, string>(), at);
            case TrackingMessageType.Group:
                return new PlannedMessage.Ignored();
        }

        if (message.MessageId.Length == 0)
        {
            return new PlannedMessage.Rejected("messageId is required: it is the interaction's id");
        }

        string touchpoint;
        InteractionType type;
        if (message.Type == TrackingMessageType.Track)
        {
            var rule = plan.Events.FirstOrDefault(e => string.Equals(e.EventName, message.EventName, StringComparison.Ordinal));
            if (rule is null)
            {
                return (PlannedMessage?)AdClick(plan, message, at, identifiers)
                    ?? new PlannedMessage.Unmapped(new TrackingIssueKey(TrackingIssueKind.UnmappedEvent, Bounded(message.EventName), ""));
            }

            var missing = rule.RequiredProperties.FirstOrDefault(p => !message.Properties.ContainsKey(p));
            if (missing is not null)
            {
                return new PlannedMessage.Rejected(
                    $"event '{Bounded(message.EventName)}' lacks property '{missing}', which the source's tracking plan requires",
                    new TrackingIssueKey(TrackingIssueKind.MissingProperty, Bounded(message.EventName), Bounded(missing)));
            }

            (touchpoint, type) = (rule.Touchpoint, rule.Type);
        }
        else
        {
            var screen = message.Type == TrackingMessageType.Screen;
            var rule = plan.Pages.FirstOrDefault(p =>
                (p.Name.Length > 0 && string.Equals(p.Name, message.EventName, StringComparison.Ordinal))
                || (!screen && p.PathPattern.Length > 0 && message.PagePath.Length > 0 && PathMatches(p.PathPattern, message.PagePath)));
            if (rule is null)
            {
                var name = message.EventName.Length > 0 ? message.EventName : message.PagePath;
                return (PlannedMessage?)AdClick(plan, message, at, identifiers)
                    ?? new PlannedMessage.Unmapped(new TrackingIssueKey(screen ? TrackingIssueKind.UnmappedScreen : TrackingIssueKind.UnmappedPage, Bounded(name), ""));
            }

            (touchpoint, type) = (rule.Touchpoint, rule.Type);
        }

        return new PlannedMessage.Record(Input(message, touchpoint, type, at, identifiers));
    }

    /// <summary>An unmapped message that came from an ad (a campaign or a click id) is a click at the ad touchpoint, when the plan names one.</summary>
    private static PlannedMessage.Record? AdClick(TrackingPlan plan, TrackingMessage message, DateTimeOffset at, IReadOnlyList<(IdentifierKind Kind, string Value)> identifiers) =>
        plan.AdTouchpoint.Length > 0 && (message.Campaign || message.ClickId.Length > 0)
            ? new PlannedMessage.Record(Input(message, plan.AdTouchpoint, InteractionType.Click, at, identifiers))
            : null;

    private static InteractionInput Input(TrackingMessage message, string touchpoint, InteractionType type, DateTimeOffset at, IReadOnlyList<(IdentifierKind Kind, string Value)> identifiers)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        if (message.Type != TrackingMessageType.Track && message.EventName.Length > 0)
        {
            properties["name"] = Truncate(message.EventName, 512);
        }

        if (message.PagePath.Length > 0)
        {
            properties["path"] = Truncate(message.PagePath, 512);
        }

        // The store keeps at most 32 properties with keys of its rules: the rest of what an SDK sends
        // (long or nested values, keys with '.' or '$') stays with the sender.
        foreach (var (key, value) in message.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (properties.Count >= 32)
            {
                break;
            }

            if (key.Length is >= 1 and <= 64 && key[0] != '$' && !key.Contains('.', StringComparison.Ordinal) && !key.Any(char.IsControl))
            {
                properties.TryAdd(key, Truncate(value, 512));
            }
        }

        return new InteractionInput(
            message.MessageId, TouchpointNames.Format(touchpoint), at, identifiers, type, "", "", 0, "", Money(message.Properties), properties);
    }

    /// <summary>A purchase's value from Segment's <c>revenue</c> (or <c>total</c>, <c>value</c>) and <c>currency</c>; null without both.</summary>
    private static MoneyAmount? Money(IReadOnlyDictionary<string, string> properties)
    {
        var amountText = properties.GetValueOrDefault("revenue") ?? properties.GetValueOrDefault("total") ?? properties.GetValueOrDefault("value");
        if (amountText is null || !properties.TryGetValue("currency", out var currency) || currency.Length != 3
            || !decimal.TryParse(amountText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var amount)
            || Math.Abs(amount) > long.MaxValue / 2)
        {
            return null;
        }

        var units = decimal.Truncate(amount);
        return new MoneyAmount(currency.ToUpperInvariant(), (long)units, (int)((amount - units) * 1_000_000_000m));
    }

    /// <summary>
    /// The consent preferences of <paramref name="message"/> for the categories <paramref name="plan"/>
    /// maps, one per purpose in the plan's order: when several categories map to one purpose, a refusal
    /// of any of them withdraws it. Categories the plan does not map are left out.
    /// </summary>
    public static IReadOnlyList<(string PurposeId, bool Granted)> ConsentPreferences(TrackingPlan plan, TrackingMessage message)
    {
        var preferences = new List<(string PurposeId, bool Granted)>();
        if (message.CategoryPreferences.Count == 0)
        {
            return preferences;
        }

        foreach (var mapping in plan.ConsentCategories)
        {
            if (!message.CategoryPreferences.TryGetValue(mapping.Category, out var granted))
            {
                continue;
            }

            var existing = preferences.FindIndex(p => p.PurposeId == mapping.PurposeId);
            if (existing < 0)
            {
                preferences.Add((mapping.PurposeId, granted));
            }
            else if (!granted)
            {
                preferences[existing] = (mapping.PurposeId, false);
            }
        }

        return preferences;
    }

    /// <summary>The identifiers a message names its person by under <paramref name="plan"/> (in clear: the caller hashes e-mail and phone).</summary>
    public static IReadOnlyList<(IdentifierKind Kind, string Value)> IdentifiersOf(TrackingPlan plan, TrackingMessage message) => Identifiers(plan, message);

    private static List<(IdentifierKind Kind, string Value)> Identifiers(TrackingPlan plan, TrackingMessage message)
    {
        var identifiers = new List<(IdentifierKind, string)>();
        if (message.UserId.Length > 0)
        {
            identifiers.Add((IdentifierKind.CustomerId, message.UserId));
        }

        if (message.AnonymousId.Length > 0)
        {
            identifiers.Add((IdentifierKind.AnonymousId, message.AnonymousId));
        }

        foreach (var trait in plan.Traits)
        {
            if (message.Traits.TryGetValue(trait.Trait, out var value) && value.Length > 0 && identifiers.Count < 10)
            {
                identifiers.Add((trait.Kind, value));
            }
        }

        if (message.ClickId.Length > 0 && identifiers.Count < 10)
        {
            identifiers.Add((IdentifierKind.AdClickId, message.ClickId));
        }

        return identifiers;
    }

    /// <summary>
    /// The traits that are not identifiers, with keys in the profile service's form (<c>firstName</c>
    /// → <c>first_name</c>): those go to the profile as attributes. E-mail addresses and phone numbers
    /// leave this service only as keyed hashes, so a trait is left out when the plan maps it to an
    /// identifier, when its name says it holds one (<c>Email</c>, <c>workEmail</c>, <c>phoneNumber</c>,
    /// <c>mobile</c>) or when its value is an e-mail address, whatever its name.
    /// </summary>
    private static Dictionary<string, string> Attributes(TrackingPlan plan, IReadOnlyDictionary<string, string> traits)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in traits)
        {
            var name = TraitName(key);
            if (plan.Traits.Any(m => m.Trait == key) || IsContact(name, value) || attributes.Count >= 50)
            {
                continue;
            }

            if (name.Length is >= 1 and <= 64)
            {
                attributes.TryAdd(name, Truncate(value, 1024));
            }
        }

        return attributes;
    }

    private static bool IsContact(string name, string value) =>
        name.Contains("email", StringComparison.Ordinal) || name.Contains("e_mail", StringComparison.Ordinal)
        || name.Contains("phone", StringComparison.Ordinal) || name is "mobile" or "mobile_number" || name.EndsWith("_mobile", StringComparison.Ordinal)
        || IdentifierHasher.IsPlausibleEmail(value.Trim());

    /// <summary>A trait key in snake case of a-z, 0-9 and '_'.</summary>
    public static string TraitName(string key)
    {
        var name = new System.Text.StringBuilder(key.Length + 4);
        foreach (var c in key)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                if (name.Length > 0 && name[^1] != '_')
                {
                    name.Append('_');
                }

                name.Append(char.ToLowerInvariant(c));
            }
            else
            {
                name.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '_');
            }
        }

        return name.ToString();
    }

    private static string Bounded(string name) => Truncate(name, 200);

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
