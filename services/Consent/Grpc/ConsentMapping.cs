using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.Domain;
using Journey.Consent.V1;
using Journey.Shared.Errors;
using Journey.Shared.Identity;
using DomainErasure = Journey.Consent.Domain.Erasure;
using DomainPolicyVersion = Journey.Consent.Domain.PolicyVersion;
using DomainPurpose = Journey.Consent.Domain.Purpose;
using DomainRecord = Journey.Consent.Domain.ConsentRecord;

namespace Journey.Consent.Grpc;

/// <summary>Maps between the contract and the domain.</summary>
internal static class ConsentMapping
{
    private static readonly Dictionary<string, PurposeFieldMask> MaskPaths = new(StringComparer.Ordinal)
    {
        ["description"] = PurposeFieldMask.Description,
        ["legal_basis"] = PurposeFieldMask.LegalBasis,
        ["channels"] = PurposeFieldMask.Channels,
        ["default_decision"] = PurposeFieldMask.Default,
        ["validity"] = PurposeFieldMask.Validity,
        ["minimum_policy_version"] = PurposeFieldMask.MinimumPolicyVersion,
    };

    public static PurposeFieldMask Mask(FieldMask? mask) => UpdateMasks.Parse(mask, MaskPaths, PurposeFieldMask.All);

    /// <summary>
    /// The identifiers a person reference names. A required reference that is unset is left to the use
    /// case, which reports it on the field it names; a malformed profile name is reported here.
    /// </summary>
    public static IReadOnlyList<IdentifierInput> Person(PersonRef? person, string field, bool required = true)
    {
        if (person is null || person.PersonCase == PersonRef.PersonOneofCase.None)
        {
            return required ? throw new InvalidArgumentException(field, "is required: a profile name (profiles/{profile}) or identifiers") : [];
        }

        return Identifiers(PersonRefs.Identifiers(person, field, required));
    }

    public static IReadOnlyList<IdentifierInput> Identifiers(IReadOnlyList<Identifier> identifiers)
    {
        if (identifiers.Count == 0)
        {
            return [];
        }

        var inputs = new IdentifierInput[identifiers.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = new IdentifierInput((int)identifiers[i].Kind, identifiers[i].Value);
        }

        return inputs;
    }

    public static IReadOnlyList<int> Channels(RepeatedField<Channel> channels) => [.. channels.Select(c => (int)c)];

    public static DateTimeOffset? Time(Timestamp? timestamp) =>
        timestamp is null ? null : timestamp.Seconds is >= -62135596800 and <= 253402300799 && timestamp.Nanos is >= 0 and < 1_000_000_000 ? timestamp.ToDateTimeOffset() : DateTimeOffset.MaxValue;

    public static PurposeInput? Input(V1.Purpose? purpose) => purpose is null ? null : new PurposeInput(
        purpose.Description,
        (int)purpose.LegalBasis,
        Channels(purpose.Channels),
        (int)purpose.DefaultDecision,
        Validity(purpose.Validity),
        purpose.MinimumPolicyVersion);

    // Out-of-range or unnormalised durations become a negative value, which validation reports by
    // field, instead of the exception Duration.ToTimeSpan would throw.
    private static TimeSpan? Validity(Duration? validity) =>
        validity is null ? null
        : validity.Seconds is >= 0 and <= 3_155_760_000 && validity.Nanos is >= 0 and < 1_000_000_000 ? TimeSpan.FromSeconds(validity.Seconds) + TimeSpan.FromTicks(validity.Nanos / 100)
        : TimeSpan.MinValue;

    public static V1.Purpose ToProto(DomainPurpose purpose)
    {
        var proto = new V1.Purpose
        {
            Name = ConsentNames.Purpose(purpose.Id),
            Description = purpose.Description,
            LegalBasis = (V1.LegalBasis)purpose.LegalBasis,
            DefaultDecision = (V1.DefaultDecision)purpose.Default,
            MinimumPolicyVersion = purpose.MinimumPolicyVersion,
            Etag = purpose.Etag,
            CreateTime = Timestamp.FromDateTimeOffset(purpose.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(purpose.UpdatedAt),
        };
        proto.Channels.Add(purpose.Channels.Channels().Select(c => (Channel)c));
        if (purpose.Validity is { } validity)
        {
            proto.Validity = Duration.FromTimeSpan(validity);
        }

        return proto;
    }

    public static V1.PolicyVersion ToProto(DomainPolicyVersion version) => new()
    {
        Name = CatalogUseCases.PolicyVersionName(version.Version),
        Version = version.Version,
        Text = version.Text,
        Sha256 = version.Sha256,
        CreateTime = Timestamp.FromDateTimeOffset(version.CreatedAt),
    };

    public static V1.ConsentRecord ToProto(DomainRecord record)
    {
        var draft = record.Draft;
        var proto = new V1.ConsentRecord
        {
            Name = record.Name,
            Subject = ConsentNames.Subject(record.Subject),
            Purpose = ConsentNames.Purpose(draft.PurposeId),
            Decision = draft.Granted ? V1.ConsentDecision.Granted : V1.ConsentDecision.Withdrawn,
            PolicyVersion = draft.PolicyVersion,
            CaptureTime = Timestamp.FromDateTimeOffset(draft.CapturedAt),
            RecordTime = Timestamp.FromDateTimeOffset(draft.RecordedAt),
            Touchpoint = draft.Touchpoint,
            Proof = new V1.ConsentProof { FormId = draft.Proof.FormId, IpAddressHash = draft.Proof.IpAddressHash, UserAgent = draft.Proof.UserAgent, Redacted = draft.Proof.Redacted },
            Origin = (V1.RecordOrigin)draft.Origin,
            SourceRecord = draft.SourceRecord,
            Sequence = record.Sequence,
            PreviousHash = record.PreviousHash,
            Hash = record.Hash,
        };
        proto.Channels.Add(draft.Channels.Channels().Select(c => (Channel)c));
        return proto;
    }

    public static CheckQuery Query(CheckConsentRequest request) =>
        new("", Person(request.Person, "person"), request.Purpose, (int)request.Channel);

    public static CheckConsentResponse ToProto(CheckAnswer answer)
    {
        var decision = answer.Decision;
        var response = new CheckConsentResponse
        {
            Allowed = decision.Allowed,
            Reason = (V1.DecisionReason)decision.Reason,
            Subject = answer.Subject is { } subject ? ConsentNames.Subject(subject) : "",
        };
        if (decision.HasRecord)
        {
            response.Record = ConsentNames.Record(answer.Subject!.Value, decision.Record.RecordId);
            response.DecideTime = Timestamp.FromDateTimeOffset(decision.Record.CapturedAt);
            response.PolicyVersion = decision.Record.PolicyVersion;
        }

        if (decision.ExpiresAt is { } expiresAt)
        {
            response.ExpireTime = Timestamp.FromDateTimeOffset(expiresAt);
        }

        return response;
    }

    // The public key served is the service's current one; a checkpoint signed under an earlier key
    // names that key's id, which then differs from the key served.
    public static ConsentCheckpoint ToProto(LedgerCheckpoint checkpoint, CheckpointSigner signer) => new()
    {
        Name = LedgerCheckpoints.Name(checkpoint.Number),
        Number = checkpoint.Number,
        CreateTime = Timestamp.FromDateTimeOffset(checkpoint.CreatedAt),
        SubjectCount = checkpoint.Subjects,
        RecordCount = checkpoint.Records,
        RootHash = checkpoint.Root,
        PreviousStatementHash = checkpoint.PreviousStatementHash,
        Statement = ByteString.CopyFrom(checkpoint.Statement),
        Signature = ByteString.CopyFrom(checkpoint.Signature),
        SigningKeyId = checkpoint.KeyId,
        PublicKeyPem = string.Equals(checkpoint.KeyId, signer.KeyId, StringComparison.Ordinal) ? signer.PublicKeyPem : "",
    };

    public static V1.Erasure ToProto(DomainErasure erasure)
    {
        var proto = new V1.Erasure
        {
            Name = ConsentNames.Erasure(erasure.Id),
            RequestTime = Timestamp.FromDateTimeOffset(erasure.RequestedAt),
            LedgerRetention = ErasureUseCases.LedgerRetention,
            Subject = erasure.Subject is { } subject ? ConsentNames.Subject(subject) : "",
        };
        foreach (var service in ErasureUseCases.Services)
        {
            var completion = erasure.Completions.FirstOrDefault(c => c.Service == service);
            proto.Services.Add(completion is null
                ? new V1.ServiceErasure { Service = service }
                : new V1.ServiceErasure { Service = service, Completed = true, CompleteTime = Timestamp.FromDateTimeOffset(completion.CompletedAt), RecordsErased = completion.RecordsErased });
        }

        var done = proto.Services.All(s => s.Completed);
        proto.State = done ? ErasureState.Completed : ErasureState.Pending;
        if (done)
        {
            proto.CompleteTime = Timestamp.FromDateTimeOffset(erasure.Completions.Max(c => c.CompletedAt));
        }

        return proto;
    }
}
