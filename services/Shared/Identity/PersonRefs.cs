using Journey.Common.V1;
using Journey.Shared.Errors;

namespace Journey.Shared.Identity;

/// <summary>
/// Reads a <see cref="PersonRef"/>, the one way every request addresses a person, into the identifiers
/// each service resolves: a profile name becomes the profile-id identifier the profile service's events
/// link to every store, so a service needs no second lookup path for it.
/// </summary>
public static class PersonRefs
{
    private const string ProfilePrefix = "profiles/";

    /// <summary>
    /// The identifiers <paramref name="person"/> names, in request order; empty when it is unset and not
    /// <paramref name="required"/>. INVALID_ARGUMENT on <paramref name="field"/> when it is required and
    /// unset, and on <c>{field}.profile</c> when the profile name is malformed.
    /// </summary>
    public static IReadOnlyList<Identifier> Identifiers(PersonRef? person, string field, bool required)
    {
        switch (person?.PersonCase ?? PersonRef.PersonOneofCase.None)
        {
            case PersonRef.PersonOneofCase.Profile:
                return [new Identifier { Kind = IdentifierKind.ProfileId, Value = ProfileId(person!.Profile, field + ".profile") }];
            case PersonRef.PersonOneofCase.Identifiers:
                if (required && person!.Identifiers.Identifiers.Count == 0)
                {
                    throw new InvalidArgumentException(field + ".identifiers", "must hold at least one identifier");
                }

                return person!.Identifiers.Identifiers;
            default:
                return required ? throw new InvalidArgumentException(field, "is required: a profile name (profiles/{profile}) or identifiers") : [];
        }
    }

    /// <summary>The one identifier a single-person lookup takes: a profile name or exactly one identifier.</summary>
    public static Identifier One(PersonRef? person, string field)
    {
        var identifiers = Identifiers(person, field, required: true);
        return identifiers.Count == 1
            ? identifiers[0]
            : throw new InvalidArgumentException(field + ".identifiers", "must hold exactly one identifier for this method");
    }

    private static string ProfileId(string name, string field)
    {
        var id = name.StartsWith(ProfilePrefix, StringComparison.Ordinal) ? name[ProfilePrefix.Length..] : "";
        return id.Length is >= 1 and <= 256 && !id.Contains('/', StringComparison.Ordinal)
            ? id
            : throw new InvalidArgumentException(field, "must be profiles/{profile}");
    }
}
