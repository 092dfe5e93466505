using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Consent.Domain;
using Journey.Consent.V1;
using Journey.Shared.Errors;

namespace Journey.Consent.Grpc;

/// <summary>The gRPC face of the consent service.</summary>
internal sealed class ConsentGrpcService(ConsentDecisions decisions) : ConsentService.ConsentServiceBase
{
    public override async Task<CreatePurposeResponse> CreatePurpose(CreatePurposeRequest request, ServerCallContext context) =>
        new() { Purpose = ConsentMapping.ToProto(await decisions.CreatePurposeAsync(ConsentMapping.ToDomain(request.PurposeId, request.Purpose), context.CancellationToken)) };

    public override async Task<GetPurposeResponse> GetPurpose(GetPurposeRequest request, ServerCallContext context) =>
        new() { Purpose = ConsentMapping.ToProto(await decisions.GetPurposeAsync(ConsentMapping.PurposeId(request.Name, "name"), context.CancellationToken)) };

    public override async Task<RecordConsentResponse> RecordConsent(RecordConsentRequest request, ServerCallContext context)
    {
        var record = await decisions.RecordAsync(
            ConsentMapping.ToDomain(request.Subject), ConsentMapping.PurposeId(request.Purpose, "purpose"), request.Granted,
            request.Channels.Select(c => (int)c).ToList(), request.PolicyVersion, RequestFields.Time(request.CaptureTime, "capture_time"), request.Touchpoint,
            new Domain.Proof(request.Proof?.FormId ?? "", request.Proof?.HashedIp ?? "", request.Proof?.UserAgent ?? ""), context.CancellationToken);
        return new RecordConsentResponse { Record = ConsentMapping.RecordName(record), RecordHash = record.Hash };
    }

    public override async Task<CheckConsentResponse> CheckConsent(CheckConsentRequest request, ServerCallContext context)
    {
        var decision = await decisions.CheckAsync(ConsentMapping.ToDomain(request.Subject), ConsentMapping.PurposeId(request.Purpose, "purpose"), (int)request.Channel, context.CancellationToken);
        return new CheckConsentResponse
        {
            Allowed = decision.Allowed,
            Reason = (V1.DecisionReason)decision.Reason,
            Record = decision.Record is null ? "" : ConsentMapping.RecordName(decision.Record),
            PolicyVersion = decision.Record?.PolicyVersion ?? "",
            DecidedTime = decision.Record is null ? null : Timestamp.FromDateTimeOffset(decision.Record.CapturedAt),
        };
    }
}

/// <summary>Between the proto contract and the domain.</summary>
internal static class ConsentMapping
{
    public static V1.Purpose ToProto(Domain.Purpose purpose)
    {
        var proto = new V1.Purpose
        {
            Name = $"purposes/{purpose.Id}",
            Description = purpose.Description,
            LegalBasis = (V1.LegalBasis)purpose.LegalBasis,
            DefaultAllowed = purpose.DefaultAllowed,
            Validity = purpose.Validity is { } validity ? Duration.FromTimeSpan(validity) : null,
            MinimumPolicyVersion = purpose.MinimumPolicyVersion,
        };
        proto.Channels.AddRange(purpose.Channels.Select(c => (Common.V1.Channel)c));
        return proto;
    }

    public static Domain.Purpose ToDomain(string id, V1.Purpose? proto)
    {
        if (proto is null)
        {
            throw new InvalidArgumentException("purpose", "is required");
        }

        TimeSpan? validity = null;
        if (proto.Validity is { } duration && (duration.Seconds != 0 || duration.Nanos != 0))
        {
            validity = duration.Seconds is > 0 and < 3_153_600_000 ? duration.ToTimeSpan() : throw new InvalidArgumentException("purpose.validity", "must be positive and at most 100 years");
        }

        return new Domain.Purpose(id, proto.Description, (Domain.LegalBasis)proto.LegalBasis, proto.Channels.Select(c => (int)c).ToList(), proto.DefaultAllowed, validity, proto.MinimumPolicyVersion);
    }

    public static IReadOnlyList<SubjectIdentifier> ToDomain(IEnumerable<Common.V1.Identifier> identifiers) =>
        identifiers.Select(i => new SubjectIdentifier((Domain.IdentifierKind)i.Kind, i.Value)).ToList();

    public static string PurposeId(string name, string field) =>
        name.StartsWith("purposes/", StringComparison.Ordinal) && name.Length > "purposes/".Length
            ? name["purposes/".Length..]
            : throw new InvalidArgumentException(field, "must be a purpose name like purposes/personalisation");

    public static string RecordName(ConsentRecord record) => $"subjects/{record.SubjectId}/records/{record.Sequence}";
}
