using Grpc.Core;
using Journey.Consent.Domain;
using Journey.Consent.V1;
using Microsoft.Extensions.Logging;

namespace Journey.Consent.Grpc;

/// <summary>The gRPC face of the consent service: maps, calls one use case, maps back.</summary>
internal sealed partial class ConsentGrpcService(
    CatalogUseCases catalog, ConsentUseCases consent, ErasureUseCases erasure, CheckpointUseCases checkpoints, ILogger<ConsentGrpcService> logger) : ConsentService.ConsentServiceBase
{
    public override async Task<CreatePurposeResponse> CreatePurpose(CreatePurposeRequest request, ServerCallContext context)
    {
        var purpose = ConsentMapping.ToProto(await catalog.CreatePurposeAsync(request.PurposeId, ConsentMapping.Input(request.Purpose), context.CancellationToken));
        Audit(context, nameof(CreatePurpose), purpose.Name);
        return new CreatePurposeResponse { Purpose = purpose };
    }

    public override async Task<GetPurposeResponse> GetPurpose(GetPurposeRequest request, ServerCallContext context) =>
        new() { Purpose = ConsentMapping.ToProto(await catalog.GetPurposeAsync(request.Name, context.CancellationToken)) };

    public override async Task<ListPurposesResponse> ListPurposes(ListPurposesRequest request, ServerCallContext context)
    {
        var (purposes, next) = await catalog.ListPurposesAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListPurposesResponse { NextPageToken = next };
        response.Purposes.Add(purposes.Select(ConsentMapping.ToProto));
        return response;
    }

    public override async Task<UpdatePurposeResponse> UpdatePurpose(UpdatePurposeRequest request, ServerCallContext context)
    {
        var purpose = ConsentMapping.ToProto(await catalog.UpdatePurposeAsync(
            request.Purpose?.Name ?? "", request.Purpose?.Etag ?? "", ConsentMapping.Input(request.Purpose), ConsentMapping.Mask(request.UpdateMask), context.CancellationToken));
        Audit(context, nameof(UpdatePurpose), purpose.Name);
        return new UpdatePurposeResponse { Purpose = purpose };
    }

    public override async Task<CreatePolicyVersionResponse> CreatePolicyVersion(CreatePolicyVersionRequest request, ServerCallContext context)
    {
        var version = ConsentMapping.ToProto(await catalog.CreatePolicyVersionAsync(request.Text, request.RequestId, context.CancellationToken));
        Audit(context, nameof(CreatePolicyVersion), version.Name);
        return new CreatePolicyVersionResponse { PolicyVersion = version };
    }

    public override async Task<GetPolicyVersionResponse> GetPolicyVersion(GetPolicyVersionRequest request, ServerCallContext context) =>
        new() { PolicyVersion = ConsentMapping.ToProto(await catalog.GetPolicyVersionAsync(request.Name, context.CancellationToken)) };

    public override async Task<ListPolicyVersionsResponse> ListPolicyVersions(ListPolicyVersionsRequest request, ServerCallContext context)
    {
        var (versions, next) = await catalog.ListPolicyVersionsAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListPolicyVersionsResponse { NextPageToken = next };
        response.PolicyVersions.Add(versions.Select(ConsentMapping.ToProto));
        return response;
    }

    public override async Task<RecordConsentResponse> RecordConsent(RecordConsentRequest request, ServerCallContext context)
    {
        var command = Command(request);
        var record = ConsentMapping.ToProto(await consent.RecordAsync(command, context.CancellationToken));
        Audit(context, nameof(RecordConsent), record.Name);
        return new RecordConsentResponse { Record = record };
    }

    public override async Task<BatchRecordConsentResponse> BatchRecordConsent(BatchRecordConsentRequest request, ServerCallContext context)
    {
        var result = await consent.BatchRecordAsync([.. request.Records.Select(Command)], request.RequestId, context.CancellationToken);
        var response = new BatchRecordConsentResponse();
        foreach (var (index, record) in result.Accepted)
        {
            response.Accepted.Add(new AcceptedConsentRecord { Index = index, Record = record.Name });
        }

        foreach (var (index, violation) in result.Rejected)
        {
            response.Rejected.Add(new RejectedConsentRecord { Index = index, Field = violation.Field, Reason = violation.Description });
        }

        // One audit line per batch: a line per record would cost more than storing it.
        Audit(context, nameof(BatchRecordConsent), $"{result.Accepted.Count} records");
        return response;
    }

    public override async Task<WithdrawConsentResponse> WithdrawConsent(WithdrawConsentRequest request, ServerCallContext context)
    {
        var command = new WithdrawConsentCommand(
            "", ConsentMapping.Person(request.Person, "person"), request.Purpose, request.AllPurposes, ConsentMapping.Channels(request.Channels), request.PolicyVersion,
            ConsentMapping.Time(request.CaptureTime), request.Touchpoint, request.FormId, request.IpAddress, request.UserAgent, request.RequestId);
        var response = new WithdrawConsentResponse();
        response.Records.Add((await consent.WithdrawAsync(command, context.CancellationToken)).Select(ConsentMapping.ToProto));
        foreach (var record in response.Records)
        {
            Audit(context, nameof(WithdrawConsent), record.Name);
        }

        return response;
    }

    public override async Task<CheckConsentResponse> CheckConsent(CheckConsentRequest request, ServerCallContext context) =>
        ConsentMapping.ToProto(await consent.CheckAsync(ConsentMapping.Query(request), -1, context.CancellationToken));

    public override async Task<BatchCheckConsentResponse> BatchCheckConsent(BatchCheckConsentRequest request, ServerCallContext context)
    {
        var answers = await consent.BatchCheckAsync([.. request.Checks.Select(ConsentMapping.Query)], context.CancellationToken);
        var response = new BatchCheckConsentResponse();
        response.Results.Add(answers.Select(ConsentMapping.ToProto));
        return response;
    }

    public override async Task<ListConsentHistoryResponse> ListConsentHistory(ListConsentHistoryRequest request, ServerCallContext context)
    {
        var (subject, records, next) = await consent.ListHistoryAsync(request.Subject, ConsentMapping.Person(request.Person, "person", required: false), request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListConsentHistoryResponse { Subject = ConsentNames.Subject(subject), NextPageToken = next };
        response.Records.Add(records.Select(ConsentMapping.ToProto));
        return response;
    }

    public override async Task<VerifyConsentChainResponse> VerifyConsentChain(VerifyConsentChainRequest request, ServerCallContext context)
    {
        var (subject, result) = await consent.VerifyChainAsync(request.Subject, ConsentMapping.Person(request.Person, "person", required: false), context.CancellationToken);
        return new VerifyConsentChainResponse
        {
            Subject = ConsentNames.Subject(subject),
            Intact = result.Break == Domain.ChainBreak.None,
            RecordsChecked = result.RecordsChecked,
            FirstBrokenRecord = result.BrokenRecord?.Name ?? "",
            FirstBrokenSequence = result.FirstBrokenSequence,
            Break = (V1.ChainBreak)result.Break,
            HeadLength = result.Head?.Length ?? 0,
            Checkpoint = result.Checkpoint is { } checkpoint ? LedgerCheckpoints.Name(checkpoint) : "",
            CheckpointLength = result.CheckpointLength,
        };
    }

    public override async Task<RequestErasureResponse> RequestErasure(RequestErasureRequest request, ServerCallContext context)
    {
        var requested = ConsentMapping.ToProto(await erasure.RequestAsync(ConsentMapping.Person(request.Person, "person"), request.RequestId, context.CancellationToken));
        Audit(context, nameof(RequestErasure), requested.Name);
        return new RequestErasureResponse { Erasure = requested };
    }

    public override async Task<GetErasureStatusResponse> GetErasureStatus(GetErasureStatusRequest request, ServerCallContext context) =>
        new() { Erasure = ConsentMapping.ToProto(await erasure.GetStatusAsync(request.Name, context.CancellationToken)) };

    public override async Task<ListConsentCheckpointsResponse> ListConsentCheckpoints(ListConsentCheckpointsRequest request, ServerCallContext context)
    {
        var (page, next) = await checkpoints.ListAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListConsentCheckpointsResponse { NextPageToken = next };
        response.Checkpoints.Add(page.Select(c => ConsentMapping.ToProto(c, checkpoints.Signer)));
        return response;
    }

    public override async Task<GetConsentCheckpointResponse> GetConsentCheckpoint(GetConsentCheckpointRequest request, ServerCallContext context) =>
        new() { Checkpoint = ConsentMapping.ToProto(await checkpoints.GetAsync(request.Name, context.CancellationToken), checkpoints.Signer) };

    private static RecordConsentCommand Command(RecordConsentRequest request) => new(
        ConsentMapping.Person(request.Person, "person"), request.Purpose, (int)request.Decision, ConsentMapping.Channels(request.Channels), request.PolicyVersion,
        ConsentMapping.Time(request.CaptureTime), request.Touchpoint, request.FormId, request.IpAddress, request.UserAgent, request.RequestId);

    // Sensitive operations leave an audit line with the caller and the (pseudonymous) target; the
    // log's own timestamp is the time. Never an identifier, e-mail or phone.
    private void Audit(ServerCallContext context, string operation, string target) =>
        LogAudit(logger, operation, context.GetHttpContext().User.FindFirst("sub")?.Value ?? "anonymous", target);

    [LoggerMessage(EventId = 1, EventName = "ConsentAudit", Level = LogLevel.Information, Message = "Audit: {Operation} by {Caller} on {Target}")]
    private static partial void LogAudit(ILogger logger, string operation, string caller, string target);
}
