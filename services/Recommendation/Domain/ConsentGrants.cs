using System.Globalization;

namespace Journey.Recommendation.Domain;

/// <summary>
/// The consent a person has granted, per purpose and channel, kept as the list of strings the stores
/// already hold (<see cref="PersonState.AllowedPurposes"/>): <c>purposes/x</c> is a grant for every
/// channel of the purpose, <c>purposes/x@2</c> a grant for one channel (the number of
/// journey.common.v1.Channel), and <c>purposes/x!2</c> a channel withdrawn from an every-channel grant.
/// A bare purpose is also what stores written before channels were kept hold, so old rows read as
/// grants for every channel, as the events that wrote them meant.
/// </summary>
/// <remarks>
/// This service does not know which channels a purpose covers, so a withdrawal for some channels of
/// an every-channel grant is kept as exclusions rather than as the remaining channels.
/// </remarks>
public static class ConsentGrants
{
    private const char GrantedOn = '@';
    private const char WithdrawnOn = '!';

    /// <summary>The grants after a decision for <paramref name="purpose"/> on <paramref name="channels"/> (empty: every channel).</summary>
    public static IReadOnlyList<string> Apply(IReadOnlyList<string> grants, string purpose, bool granted, IReadOnlyCollection<ChannelKind> channels)
    {
        var others = grants.Where(g => PurposeOf(g) != purpose).ToList();
        var mine = grants.Where(g => PurposeOf(g) == purpose).ToList();
        var everyChannel = mine.Contains(purpose);
        var channelGrants = new SortedSet<int>(mine.Select(g => ChannelOf(g, GrantedOn)).OfType<int>());
        var exclusions = new SortedSet<int>(mine.Select(g => ChannelOf(g, WithdrawnOn)).OfType<int>());
        var named = channels.Where(c => c != ChannelKind.Unspecified).Select(c => (int)c).ToList();

        if (named.Count == 0)
        {
            everyChannel = granted;
            channelGrants.Clear();
            exclusions.Clear();
        }
        else if (granted)
        {
            if (everyChannel)
            {
                exclusions.ExceptWith(named);
            }
            else
            {
                channelGrants.UnionWith(named);
            }
        }
        else if (everyChannel)
        {
            exclusions.UnionWith(named);
        }
        else
        {
            channelGrants.ExceptWith(named);
        }

        if (everyChannel)
        {
            others.Add(purpose);
            others.AddRange(exclusions.Select(c => Encode(purpose, WithdrawnOn, c)));
        }
        else
        {
            others.AddRange(channelGrants.Select(c => Encode(purpose, GrantedOn, c)));
        }

        return others;
    }

    /// <summary>
    /// Whether <paramref name="purpose"/> is granted on <paramref name="channel"/>;
    /// <see cref="ChannelKind.Unspecified"/> asks whether it is granted on any channel.
    /// </summary>
    public static bool Allows(IReadOnlyList<string> grants, string purpose, ChannelKind channel)
    {
        var everyChannel = false;
        var grantedOn = false;
        var withdrawnOn = false;
        foreach (var grant in grants)
        {
            if (grant == purpose)
            {
                everyChannel = true;
            }
            else if (PurposeOf(grant) == purpose)
            {
                grantedOn |= channel == ChannelKind.Unspecified ? ChannelOf(grant, GrantedOn) is not null : ChannelOf(grant, GrantedOn) == (int)channel;
                withdrawnOn |= channel != ChannelKind.Unspecified && ChannelOf(grant, WithdrawnOn) == (int)channel;
            }
        }

        return everyChannel ? !withdrawnOn : grantedOn;
    }

    private static string PurposeOf(string grant)
    {
        var cut = grant.IndexOfAny([GrantedOn, WithdrawnOn]);
        return cut < 0 ? grant : grant[..cut];
    }

    private static int? ChannelOf(string grant, char marker)
    {
        var cut = grant.IndexOf(marker, StringComparison.Ordinal);
        return cut >= 0 && int.TryParse(grant.AsSpan(cut + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var channel) ? channel : null;
    }

    private static string Encode(string purpose, char marker, int channel) => string.Create(CultureInfo.InvariantCulture, $"{purpose}{marker}{channel}");
}
