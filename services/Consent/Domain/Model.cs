namespace Journey.Consent.Domain;

// Values match the proto enums one to one, so mapping is a cast.

/// <summary>The legal basis of a purpose.</summary>
public enum LegalBasis
{
    Unspecified = 0,
    Consent = 1,
    LegitimateInterest = 2,
    Contract = 3,
    LegalObligation = 4,
}

/// <summary>Why a purpose is allowed or not.</summary>
public enum DecisionReason
{
    Unspecified = 0,
    Granted = 1,
    Withdrawn = 2,
    Expired = 3,
    PolicyOutdated = 4,
    NoAnswerDefault = 5,
    LegalBasisNotConsent = 6,
    ChannelNotCovered = 7,
}

/// <summary>The kind of a person identifier (journey.common.v1 numbering).</summary>
public enum IdentifierKind
{
    Unspecified = 0,
    CustomerId = 1,
    Email = 2,
    Phone = 3,
    AnonymousId = 4,
    DeviceId = 5,
    AdClickId = 6,
    ProfileId = 7,
}

/// <summary>An identifier of a subject; e-mail and phone hold their keyed hash.</summary>
public sealed record SubjectIdentifier(IdentifierKind Kind, string Value);

/// <summary>Something personal data is used for.</summary>
public sealed record Purpose(string Id, string Description, LegalBasis LegalBasis, IReadOnlyList<int> Channels, bool DefaultAllowed, TimeSpan? Validity, string MinimumPolicyVersion);

/// <summary>How a decision was captured.</summary>
public sealed record Proof(string FormId, string HashedIp, string UserAgent);

/// <summary>One entry of a subject's append-only ledger; <see cref="Hash"/> covers its content and <see cref="PreviousHash"/>.</summary>
public sealed record ConsentRecord(
    string SubjectId,
    long Sequence,
    string PurposeId,
    bool Granted,
    IReadOnlyList<int> Channels,
    string PolicyVersion,
    DateTimeOffset CapturedAt,
    string TouchpointId,
    Proof Proof,
    DateTimeOffset RecordedAt,
    string PreviousHash,
    string Hash);

/// <summary>A decision with the record it rests on.</summary>
public sealed record Decision(bool Allowed, DecisionReason Reason, ConsentRecord? Record);
