using Grpc.Core;
using Journey.Recommendation.Domain;
using Journey.Recommendation.V1;
using Journey.Shared.Errors;
using static Journey.Recommendation.Grpc.RecommendationMapping;

namespace Journey.Recommendation.Grpc;

/// <summary>The gRPC face of the service: map, call one use case, map back.</summary>
internal sealed class RecommendationGrpcService(
    ContentLibraryService library,
    Recommender recommender,
    FeedbackService feedback,
    ExperimentService experiments) : RecommendationService.RecommendationServiceBase
{
    public override async Task<CreateContentResponse> CreateContent(CreateContentRequest request, ServerCallContext context) =>
        new() { Content = ToProto(await library.CreateAsync(request.ContentId, ToDomain(request.Content), context.CancellationToken)) };

    public override async Task<UpdateContentResponse> UpdateContent(UpdateContentRequest request, ServerCallContext context)
    {
        var mask = ToMask(request.UpdateMask);
        var (item, created) = await library.UpdateAsync(ToDomain(request.Content), mask, request.Content?.Etag ?? "", request.AllowMissing, context.CancellationToken);
        return new UpdateContentResponse { Content = ToProto(item), Created = created };
    }

    public override async Task<GetContentResponse> GetContent(GetContentRequest request, ServerCallContext context)
    {
        var item = await library.GetAsync(request.Name, context.CancellationToken);
        return new GetContentResponse { Content = (await ViewAsync([item], request.View, context.CancellationToken))[0] };
    }

    public override async Task<ListContentsResponse> ListContents(ListContentsRequest request, ServerCallContext context)
    {
        var filter = new ContentFilter((Domain.ContentKind)(int)request.Kind, (Domain.Stage)(int)request.Stage, (ChannelKind)(int)request.Channel, request.Topic, request.IncludeRetired);
        var page = await library.ListAsync(filter, request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListContentsResponse { NextPageToken = page.NextPageToken };
        response.Contents.AddRange(await ViewAsync(page.Items, request.View, context.CancellationToken));
        return response;
    }

    public override async Task<SummarizeContentsResponse> SummarizeContents(SummarizeContentsRequest request, ServerCallContext context) =>
        ToProto(await library.SummarizeAsync(request.MostShownSize, context.CancellationToken));

    /// <summary>The items as <paramref name="view"/> asks: with their learned performance for CONTENT_VIEW_FULL.</summary>
    private async Task<IReadOnlyList<V1.ContentItem>> ViewAsync(IReadOnlyList<Domain.ContentItem> items, ContentView view, CancellationToken cancellationToken)
    {
        if (view is not (ContentView.Unspecified or ContentView.Basic or ContentView.Full))
        {
            throw new InvalidArgumentException("view", "must be CONTENT_VIEW_BASIC or CONTENT_VIEW_FULL (or unset for basic)");
        }

        var protos = items.Select(ToProto).ToList();
        if (view == ContentView.Full)
        {
            var performance = await library.PerformanceAsync(items, cancellationToken);
            for (var i = 0; i < protos.Count; i++)
            {
                protos[i].Performance.AddRange(performance[i].Select(ToProto));
            }
        }

        return protos;
    }

    public override async Task<RetireContentResponse> RetireContent(RetireContentRequest request, ServerCallContext context) =>
        new() { Content = ToProto(await library.RetireAsync(request.Name, request.Etag, context.CancellationToken)) };

    public override async Task<RecommendResponse> Recommend(V1.RecommendRequest request, ServerCallContext context) =>
        ToProto(await recommender.RecommendAsync(ToDomain(request), context.CancellationToken));

    public override async Task<RecordFeedbackResponse> RecordFeedback(RecordFeedbackRequest request, ServerCallContext context)
    {
        var recorded = await feedback.RecordAsync(request.Recommendation, request.Content, (Domain.FeedbackType)(int)request.Type, request.FeedbackId, context.CancellationToken);
        return new RecordFeedbackResponse { Repeated = !recorded };
    }

    public override async Task<CreateExperimentResponse> CreateExperiment(CreateExperimentRequest request, ServerCallContext context) =>
        new() { Experiment = ToProto(await experiments.CreateAsync(request.ExperimentId, ToDomain(request.Experiment), context.CancellationToken)) };

    public override async Task<GetExperimentResponse> GetExperiment(GetExperimentRequest request, ServerCallContext context) =>
        new() { Experiment = ToProto(await experiments.GetAsync(request.Name, context.CancellationToken)) };

    public override async Task<ListExperimentsResponse> ListExperiments(ListExperimentsRequest request, ServerCallContext context)
    {
        var page = await experiments.ListAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListExperimentsResponse { NextPageToken = page.NextPageToken };
        response.Experiments.AddRange(page.Items.Select(ToProto));
        return response;
    }

    public override async Task<StopExperimentResponse> StopExperiment(StopExperimentRequest request, ServerCallContext context) =>
        new() { Experiment = ToProto(await experiments.StopAsync(request.Name, context.CancellationToken)) };

    public override async Task<GetExperimentResultsResponse> GetExperimentResults(GetExperimentResultsRequest request, ServerCallContext context)
    {
        var (experiment, results) = await experiments.ResultsAsync(request.Name, context.CancellationToken);
        var response = new GetExperimentResultsResponse { Experiment = ToProto(experiment) };
        response.Variants.AddRange(results.Select(ToProto));
        return response;
    }
}
