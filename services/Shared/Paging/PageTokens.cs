using System.Text;
using Journey.Shared.Errors;

namespace Journey.Shared.Paging;

/// <summary>
/// Paging as every service's list methods document it: a page size of 0 means 50, larger than 500 is
/// treated as 500, negative is invalid; a page token is the page's last key, base64url-encoded, so a
/// caller treats it as opaque.
/// </summary>
public static class PageTokens
{
    /// <summary>The page size used when a request asks for 0.</summary>
    public const int DefaultSize = 50;

    /// <summary>The largest page; larger requests are served this many.</summary>
    public const int MaxSize = 500;

    private const int MaxTokenLength = 512;
    private const int MaxKeyLength = 256;

    /// <summary>The page size to serve for <paramref name="requested"/>; INVALID_ARGUMENT naming <paramref name="field"/> when negative.</summary>
    public static int Size(int requested, string field = "page_size") =>
        requested < 0 ? throw new InvalidArgumentException(field, "must not be negative")
        : requested == 0 ? DefaultSize
        : Math.Min(requested, MaxSize);

    /// <summary>The token of a page ending at <paramref name="lastKey"/>.</summary>
    public static string Encode(string lastKey) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The key inside <paramref name="token"/>; null when the token is empty or not one <see cref="Encode"/> made.</summary>
    public static string? TryDecode(string token)
    {
        if (token.Length is 0 or > MaxTokenLength)
        {
            return null;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        try
        {
            var key = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            return key.Length is 0 or > MaxKeyLength ? null : key;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The key inside <paramref name="token"/> ("" for the first page); INVALID_ARGUMENT naming <paramref name="field"/> for a token this service did not make.</summary>
    public static string Decode(string token, string field = "page_token") =>
        token.Length == 0 ? ""
        : TryDecode(token) ?? throw new InvalidArgumentException(field, "is not a token returned by this service");
}
