using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>An identifier as a caller sent it (e-mail and phone in clear form).</summary>
/// <param name="Kind">The contract's kind number.</param>
/// <param name="Value">The value.</param>
public readonly record struct IdentifierInput(int Kind, string Value);

/// <summary>Input limits of the consent service.</summary>
public static class ConsentLimits
{
    /// <summary>Identifiers per request.</summary>
    public const int MaxIdentifiers = 20;

    /// <summary>Characters of an identifier value.</summary>
    public const int MaxIdentifierLength = 256;

    /// <summary>Characters of a touchpoint or form id.</summary>
    public const int MaxIdLength = 256;

    /// <summary>Characters of an IP address.</summary>
    public const int MaxIpAddressLength = 64;

    /// <summary>Characters of a user agent.</summary>
    public const int MaxUserAgentLength = 1024;

    /// <summary>Characters of a purpose description.</summary>
    public const int MaxDescriptionLength = 1024;

    /// <summary>Characters of a policy text.</summary>
    public const int MaxPolicyTextLength = 100_000;

    /// <summary>Checks per batch.</summary>
    public const int MaxBatchChecks = 1000;

    /// <summary>Records per batch.</summary>
    public const int MaxBatchRecords = 1000;

    /// <summary>The highest channel number of <c>journey.common.v1.Channel</c>.</summary>
    public const int MaxKnownChannel = 13;

    /// <summary>How far in the future a capture time may lie (clock skew of the capturing device).</summary>
    public static readonly TimeSpan CaptureClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>The effective page size for a requested one; reports a negative one.</summary>
    public static int PageSize(int requested, Validation validation)
    {
        validation.Require(requested >= 0, "page_size", "must not be negative");
        return PageTokens.Size(Math.Max(0, requested));
    }
}

/// <summary>Turns identifiers as sent into identifiers as kept.</summary>
public static class SubjectIdentifiers
{
    /// <summary>
    /// Validates <paramref name="inputs"/> (reported under <paramref name="field"/>) and hashes e-mail
    /// and phone. Duplicates are dropped; order is kept, since the first resolvable one decides.
    /// </summary>
    public static List<SubjectIdentifier> Normalize(IReadOnlyList<IdentifierInput> inputs, IdentifierHasher hasher, IdentifierPolicy policy, Validation validation, string field, bool required = true)
    {
        var result = new List<SubjectIdentifier>(inputs.Count);
        if (inputs.Count == 0)
        {
            if (required)
            {
                validation.Add(field, "at least one identifier is required");
            }

            return result;
        }

        if (inputs.Count > ConsentLimits.MaxIdentifiers)
        {
            validation.Add(field, $"at most {ConsentLimits.MaxIdentifiers} identifiers are allowed");
            return result;
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            var (kind, value) = inputs[i];
            if (kind is < 1 or > 7)
            {
                validation.Add($"{field}[{i}].kind", "must be a known identifier kind");
                continue;
            }

            if (string.IsNullOrWhiteSpace(value) || value.Length > ConsentLimits.MaxIdentifierLength)
            {
                validation.Add($"{field}[{i}].value", $"must be 1 to {ConsentLimits.MaxIdentifierLength} characters");
                continue;
            }

            if ((IdentifierKind)kind != IdentifierKind.ProfileId && policy.Refusal(value) is { } refusal)
            {
                validation.Add($"{field}[{i}].value", refusal);
                continue;
            }

            var identifier = (IdentifierKind)kind switch
            {
                IdentifierKind.Email when IdentifierHasher.IsPlausibleEmail(value) => new SubjectIdentifier(IdentifierKind.Email, hasher.HashEmail(value)),
                IdentifierKind.Phone when IdentifierHasher.IsPlausiblePhone(value) => new SubjectIdentifier(IdentifierKind.Phone, hasher.HashPhone(value)),
                IdentifierKind.Email or IdentifierKind.Phone => (SubjectIdentifier?)null,
                var other => new SubjectIdentifier(other, value.Trim()),
            };
            if (identifier is null)
            {
                validation.Add($"{field}[{i}].value", (IdentifierKind)kind == IdentifierKind.Email ? "must be an e-mail address" : "must be a phone number with 6 to 15 digits");
                continue;
            }

            if (!result.Contains(identifier.Value))
            {
                result.Add(identifier.Value);
            }
        }

        return result;
    }
}

/// <summary>A decision to record.</summary>
/// <param name="Identifiers">The person.</param>
/// <param name="Purpose">Purpose name.</param>
/// <param name="Decision">1 granted, 2 withdrawn (contract numbers); anything else is invalid.</param>
/// <param name="Channels">Channel numbers.</param>
/// <param name="PolicyVersion">Policy version.</param>
/// <param name="CapturedAt">When the person decided; null when missing.</param>
/// <param name="Touchpoint">Touchpoint id.</param>
/// <param name="FormId">Form id.</param>
/// <param name="IpAddress">IP address in clear form (hashed here).</param>
/// <param name="UserAgent">User agent.</param>
/// <param name="RequestId">Request id as sent (AIP-155); empty for none.</param>
public sealed record RecordConsentCommand(
    IReadOnlyList<IdentifierInput> Identifiers,
    string Purpose,
    int Decision,
    IReadOnlyList<int> Channels,
    int PolicyVersion,
    DateTimeOffset? CapturedAt,
    string Touchpoint,
    string FormId,
    string IpAddress,
    string UserAgent,
    string RequestId = "")
{
    /// <summary>Adds every field as sent to <paramref name="fingerprint"/>.</summary>
    public RequestFingerprint AddTo(RequestFingerprint fingerprint) => fingerprint
        .Add(Identifiers).Add(Purpose).Add(Decision).Add(Channels).Add(PolicyVersion).Add(CapturedAt)
        .Add(Touchpoint).Add(FormId).Add(IpAddress).Add(UserAgent).Add(RequestId);
}

/// <summary>A withdrawal of one purpose or all.</summary>
/// <param name="Subject">Subject name, or empty.</param>
/// <param name="Identifiers">Identifiers, or empty.</param>
/// <param name="Purpose">Purpose name, or empty with <paramref name="AllPurposes"/>.</param>
/// <param name="AllPurposes">Withdraw everything.</param>
/// <param name="Channels">Channels; empty for all.</param>
/// <param name="PolicyVersion">Policy version; 0 for the latest.</param>
/// <param name="CapturedAt">When; null for now.</param>
/// <param name="Touchpoint">Touchpoint id.</param>
/// <param name="FormId">Form id.</param>
/// <param name="IpAddress">IP address in clear form.</param>
/// <param name="UserAgent">User agent.</param>
/// <param name="RequestId">Request id as sent (AIP-155); empty for none.</param>
public sealed record WithdrawConsentCommand(
    string Subject,
    IReadOnlyList<IdentifierInput> Identifiers,
    string Purpose,
    bool AllPurposes,
    IReadOnlyList<int> Channels,
    int PolicyVersion,
    DateTimeOffset? CapturedAt,
    string Touchpoint,
    string FormId,
    string IpAddress,
    string UserAgent,
    string RequestId = "")
{
    /// <summary>Adds every field as sent to <paramref name="fingerprint"/>.</summary>
    public RequestFingerprint AddTo(RequestFingerprint fingerprint) => fingerprint
        .Add(Subject).Add(Identifiers).Add(Purpose).Add(AllPurposes).Add(Channels).Add(PolicyVersion).Add(CapturedAt)
        .Add(Touchpoint).Add(FormId).Add(IpAddress).Add(UserAgent);
}

/// <summary>A purpose as a caller defines it.</summary>
/// <param name="Description">Description.</param>
/// <param name="LegalBasis">Contract number of the basis.</param>
/// <param name="Channels">Channel numbers.</param>
/// <param name="Default">Contract number of the default.</param>
/// <param name="Validity">Validity; null or zero for none.</param>
/// <param name="MinimumPolicyVersion">Minimum version.</param>
public sealed record PurposeInput(string Description, int LegalBasis, IReadOnlyList<int> Channels, int Default, TimeSpan? Validity, int MinimumPolicyVersion);

/// <summary>What a check asks.</summary>
/// <param name="Subject">Subject name, or empty.</param>
/// <param name="Identifiers">Identifiers, or empty.</param>
/// <param name="Purpose">Purpose name.</param>
/// <param name="Channel">Channel number; 0 for the purpose as a whole.</param>
public readonly record struct CheckQuery(string Subject, IReadOnlyList<IdentifierInput> Identifiers, string Purpose, int Channel);

/// <summary>What a check answers.</summary>
/// <param name="Subject">The resolved subject, or null.</param>
/// <param name="Decision">The decision.</param>
public readonly record struct CheckAnswer(Guid? Subject, ConsentDecision Decision);
