namespace Journey.Touchpoint.Domain;

/// <summary>What marks a person of the log as a known customer: the strong identifiers linked to them.</summary>
[Flags]
public enum KnownBy
{
    /// <summary>Only weak identifiers (cookies, devices, ad clicks, phones) are linked: an anonymous visitor.</summary>
    None = 0,

    /// <summary>An e-mail is linked.</summary>
    Email = 1,

    /// <summary>A customer id is linked.</summary>
    CustomerId = 2,
}

/// <summary>
/// The rule that files an interaction under one of the log's internal people, the grouping the
/// aggregates count (unique people per touchpoint and day, the stage funnel, touchpoints before
/// purchase) and erasure reaches through.
/// </summary>
/// <remarks>
/// It applies the profile service's identity rule with what the log knows, so that the counts never
/// join two known customers the profile service keeps apart (ADR 0023). A linked profile id decides
/// first, then a customer id, then an e-mail (unless the interaction names a customer id and the
/// e-mail's person already has another), then a weak identifier: but a weak identifier never brings
/// an interaction that names a known customer to a person who is already a known customer (a shared
/// cookie), and when the interaction's strong identifiers are linked to another customer it starts a
/// new person. An identifier linked to a person other than the chosen one stays linked where it is
/// (the store records the overlap); only unlinked identifiers join the chosen person.
/// </remarks>
public static class PersonGrouping
{
    /// <summary>
    /// Which identifier's linked person to file an interaction with <paramref name="identifiers"/>
    /// under: its index, or null for a new person.
    /// </summary>
    /// <param name="identifiers">The interaction's identifiers, in the order recorded.</param>
    /// <param name="isLinked">Whether the identifier at an index is linked to a person already.</param>
    /// <param name="knownBy">What marks the person the identifier at an index is linked to as a known customer; asked only when the choice depends on it.</param>
    public static async ValueTask<int?> ChooseAsync(
        IReadOnlyList<PersonIdentifier> identifiers, Func<int, bool> isLinked, Func<int, ValueTask<KnownBy>> knownBy)
    {
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (identifiers[i].Kind == IdentifierKind.ProfileId && isLinked(i))
            {
                // The profile service's own name for the person.
                return i;
            }
        }

        var namesCustomer = false;
        var namesKnown = false;
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (identifiers[i].Kind == IdentifierKind.CustomerId)
            {
                namesCustomer = true;
                if (isLinked(i))
                {
                    return i;
                }
            }

            namesKnown |= IsStrong(identifiers[i].Kind);
        }

        var strongLinked = false;
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (identifiers[i].Kind == IdentifierKind.Email && isLinked(i))
            {
                strongLinked = true;
                if (!namesCustomer || !(await knownBy(i)).HasFlag(KnownBy.CustomerId))
                {
                    return i;
                }
            }
        }

        if (strongLinked)
        {
            // The strong identifiers belong to another customer: this is someone new.
            return null;
        }

        for (var i = 0; i < identifiers.Count; i++)
        {
            if (!IsStrong(identifiers[i].Kind) && isLinked(i) && (!namesKnown || await knownBy(i) == KnownBy.None))
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>What <paramref name="kind"/> adds to a person's <see cref="KnownBy"/>.</summary>
    public static KnownBy Marks(IdentifierKind kind) => kind switch
    {
        IdentifierKind.CustomerId => KnownBy.CustomerId,
        IdentifierKind.Email => KnownBy.Email,
        _ => KnownBy.None,
    };

    private static bool IsStrong(IdentifierKind kind) => Marks(kind) != KnownBy.None;
}
