namespace Journey.Touchpoint.Domain;

/// <summary>
/// From a time on, a profile held an identifier: the profile service listed it in the profile's
/// <c>profile-updated</c> (the first snapshot of a run that held it) or handed it over in a merge.
/// </summary>
/// <param name="Key">The identifier's <see cref="PersonIdentifier.Key"/> (a profile id without the <c>profiles/</c> prefix).</param>
/// <param name="ProfileId">The live profile: the one that held it, or the survivor it was merged into since.</param>
/// <param name="Since">When the profile came to hold it.</param>
/// <param name="Known">The live profile is a known customer's: it holds a customer id or an e-mail.</param>
public sealed record IdentifierHolding(string Key, string ProfileId, DateTimeOffset Since, bool Known);

/// <summary>Whose an interaction is, and which other known customers its identifiers point at.</summary>
/// <param name="ProfileId">The profile it is attributed to, or null while no profile held any of its identifiers.</param>
/// <param name="ConflictingProfiles">Other known customers' profiles some of its identifiers pointed at when it happened.</param>
public sealed record Attributed(string? ProfileId, IReadOnlyList<string> ConflictingProfiles);

/// <summary>
/// The rule that attributes an interaction to one profile, following the profile service's identity
/// decisions and never linking identifiers through each other.
/// </summary>
/// <remarks>
/// Each identifier points at the profile that held it when the interaction happened: of its holdings,
/// the one that began last at or before the interaction's time (a weak identifier such as a shared
/// cookie follows the customer who used it last, as the profile service moves it); an interaction
/// from before any holding points at the first holder. Of the identifiers that point at a profile,
/// the surest decides: a profile id, then a customer id, then an e-mail, then the rest (phone,
/// anonymous, device, ad-click ids), each kind in the order recorded. The profile service keeps two
/// known customers apart, so when the identifiers point at another known customer besides the one
/// chosen, the interaction is marked with that customer's profile.
/// </remarks>
public static class Attribution
{
    /// <summary>Attributes <paramref name="interaction"/> given the holdings of its identifiers (any others are ignored).</summary>
    public static Attributed Of(Interaction interaction, ILookup<string, IdentifierHolding> holdings)
    {
        IdentifierHolding? chosen = null;
        var others = new List<string>();
        foreach (var identifier in interaction.Identifiers.OrderBy(Strength))
        {
            if (HolderAt(holdings[Lookup(identifier).Key], interaction.OccurredAt) is not { } holder)
            {
                continue;
            }

            if (chosen is null)
            {
                chosen = holder;
            }
            else if (holder.Known && holder.ProfileId != chosen.ProfileId && !others.Contains(holder.ProfileId, StringComparer.Ordinal))
            {
                others.Add(holder.ProfileId);
            }
        }

        return new Attributed(chosen?.ProfileId, chosen is { Known: true } ? others : []);
    }

    /// <summary>
    /// The holding in force at <paramref name="at"/>: the latest to begin at or before it, else the
    /// earliest (an identifier is seen in an interaction before the profile service files it).
    /// </summary>
    public static IdentifierHolding? HolderAt(IEnumerable<IdentifierHolding> holdings, DateTimeOffset at)
    {
        IdentifierHolding? before = null;
        IdentifierHolding? first = null;
        foreach (var holding in holdings)
        {
            if (holding.Since <= at && (before is null || Later(holding, before)))
            {
                before = holding;
            }

            if (first is null || Later(first, holding))
            {
                first = holding;
            }
        }

        return before ?? first;
    }

    /// <summary>The holding the profile service decided last; equal times are ordered by profile id so every read agrees.</summary>
    private static bool Later(IdentifierHolding x, IdentifierHolding y) =>
        x.Since > y.Since || (x.Since == y.Since && string.CompareOrdinal(x.ProfileId, y.ProfileId) > 0);

    /// <summary>How surely an identifier names one person, surest first, as the profile service chooses a profile.</summary>
    public static int Strength(PersonIdentifier identifier) => identifier.Kind switch
    {
        IdentifierKind.ProfileId => 0,
        IdentifierKind.CustomerId => 1,
        IdentifierKind.Email => 2,
        _ => 3,
    };

    /// <summary>The form profiles hold an identifier in: a profile id without its prefix.</summary>
    public static PersonIdentifier Lookup(PersonIdentifier identifier) =>
        identifier.Kind == IdentifierKind.ProfileId && identifier.Value.StartsWith("profiles/", StringComparison.Ordinal)
            ? identifier with { Value = identifier.Value["profiles/".Length..] }
            : identifier;

    /// <summary>
    /// When <paramref name="latest"/>'s profile came to hold each of its identifiers, as far as
    /// <paramref name="snapshots"/> (the profile's snapshots handled together, any order) tell: the time
    /// of the earliest snapshot of the unbroken run of versions up to <paramref name="latest"/> that holds it.
    /// </summary>
    public static IReadOnlyDictionary<string, DateTimeOffset> HeldSince(IEnumerable<ProfileSnapshot> snapshots, ProfileSnapshot latest)
    {
        var since = latest.Identifiers.Select(i => i.Key).Distinct(StringComparer.Ordinal).ToDictionary(k => k, _ => latest.UpdatedAt, StringComparer.Ordinal);
        var open = new HashSet<string>(since.Keys, StringComparer.Ordinal);
        foreach (var snapshot in snapshots.Where(s => s.Version < latest.Version).OrderByDescending(s => s.Version))
        {
            var keys = snapshot.Identifiers.Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
            open.IntersectWith(keys);
            foreach (var key in open)
            {
                since[key] = snapshot.UpdatedAt < since[key] ? snapshot.UpdatedAt : since[key];
            }
        }

        return since;
    }
}
