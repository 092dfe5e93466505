using System.Text.RegularExpressions;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Profile.Domain;

/// <summary>An identifier as a caller gave it (e-mail and phone in clear, or already hashed in events).</summary>
public readonly record struct GivenIdentifier(IdentifierKind Kind, string Value);

/// <summary>
/// The rules for what callers give the profile service: identifiers (validated, normalised and
/// hashed into <see cref="IdentifierKey"/>s), profile ids and traits.
/// </summary>
public sealed partial class ProfileInput(IdentifierHasher hasher, IdentifierPolicy identifierPolicy)
{
    /// <summary>The most identifiers one call carries.</summary>
    public const int MaxIdentifiers = 20;

    /// <summary>The most traits a profile holds.</summary>
    public const int MaxTraits = 50;

    /// <summary>The longest trait value, in characters.</summary>
    public const int MaxTraitValueLength = 1024;

    /// <summary>Whether <paramref name="id"/> is a well-formed profile id.</summary>
    public static bool IsProfileId(string id) => ProfileIdPattern().IsMatch(id);

    /// <summary>Whether <paramref name="key"/> is a well-formed trait key.</summary>
    public static bool IsTraitKey(string key) => TraitKey().IsMatch(key);

    /// <summary>Whether <paramref name="erasure"/> is a well-formed erasure name.</summary>
    public static bool IsErasureName(string erasure) => ErasureName().IsMatch(erasure);

    /// <summary>One identifier as a key; INVALID_ARGUMENT names <paramref name="field"/> when it breaks a rule. E-mail and phone may come clear or hashed.</summary>
    public IdentifierKey Key(GivenIdentifier identifier, string field)
    {
        var validation = new Validation();
        var key = ValidateIdentifier(identifier, field, validation, hashed: null);
        validation.ThrowIfInvalid();
        return key;
    }

    /// <summary>Validates and normalises identifiers; <paramref name="hashed"/> false: e-mail/phone are clear, null: either.</summary>
    public List<IdentifierKey> Keys(IReadOnlyList<GivenIdentifier> identifiers, string field, Validation validation, bool? hashed)
    {
        validation.Require(identifiers.Count is >= 1 and <= MaxIdentifiers, field, $"must hold 1 to {MaxIdentifiers} identifiers");
        return identifiers.Select((identifier, i) => ValidateIdentifier(identifier, $"{field}[{i}]", validation, hashed)).ToList();
    }

    /// <summary>Checks a caller's traits against the trait rules.</summary>
    public static void ValidateTraits(IReadOnlyDictionary<string, string> traits, Validation validation)
    {
        validation.Require(traits.Count <= MaxTraits, "traits", $"must hold at most {MaxTraits} entries");
        foreach (var (key, value) in traits)
        {
            validation.Require(IsTraitKey(key), $"traits[{(key.Length <= 64 ? key : key[..64])}]", "key must be 1 to 64 characters of [a-z0-9_]");
            validation.Require(value.Length <= MaxTraitValueLength, $"traits[{(key.Length <= 64 ? key : key[..64])}]", "value must be at most 1024 characters");
        }
    }

    private IdentifierKey ValidateIdentifier(GivenIdentifier identifier, string field, Validation validation, bool? hashed)
    {
        var value = identifier.Value;
        if (identifier.Kind is IdentifierKind.Unspecified || !Enum.IsDefined(identifier.Kind))
        {
            validation.Add(field + ".kind", "must be a known identifier kind");
            return default;
        }

        if (value.Length is 0 or > 256 || string.IsNullOrWhiteSpace(value))
        {
            validation.Add(field + ".value", "must be 1 to 256 characters");
            return default;
        }

        if (identifier.Kind != IdentifierKind.ProfileId && identifierPolicy.Refusal(value) is { } refusal)
        {
            validation.Add(field + ".value", refusal);
            return default;
        }

        switch (identifier.Kind)
        {
            case IdentifierKind.Email or IdentifierKind.Phone when hashed is null && HashValue().IsMatch(value):
                return new IdentifierKey(identifier.Kind, value);
            case IdentifierKind.Email:
                validation.Require(IdentifierHasher.IsPlausibleEmail(value), field + ".value", "must be an e-mail address");
                return new IdentifierKey(identifier.Kind, hasher.HashEmail(value));
            case IdentifierKind.Phone:
                validation.Require(IdentifierHasher.IsPlausiblePhone(value), field + ".value", "must be a phone number with 6 to 15 digits");
                return new IdentifierKey(identifier.Kind, hasher.HashPhone(value));
            case IdentifierKind.ProfileId:
                var id = value.StartsWith("profiles/", StringComparison.Ordinal) ? value["profiles/".Length..] : value;
                validation.Require(IsProfileId(id), field + ".value", "must be a profile id (32 lower-case hex digits)");
                return new IdentifierKey(identifier.Kind, id);
            default:
                return new IdentifierKey(identifier.Kind, value);
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HashValue();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex ProfileIdPattern();

    [GeneratedRegex("^[a-z0-9_]{1,64}$")]
    private static partial Regex TraitKey();

    [GeneratedRegex("^erasures/[A-Za-z0-9._-]{1,128}$")]
    private static partial Regex ErasureName();
}
