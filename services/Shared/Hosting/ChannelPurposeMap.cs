using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Journey.Shared.Hosting;

/// <summary>
/// A setting that maps each channel to the consent purposes governing it, as comma-separated
/// <c>purposes/{purpose}</c> names (an empty value names none). Services that gate by channel hold it
/// under their own section with their own channel enum; this reads and checks its shape alike for all.
/// </summary>
public static partial class ChannelPurposeMap
{
    /// <summary>The purposes <paramref name="map"/> names for <paramref name="channel"/>, in order; none when it has no entry.</summary>
    public static IReadOnlyList<string> Governing<TChannel>(IReadOnlyDictionary<TChannel, string> map, TChannel channel)
        where TChannel : struct, Enum =>
        map.TryGetValue(channel, out var purposes)
            ? purposes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];

    /// <summary>
    /// Failures of <paramref name="map"/>, the options member <paramref name="member"/>: a key that is
    /// no channel (the enum's zero value, or undefined), and each value that is not a purpose name
    /// (lower-case letters, digits and '-', starting with a letter, at most 63 characters).
    /// </summary>
    public static IEnumerable<ValidationResult> Validate<TChannel>(IReadOnlyDictionary<TChannel, string> map, string member)
        where TChannel : struct, Enum
    {
        foreach (var (channel, _) in map)
        {
            if (EqualityComparer<TChannel>.Default.Equals(channel, default) || !Enum.IsDefined(channel))
            {
                yield return new ValidationResult($"{member}: '{channel}' is not a channel (Web, Email, ...).", [member]);
                continue;
            }

            foreach (var purpose in Governing(map, channel).Where(p => !PurposeName().IsMatch(p)))
            {
                yield return new ValidationResult($"{member}:{channel}: '{purpose}' must be purposes/{{purpose}} (lower-case letters, digits and '-', starting with a letter).", [member]);
            }
        }
    }

    [GeneratedRegex("^purposes/[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex PurposeName();
}
