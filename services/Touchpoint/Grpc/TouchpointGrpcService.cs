using Grpc.Core;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Grpc;

/// <summary>The gRPC face of the touchpoint service: map, call one use case, map back.</summary>
internal sealed class TouchpointGrpcService(TouchpointCatalog catalog, InteractionRecorder recorder) : TouchpointService.TouchpointServiceBase
{
    public override async Task<CreateTouchpointResponse> CreateTouchpoint(CreateTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = TouchpointMapping.ToProto(await catalog.CreateAsync(request.TouchpointId, TouchpointMapping.ToDraft(request.Touchpoint), context.CancellationToken)) };

    public override async Task<GetTouchpointResponse> GetTouchpoint(GetTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = TouchpointMapping.ToProto(await catalog.GetAsync(TouchpointMapping.IdFromName(request.Name), context.CancellationToken)) };

    public override async Task<ListTouchpointsResponse> ListTouchpoints(ListTouchpointsRequest request, ServerCallContext context)
    {
        var page = await catalog.ListAsync(TouchpointMapping.ToFilter(request), request.PageToken.Length == 0 ? null : request.PageToken, request.PageSize, context.CancellationToken);
        var response = new ListTouchpointsResponse { NextPageToken = page.NextAfter ?? "" };
        response.Touchpoints.AddRange(page.Items.Select(TouchpointMapping.ToProto));
        return response;
    }

    public override async Task<RetireTouchpointResponse> RetireTouchpoint(RetireTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = TouchpointMapping.ToProto(await catalog.RetireAsync(TouchpointMapping.IdFromName(request.Name), TouchpointMapping.ParseEtag(request.Etag), context.CancellationToken)) };

    public override async Task<RecordInteractionResponse> RecordInteraction(RecordInteractionRequest request, ServerCallContext context) =>
        new() { Duplicate = await recorder.RecordOneAsync(TouchpointMapping.ToDomain(request.Interaction), context.CancellationToken) };

    public override async Task<StreamInteractionsResponse> StreamInteractions(IAsyncStreamReader<StreamInteractionsRequest> requestStream, ServerCallContext context)
    {
        const int MaxListed = 1000;
        var response = new StreamInteractionsResponse();
        var offset = 0L;
        await foreach (var message in requestStream.ReadAllAsync(context.CancellationToken))
        {
            var result = await recorder.RecordBatchAsync(message.Interactions.Select(TouchpointMapping.ToDomain).ToList(), context.CancellationToken);
            response.MessageCount++;
            response.AcceptedCount += result.Accepted;
            response.DuplicateCount += result.Duplicates;
            response.RejectedCount += result.Rejected.Count;
            foreach (var rejection in result.Rejected.Take(MaxListed - response.Rejected.Count))
            {
                response.Rejected.Add(new RejectedInteraction { Index = (int)Math.Min(int.MaxValue, offset + rejection.Index), InteractionId = rejection.InteractionId, Field = rejection.Field, Reason = rejection.Reason });
            }

            offset += message.Interactions.Count;
        }

        return response;
    }

    public override async Task<RecordInteractionsResponse> RecordInteractions(RecordInteractionsRequest request, ServerCallContext context) =>
        TouchpointMapping.ToProto(await recorder.RecordBatchAsync(request.Interactions.Select(TouchpointMapping.ToDomain).ToList(), context.CancellationToken));
}
