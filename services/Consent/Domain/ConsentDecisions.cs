using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>Defines purposes, records decisions in a hash-chained ledger, and decides.</summary>
public sealed partial class ConsentDecisions(IConsentLedger ledger, IConsentEvents events, IdentifierHasher hasher, TimeProvider time)
{
    /// <summary>Defines a purpose.</summary>
    public async Task<Purpose> CreatePurposeAsync(Purpose purpose, CancellationToken cancellationToken)
    {
        new Validation()
            .Require(IdPattern().IsMatch(purpose.Id), "purpose_id", "must be 1 to 64 of a-z, 0-9 and '-', starting with a letter")
            .Require(purpose.Description.Trim().Length is >= 1 and <= 500, "purpose.description", "must be 1 to 500 characters")
            .Require(purpose.LegalBasis != LegalBasis.Unspecified && Enum.IsDefined(purpose.LegalBasis), "purpose.legal_basis", "must be set to a known legal basis")
            .Require(purpose.Channels.Count > 0 && purpose.Channels.All(c => c is >= 1 and <= 13), "purpose.channels", "must name at least one known channel")
            .Require(!(purpose.DefaultAllowed && purpose.LegalBasis == LegalBasis.Consent), "purpose.default_allowed", "must be false when the legal basis is consent: silence is no consent")
            .Require(purpose.Validity is null || purpose.Validity > TimeSpan.Zero, "purpose.validity", "must be positive, or unset for no expiry")
            .Require(purpose.MinimumPolicyVersion.Length == 0 || VersionPattern().IsMatch(purpose.MinimumPolicyVersion), "purpose.minimum_policy_version", "must be a version number like 3 or 3.1, or empty")
            .ThrowIfInvalid();
        await ledger.InsertPurposeAsync(purpose, cancellationToken);
        return purpose;
    }

    /// <summary>Gets a purpose; NotFoundException when missing.</summary>
    public async Task<Purpose> GetPurposeAsync(string id, CancellationToken cancellationToken) =>
        await ledger.GetPurposeAsync(id, cancellationToken) ?? throw new NotFoundException("Purpose", $"purposes/{id}");

    /// <summary>Appends a decision to the subject's ledger.</summary>
    public async Task<ConsentRecord> RecordAsync(IReadOnlyList<SubjectIdentifier> subject, string purposeId, bool granted, IReadOnlyList<int> channels, string policyVersion, DateTimeOffset? capturedAt, string touchpointId, Proof proof, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var validation = ValidateSubject(subject);
        var purpose = IdPattern().IsMatch(purposeId) ? await ledger.GetPurposeAsync(purposeId, cancellationToken) : null;
        validation
            .Require(purpose is not null, "purpose", $"names no defined purpose (purposes/{purposeId})")
            .Require(purpose is null || channels.All(c => purpose.Channels.Contains(c)), "channels", "must be channels the purpose covers")
            .Require(!granted || VersionPattern().IsMatch(policyVersion), "policy_version", "is required for a grant and must look like 3 or 3.1")
            .Require(policyVersion.Length == 0 || VersionPattern().IsMatch(policyVersion), "policy_version", "must look like 3 or 3.1")
            .Require(capturedAt is null || capturedAt <= now.AddMinutes(1), "capture_time", "must not be in the future")
            .Require(touchpointId.Length == 0 || TouchpointPattern().IsMatch(touchpointId), "touchpoint", "must be empty or a touchpoint name like touchpoints/contact-form")
            .Require(proof.FormId.Length <= 128 && proof.HashedIp.Length <= 128 && proof.UserAgent.Length <= 512, "proof", "form_id and hashed_ip must be at most 128 characters, user_agent at most 512")
            .ThrowIfInvalid();
        var identifiers = subject.Select(Protect).Distinct().ToList();
        var expiresAt = granted && purpose!.Validity is { } validity ? (capturedAt ?? now) + validity : (DateTimeOffset?)null;
        return await ledger.AppendAsync(identifiers, Guid.CreateVersion7(now).ToString(), (subjectId, previous) =>
        {
            var draft = new ConsentRecord(subjectId, (previous?.Sequence ?? 0) + 1, purposeId, granted, channels.Distinct().Order().ToList(), policyVersion,
                Truncate(capturedAt ?? now), touchpointId, proof, Truncate(now), previous?.Hash ?? "", "");
            var record = draft with { Hash = HashOf(draft) };
            return (record, events.ConsentChanged(record, identifiers, expiresAt));
        }, cancellationToken);
    }

    /// <summary>Decides whether <paramref name="purposeId"/> is allowed for the subject on <paramref name="channel"/>.</summary>
    public async Task<Decision> CheckAsync(IReadOnlyList<SubjectIdentifier> subject, string purposeId, int channel, CancellationToken cancellationToken)
    {
        ValidateSubject(subject)
            .Require(IdPattern().IsMatch(purposeId), "purpose", "must be a purpose name like purposes/personalisation")
            .Require(channel is >= 1 and <= 13, "channel", "must be set to a known channel")
            .ThrowIfInvalid();
        var purpose = await GetPurposeAsync(purposeId, cancellationToken);
        var subjectId = await ledger.FindSubjectAsync(subject.Select(Protect).ToList(), cancellationToken);
        var latest = subjectId is null ? null : await ledger.LatestAsync(subjectId, purposeId, cancellationToken);
        return Decide(purpose, latest, channel, time.GetUtcNow());
    }

    /// <summary>The decision rules, in order: an objection or withdrawal always wins; then the legal basis; then the grant's scope, expiry and policy version.</summary>
    public static Decision Decide(Purpose purpose, ConsentRecord? latest, int channel, DateTimeOffset now)
    {
        if (latest is { Granted: false })
        {
            return new Decision(false, DecisionReason.Withdrawn, latest);
        }

        if (purpose.LegalBasis != LegalBasis.Consent)
        {
            return new Decision(true, DecisionReason.LegalBasisNotConsent, latest);
        }

        if (latest is null)
        {
            return new Decision(purpose.DefaultAllowed, DecisionReason.NoAnswerDefault, null);
        }

        if (latest.Channels.Count > 0 && !latest.Channels.Contains(channel))
        {
            return new Decision(false, DecisionReason.ChannelNotCovered, latest);
        }

        if (purpose.Validity is { } validity && latest.CapturedAt + validity <= now)
        {
            return new Decision(false, DecisionReason.Expired, latest);
        }

        if (purpose.MinimumPolicyVersion.Length > 0 && CompareVersions(latest.PolicyVersion, purpose.MinimumPolicyVersion) < 0)
        {
            return new Decision(false, DecisionReason.PolicyOutdated, latest);
        }

        return new Decision(true, DecisionReason.Granted, latest);
    }

    /// <summary>SHA-256 over the record's content and its predecessor's hash: editing any earlier record breaks every later link.</summary>
    public static string HashOf(ConsentRecord record)
    {
        var canonical = string.Join('\n',
            record.SubjectId, record.Sequence, record.PurposeId, record.Granted, string.Join(',', record.Channels), record.PolicyVersion,
            record.CapturedAt.ToUnixTimeMilliseconds(), record.TouchpointId, record.Proof.FormId, record.Proof.HashedIp, record.Proof.UserAgent,
            record.RecordedAt.ToUnixTimeMilliseconds(), record.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static Validation ValidateSubject(IReadOnlyList<SubjectIdentifier> subject)
    {
        var validation = new Validation().Require(subject.Count is >= 1 and <= 10, "subject", "must hold 1 to 10 identifiers of the person");
        for (var i = 0; i < subject.Count; i++)
        {
            var identifier = subject[i];
            validation
                .Require(identifier.Kind != IdentifierKind.Unspecified && Enum.IsDefined(identifier.Kind), $"subject[{i}].kind", "must be set to a known identifier kind")
                .Require(identifier.Value.Trim().Length is >= 1 and <= 256, $"subject[{i}].value", "must be 1 to 256 characters")
                .Require(identifier.Kind != IdentifierKind.Email || IdentifierHasher.IsPlausibleEmail(identifier.Value), $"subject[{i}].value", "is not an e-mail address");
        }

        return validation;
    }

    private SubjectIdentifier Protect(SubjectIdentifier identifier) => identifier.Kind switch
    {
        IdentifierKind.Email => identifier with { Value = hasher.HashEmail(identifier.Value) },
        IdentifierKind.Phone => identifier with { Value = hasher.HashPhone(identifier.Value) },
        _ => identifier with { Value = identifier.Value.Trim() },
    };

    private static int CompareVersions(string left, string right) =>
        Version.Parse(left.Contains('.') ? left : left + ".0").CompareTo(Version.Parse(right.Contains('.') ? right : right + ".0"));

    private static DateTimeOffset Truncate(DateTimeOffset value) => value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond));

    [GeneratedRegex("^[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[0-9]{1,6}(\\.[0-9]{1,6})?$")]
    private static partial Regex VersionPattern();

    [GeneratedRegex("^touchpoints/[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex TouchpointPattern();
}
