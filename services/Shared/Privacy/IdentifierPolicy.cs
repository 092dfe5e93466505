using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Privacy;

/// <summary>Identifier hygiene settings (section <c>Journey:Identity</c>), shared by every service that takes identifiers.</summary>
public sealed class IdentityOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Identity";

    /// <summary>
    /// Values refused as identifiers on top of <see cref="IdentifierPolicy.BuiltInBlockedValues"/>,
    /// compared after trimming and ignoring case (for example a test account's e-mail address).
    /// </summary>
    public List<string> BlockedValues { get; set; } = [];

    /// <summary>
    /// Regular expressions (.NET syntax, matched ignoring case against the trimmed value) whose
    /// matches are refused, for placeholders a site's own code produces (for example
    /// <c>^user_\d+$</c>). Each must compile; each match is bounded to 50 ms.
    /// </summary>
    public List<string> BlockedPatterns { get; set; } = [];
}

/// <summary>Start-up validation of <see cref="IdentityOptions"/>: every pattern compiles and every value is non-blank.</summary>
public sealed class IdentityOptionsValidator : IValidateOptions<IdentityOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, IdentityOptions options)
    {
        var failures = new List<string>();
        for (var i = 0; i < options.BlockedValues.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.BlockedValues[i]))
            {
                failures.Add($"BlockedValues[{i}] must not be blank.");
            }
        }

        for (var i = 0; i < options.BlockedPatterns.Count; i++)
        {
            try
            {
                _ = new Regex(options.BlockedPatterns[i], RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, IdentifierPolicy.MatchTimeout);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"BlockedPatterns[{i}] is not a regular expression: {ex.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Refuses identifier values that name no one in particular: the placeholders tracking code sends
/// when it has no id (<c>null</c>, <c>undefined</c>, <c>0</c>, <c>-1</c>, <c>anonymous</c>, ...), values
/// with no letter or digit, zeros alone (an all-zero UUID) and one character repeated eight times or
/// more (<c>ffffffff-ffff-...</c>); a short repeat such as customer number 111 is a real id.
/// Accepted, such a value would be one identifier shared by thousands of people, and identity
/// resolution would merge every anonymous visitor who sent it into one profile.
/// </summary>
public sealed class IdentifierPolicy
{
    /// <summary>How long one configured pattern may run against one value.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>Placeholders refused whatever the settings say.</summary>
    public static readonly IReadOnlyList<string> BuiltInBlockedValues =
    [
        "null", "nil", "none", "undefined", "nan", "n/a", "na", "unknown", "anonymous", "anon", "guest",
        "0", "-1", "false", "true", "[object object]", "{}", "[]", "empty", "not set", "(not set)", "default",
    ];

    private readonly HashSet<string> _blocked;
    private readonly Regex[] _patterns;

    /// <summary>The built-in rules plus <paramref name="options"/>.</summary>
    public IdentifierPolicy(IOptions<IdentityOptions> options)
    {
        _blocked = new HashSet<string>(BuiltInBlockedValues, StringComparer.OrdinalIgnoreCase);
        foreach (var value in options.Value.BlockedValues)
        {
            _blocked.Add(value.Trim());
        }

        _patterns = options.Value.BlockedPatterns
            .Select(p => new Regex(p, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout)).ToArray();
    }

    /// <summary>The built-in rules only.</summary>
    public static IdentifierPolicy Default { get; } = new(Options.Create(new IdentityOptions()));

    /// <summary>Why <paramref name="value"/> cannot identify a person, or null when it can.</summary>
    public string? Refusal(string value)
    {
        var trimmed = value.Trim();
        if (_blocked.Contains(trimmed))
        {
            return $"is the placeholder '{Shorten(trimmed)}', which names no one; send the person's real id or leave the identifier out";
        }

        if (!trimmed.Any(char.IsLetterOrDigit))
        {
            return "has no letter or digit, which names no one; send the person's real id or leave the identifier out";
        }

        if (RepeatedCharacter(trimmed) is ('0', _) or (_, >= 8))
        {
            return $"is one character repeated ('{Shorten(trimmed)}'), a placeholder that names no one; send the person's real id or leave the identifier out";
        }

        foreach (var pattern in _patterns)
        {
            try
            {
                if (pattern.IsMatch(trimmed))
                {
                    return $"matches the blocked pattern '{pattern}' (Journey:Identity:BlockedPatterns)";
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return $"could not be checked against the blocked pattern '{pattern}' in time; shorten the value or simplify the pattern";
            }
        }

        return null;
    }

    // The letter or digit a value repeats and how often, or ('\0', 0) when it holds two different
    // ones. Separators do not count: 00000000-0000-0000-0000-000000000000 is one digit repeated.
    private static (char Character, int Count) RepeatedCharacter(string value)
    {
        var first = '\0';
        var count = 0;
        foreach (var c in value)
        {
            if (!char.IsLetterOrDigit(c))
            {
                continue;
            }

            if (count == 0)
            {
                first = char.ToLowerInvariant(c);
            }
            else if (char.ToLowerInvariant(c) != first)
            {
                return ('\0', 0);
            }

            count++;
        }

        return (first, count);
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
