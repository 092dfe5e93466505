using Grpc.Core;
using Journey.Shared.Identity;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.V1;
using static Journey.Touchpoint.Grpc.TouchpointMapping;

namespace Journey.Touchpoint.Grpc;

/// <summary>The gRPC face of the touchpoint service: maps, calls one use case, maps back.</summary>
internal sealed class TouchpointGrpcService(
    TouchpointCatalog catalog, InteractionRecorder recorder, PersonTimeline timeline, JourneyAnalytics analytics)
    : TouchpointService.TouchpointServiceBase
{
    /// <summary>Most rejections listed in a stream's reply; the count covers all.</summary>
    private const int MaxListedRejections = 1000;

    public override async Task<CreateTouchpointResponse> CreateTouchpoint(CreateTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = ToProto(await catalog.CreateAsync(ToFields(Required(request.Touchpoint)), request.TouchpointId, context.CancellationToken)) };

    public override async Task<GetTouchpointResponse> GetTouchpoint(GetTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = ToProto(await catalog.GetAsync(request.Name, context.CancellationToken)) };

    public override async Task<UpdateTouchpointResponse> UpdateTouchpoint(UpdateTouchpointRequest request, ServerCallContext context)
    {
        var touchpoint = Required(request.Touchpoint);
        var updated = await catalog.UpdateAsync(touchpoint.Name, ToFields(touchpoint), ToMask(request.UpdateMask), touchpoint.Etag, context.CancellationToken);
        return new() { Touchpoint = ToProto(updated) };
    }

    public override async Task<ListTouchpointsResponse> ListTouchpoints(ListTouchpointsRequest request, ServerCallContext context)
    {
        var (page, next) = await catalog.ListAsync(ToFilter(request), request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListTouchpointsResponse { NextPageToken = next };
        response.Touchpoints.AddRange(page.Select(ToProto));
        return response;
    }

    public override async Task<RetireTouchpointResponse> RetireTouchpoint(RetireTouchpointRequest request, ServerCallContext context) =>
        new() { Touchpoint = ToProto(await catalog.RetireAsync(request.Name, request.Etag, context.CancellationToken)) };

    public override async Task<RecordInteractionResponse> RecordInteraction(RecordInteractionRequest request, ServerCallContext context) =>
        new() { Duplicate = await recorder.RecordOneAsync(ToInput(request.Interaction), context.CancellationToken) };

    public override async Task<RecordInteractionsResponse> RecordInteractions(RecordInteractionsRequest request, ServerCallContext context)
    {
        var outcome = await recorder.RecordBatchAsync(ToInputs(request.Interactions), context.CancellationToken);
        var response = new RecordInteractionsResponse { AcceptedCount = outcome.Accepted, DuplicateCount = outcome.Duplicates, ConflictCount = outcome.Conflicts };
        response.Rejected.AddRange(outcome.Rejected.Select(r => ToProto(r)));
        return response;
    }

    public override async Task<StreamInteractionsResponse> StreamInteractions(IAsyncStreamReader<StreamInteractionsRequest> requestStream, ServerCallContext context)
    {
        var response = new StreamInteractionsResponse();
        var cancellationToken = context.CancellationToken;
        var group = recorder.NewStreamGroup();
        var received = 0;
        var next = requestStream.MoveNext(cancellationToken);
        while (await next)
        {
            var message = requestStream.Current;
            var inputs = ToInputs(message.Interactions);
            if (inputs.Count is 0 or > InteractionRecorder.MaxBatch)
            {
                // What arrived before a malformed message is stored before the stream fails on it.
                received = await StoreAsync(group, received, response, cancellationToken);
                await recorder.RecordBatchAsync(inputs, cancellationToken);
            }

            var bytes = message.CalculateSize();
            if (!group.Fits(inputs.Count, bytes))
            {
                received = await StoreAsync(group, received, response, cancellationToken);
            }

            group.Add(inputs, bytes);
            next = requestStream.MoveNext(cancellationToken);

            // Only messages already received join a group, so a slow sender never waits for the next one.
            if (!next.IsCompleted || group.IsFull)
            {
                received = await StoreAsync(group, received, response, cancellationToken);
            }
        }

        await StoreAsync(group, received, response, cancellationToken);
        return response;
    }

    /// <summary>Stores a group of stream messages and empties it; returns the stream position after them, for rejection indexes.</summary>
    private async Task<int> StoreAsync(StreamGroup group, int received, StreamInteractionsResponse response, CancellationToken cancellationToken)
    {
        if (group.Messages.Count == 0)
        {
            return received;
        }

        var outcomes = await recorder.RecordBatchesAsync(group.Messages, cancellationToken);
        for (var i = 0; i < group.Messages.Count; i++)
        {
            var outcome = outcomes[i];
            response.AcceptedCount += outcome.Accepted;
            response.DuplicateCount += outcome.Duplicates;
            response.RejectedCount += outcome.Rejected.Count;
            response.ConflictCount += outcome.Conflicts;
            foreach (var rejection in outcome.Rejected)
            {
                if (response.Rejected.Count < MaxListedRejections)
                {
                    response.Rejected.Add(ToProto(rejection, received));
                }
            }

            response.MessageCount++;
            received += group.Messages[i].Count;
        }

        group.Clear();
        return received;
    }

    public override async Task<ListInteractionsResponse> ListInteractions(ListInteractionsRequest request, ServerCallContext context)
    {
        var identifier = PersonRefs.One(request.Person, "person");
        var (page, next) = await timeline.ListAsync((IdentifierKind)identifier.Kind, identifier.Value, request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListInteractionsResponse { NextPageToken = next };
        response.Interactions.AddRange(page.Select(ToProto));
        return response;
    }

    public override async Task<GetTouchpointScorecardResponse> GetTouchpointScorecard(GetTouchpointScorecardRequest request, ServerCallContext context)
    {
        var (start, end) = ToPeriod(request.Period);
        return new() { Scorecard = ToProto(await analytics.ScorecardAsync(request.Name, start, end, context.CancellationToken)) };
    }

    public override async Task<GetJourneyFunnelResponse> GetJourneyFunnel(GetJourneyFunnelRequest request, ServerCallContext context)
    {
        var (start, end) = ToPeriod(request.Period);
        return ToProto(await analytics.FunnelAsync(start, end, request.DropOffLimit, context.CancellationToken));
    }

    public override async Task<GetJourneyPathsResponse> GetJourneyPaths(GetJourneyPathsRequest request, ServerCallContext context)
    {
        var (start, end) = ToPeriod(request.Period);
        return ToProto(await analytics.PathsAsync(
            start, end, (Domain.PathEnd)request.End, request.EndTouchpoint, request.StartTouchpoint, request.MaxSteps, request.PathLimit, request.LinkLimit, context.CancellationToken));
    }

    public override async Task<ListExperienceGapsResponse> ListExperienceGaps(ListExperienceGapsRequest request, ServerCallContext context)
    {
        var (start, end) = ToPeriod(request.Period);
        var (period, page, next) = await analytics.GapsAsync(start, end, request.MinRatings, request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListExperienceGapsResponse { Period = ToProto(period), NextPageToken = next };
        response.Gaps.AddRange(page.Select(ToProto));
        return response;
    }
}
