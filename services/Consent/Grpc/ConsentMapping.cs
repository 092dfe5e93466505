using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.Domain;
using Journey.Consent.V1;
using DomainErasure = Journey.Consent.Domain.Erasure;
using DomainPolicyVersion = Journey.Consent.Domain.PolicyVersion;
using DomainPurpose = Journey.Consent.Domain.Purpose;
using DomainRecord = Journey.Consent.Domain.ConsentRecord;

namespace Journey.Consent.Grpc;

/// <summary>Maps between the contract and the domain.</summary>
internal static class ConsentMapping
{
    public static IReadOnlyList<IdentifierInput> Identifiers(RepeatedField<Identifier> identifiers)
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
            Version = purpose.Version,
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
            CapturedAt = Timestamp.FromDateTimeOffset(draft.CapturedAt),
            RecordedAt = Timestamp.FromDateTimeOffset(draft.RecordedAt),
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
        new(request.Subject, Identifiers(request.Identifiers), request.Purpose, (int)request.Channel);

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
            response.DecidedAt = Timestamp.FromDateTimeOffset(decision.Record.CapturedAt);
            response.PolicyVersion = decision.Record.PolicyVersion;
        }

        if (decision.ExpiresAt is { } expiresAt)
        {
            response.ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt);
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
            RequestedAt = Timestamp.FromDateTimeOffset(erasure.RequestedAt),
            LedgerRetention = ErasureUseCases.LedgerRetention,
            Subject = erasure.Subject is { } subject ? ConsentNames.Subject(subject) : "",
        };
        foreach (var service in ErasureUseCases.Services)
        {
            var completion = erasure.Completions.FirstOrDefault(c => c.Service == service);
            proto.Services.Add(completion is null
                ? new V1.ServiceErasure { Service = service }
                : new V1.ServiceErasure { Service = service, Completed = true, CompletedAt = Timestamp.FromDateTimeOffset(completion.CompletedAt), RecordsErased = completion.RecordsErased });
        }

        var done = proto.Services.All(s => s.Completed);
        proto.State = done ? ErasureState.Completed : ErasureState.Pending;
        if (done)
        {
            proto.CompletedAt = Timestamp.FromDateTimeOffset(erasure.Completions.Max(c => c.CompletedAt));
        }

        return proto;
    }
}
