using System.Text;
using Journey.Shared.Errors;

namespace Journey.Profile.Domain;

/// <summary>Opaque page tokens: the last key of a page, base64url-encoded.</summary>
public static class PageTokens
{
    /// <summary>Default page size.</summary>
    public const int DefaultSize = 50;

    /// <summary>Largest page size; larger requests are clamped.</summary>
    public const int MaxSize = 500;

    /// <summary>The effective page size; negative is invalid.</summary>
    public static int Size(int requested, string field = "page_size")
    {
        if (requested < 0)
        {
            throw new InvalidArgumentException(field, "must not be negative");
        }

        return requested == 0 ? DefaultSize : Math.Min(requested, MaxSize);
    }

    /// <summary>The token for a page ending at <paramref name="lastKey"/>.</summary>
    public static string Encode(string lastKey) => Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The last key inside a token ("" for the first page).</summary>
    public static string Decode(string token, string field = "page_token")
    {
        if (token.Length == 0)
        {
            return "";
        }

        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var key = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            if (key.Length is 0 or > 256)
            {
                throw new FormatException();
            }

            return key;
        }
        catch (FormatException)
        {
            throw new InvalidArgumentException(field, "is not a token returned by this service");
        }
    }
}
