using System.Globalization;

namespace Journey.WebConsole.Components;

/// <summary>
/// Reads the query string's values. Pages take them as text and read them here, because a typed
/// query parameter that does not parse (<c>?days=week</c>, <c>?expired=1</c> for a bool) fails the
/// whole render with a 500 before the page can say anything; a value that is not understood is
/// treated as absent, so the page shows its default instead.
/// </summary>
public static class QueryValue
{
    /// <summary>The whole number <paramref name="text"/> holds, or null.</summary>
    public static int? WholeNumber(string? text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>Whether <paramref name="text"/> switches a flag on: present, and not <c>0</c> or <c>false</c>.</summary>
    public static bool Flag(string? text) =>
        text is { Length: > 0 } && text != "0" && !string.Equals(text, "false", StringComparison.OrdinalIgnoreCase);
}
