using System.Text;

namespace Journey.Cli.Output;

/// <summary>Proto enums on the command line: <c>paid-ad</c>, <c>PAID_AD</c> and <c>CHANNEL_PAID_AD</c> all name Channel.PaidAd.</summary>
public static class EnumText
{
    public static bool TryParse<T>(string text, out T value)
        where T : struct, Enum
    {
        var wanted = Normalise(text);
        var prefix = Normalise(typeof(T).Name);
        foreach (var candidate in Enum.GetValues<T>())
        {
            var name = Normalise(candidate.ToString());
            if (name != "unspecified" && (wanted == name || wanted == prefix + name))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    public static T Parse<T>(string text, string what)
        where T : struct, Enum =>
        TryParse<T>(text, out var value)
            ? value
            : throw CliException.Usage($"{what} '{text}' is not one of: {string.Join(", ", Names<T>())}.");

    public static IEnumerable<string> Names<T>()
        where T : struct, Enum =>
        Enum.GetValues<T>().Select(v => Format(v)).Where(n => n != "unspecified");

    /// <summary>Kebab case of the C# name: Channel.PaidAd is <c>paid-ad</c>.</summary>
    public static string Format(Enum value)
    {
        var name = value.ToString();
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }

    private static string Normalise(string text) => text.Replace("-", "").Replace("_", "").Trim().ToLowerInvariant();
}
