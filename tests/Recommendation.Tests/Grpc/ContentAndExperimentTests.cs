using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Recommendation.V1;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Recommendation.Tests.Grpc.RecommendationHost;

namespace Journey.Recommendation.Tests.Grpc;

public sealed class ContentAndExperimentTests() : HostedTests<RecommendationHost>(() => StartAsync())
{
    public static TheoryData<string, Action<ContentItem>> BadContent => new()
    {
        { "content.stages", c => c.Stages.Clear() },
        { "content.stages[0].weight", c => c.Stages[0].Weight = 1.5 },
        { "content.stages[0].weight", c => c.Stages[0].Weight = -0.1 },
        { "content.valid_end_time", c => { c.ValidStartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(2)); c.ValidEndTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(1)); } },
        { "content.kind", c => c.Kind = ContentKind.Unspecified },
        { "content.channels", c => c.Channels.Clear() },
        { "content.hardness", c => c.Hardness = 2 },
    };

    [Theory]
    [MemberData(nameof(BadContent))]
    public async Task CreateContent_WhenInvalid_FailsNamingTheField(string field, Action<ContentItem> spoil)
    {
        var content = Content("x", ContentKind.Guide, 0.1, JourneyStage.Awareness);
        spoil(content);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateContentAsync(new CreateContentRequest { ContentId = "x", Content = content }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field, ex.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(BadContent))]
    public async Task UpdateContent_WhenTheMergedItemIsInvalid_FailsNamingTheField(string field, Action<ContentItem> spoil)
    {
        await Host.UpsertAsync(Content("x", ContentKind.Guide, 0.1, JourneyStage.Awareness));
        var content = Content("x", ContentKind.Guide, 0.1, JourneyStage.Awareness);
        spoil(content);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = content, UpdateMask = new FieldMask { Paths = { "*" } } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field, ex.Status.Detail);
    }

    [Theory]
    [InlineData("", "content_id")]
    [InlineData("Bad Id", "content_id")]
    public async Task CreateContent_WithABadId_FailsNamingContentId(string id, string field)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateContentAsync(new CreateContentRequest { ContentId = id, Content = Content("x", ContentKind.Guide, 0.1, JourneyStage.Awareness) }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field, ex.Status.Detail);
    }

    [Fact]
    public async Task CreateContent_WhenMissing_FailsNamingContent()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateContentAsync(new CreateContentRequest { ContentId = "x" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("content", ex.Status.Detail);
    }

    [Fact]
    public async Task CreateContent_WhenTheIdIsTaken_IsAlreadyExists()
    {
        await Host.UpsertAsync(Content("a", ContentKind.Guide, 0.1, JourneyStage.Awareness));

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateContentAsync(new CreateContentRequest { ContentId = "a", Content = Content("a", ContentKind.Guide, 0.1, JourneyStage.Awareness) }).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, ex.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("version")]
    [InlineData("retired")]
    public async Task UpdateContent_WithAnEmptyOrUnknownMaskPath_IsInvalidArgumentNamingTheMask(string path)
    {
        await Host.UpsertAsync(Content("a", ContentKind.Guide, 0.1, JourneyStage.Awareness));
        var mask = new FieldMask();
        if (path.Length > 0)
        {
            mask.Paths.Add(path);
        }

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = Content("a", ContentKind.Video, 0.1, JourneyStage.Awareness), UpdateMask = mask }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("update_mask", ex.Status.Detail);
        Assert.Equal(ContentKind.Guide, (await Host.Client.GetContentAsync(new GetContentRequest { Name = "contents/a" })).Content.Kind);
    }

    [Fact]
    public async Task UpdateContent_WithoutAllowMissing_IsNotFoundAndWithIt_Creates()
    {
        var missing = await Assert.ThrowsAsync<RpcException>(() => Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = Content("n", ContentKind.Guide, 0.1, JourneyStage.Awareness), UpdateMask = new FieldMask { Paths = { "title" } } }).ResponseAsync);
        var created = await Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = Content("n", ContentKind.Guide, 0.1, JourneyStage.Awareness), UpdateMask = new FieldMask { Paths = { "title" } }, AllowMissing = true });

        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.True(created.Created);
        Assert.Equal("1", created.Content.Etag);
    }

    [Fact]
    public async Task Content_CreateUpdateGetListRetire_RoundTripsWithEtags()
    {
        var created = await Host.Client.CreateContentAsync(new CreateContentRequest { ContentId = "a", Content = Content("a", ContentKind.Guide, 0.1, JourneyStage.Awareness, topics: ["ev"]) });
        await Host.UpsertAsync(Content("b", ContentKind.Offer, 0.9, JourneyStage.Purchase, channel: Channel.Email));
        var change = Content("a", ContentKind.Video, 0.7, JourneyStage.Awareness);
        change.Etag = created.Content.Etag;
        var updated = await Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = change, UpdateMask = new FieldMask { Paths = { "kind" } } });
        var stale = await Assert.ThrowsAsync<RpcException>(() => Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = change, UpdateMask = new FieldMask { Paths = { "kind" } } }).ResponseAsync);
        var staleRetire = await Assert.ThrowsAsync<RpcException>(() => Host.Client.RetireContentAsync(new RetireContentRequest { Name = "contents/a", Etag = created.Content.Etag }).ResponseAsync);
        var retired = await Host.Client.RetireContentAsync(new RetireContentRequest { Name = "contents/b", Etag = "1" });
        var afterRetire = await Assert.ThrowsAsync<RpcException>(() => Host.Client.UpdateContentAsync(new UpdateContentRequest { Content = Content("b", ContentKind.Offer, 0.9, JourneyStage.Purchase), UpdateMask = new FieldMask { Paths = { "title" } } }).ResponseAsync);

        Assert.Equal("1", created.Content.Etag);
        Assert.False(updated.Created);
        Assert.Equal(ContentKind.Video, updated.Content.Kind);
        Assert.Equal(0.1, updated.Content.Hardness);
        Assert.Equal(["ev"], updated.Content.Topics);
        Assert.Equal("2", updated.Content.Etag);
        Assert.Equal(StatusCode.Aborted, stale.StatusCode);
        Assert.Equal(StatusCode.Aborted, staleRetire.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, afterRetire.StatusCode);
        Assert.True(retired.Content.Retired);
        Assert.Equal(updated.Content, (await Host.Client.GetContentAsync(new GetContentRequest { Name = "contents/a" })).Content);
        Assert.Equal(["contents/a"], (await Host.Client.ListContentsAsync(new ListContentsRequest())).Contents.Select(c => c.Name));
        Assert.Equal(["contents/a", "contents/b"], (await Host.Client.ListContentsAsync(new ListContentsRequest { IncludeRetired = true })).Contents.Select(c => c.Name));
        Assert.Equal(["contents/b"], (await Host.Client.ListContentsAsync(new ListContentsRequest { IncludeRetired = true, Channel = Channel.Email })).Contents.Select(c => c.Name));
        Assert.Equal(["contents/b"], (await Host.Client.ListContentsAsync(new ListContentsRequest { IncludeRetired = true, Stage = JourneyStage.Purchase })).Contents.Select(c => c.Name));
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => Host.Client.GetContentAsync(new GetContentRequest { Name = "contents/zzz" }).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task ListContents_PagesInNameOrder()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Host.UpsertAsync(Content(id, ContentKind.Guide, 0.1, JourneyStage.Awareness));
        }

        var first = await Host.Client.ListContentsAsync(new ListContentsRequest { PageSize = 2 });
        var second = await Host.Client.ListContentsAsync(new ListContentsRequest { PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(["contents/a", "contents/b"], first.Contents.Select(c => c.Name));
        Assert.Equal(["contents/c"], second.Contents.Select(c => c.Name));
        Assert.Equal("", second.NextPageToken);
    }

    [Fact]
    public async Task Experiment_AssignsDeterministicallyRecordsVariantsAndReportsResults()
    {
        await Host.UpsertAsync(
            Content("brand-a", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true),
            Content("brand-b", ContentKind.Guide, 0.1, JourneyStage.Awareness, generic: true));
        var experiment = new Experiment { DisplayName = "rules vs learned" };
        experiment.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 0.5 });
        experiment.Variants.Add(new Variant { Name = "learned", Strategy = Strategy.Learned, TrafficShare = 0.5 });
        var created = await Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "exp-1", Experiment = experiment });

        var variants = new Dictionary<string, string>();
        for (var i = 0; i < 40; i++)
        {
            var preview = await Host.RecommendAsync($"v{i}", count: 1, validateOnly: true);
            var first = await Host.RecommendAsync($"v{i}", count: 1);
            var again = await Host.RecommendAsync($"v{i}", count: 1);
            Assert.Equal(first.Variant, again.Variant);
            // The learned variant explores at random, so the preview's item may differ; its variant may not.
            Assert.Equal((first.Variant, 1, ""), (preview.Variant, preview.Items.Count, preview.Recommendation));
            Assert.Equal("experiments/exp-1", first.Experiment);
            variants[$"v{i}"] = first.Variant;
            await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = first.Recommendation, Content = first.Items[0].Content, Type = FeedbackType.Impression });
            if (first.Variant == "learned" || i % 4 == 0)
            {
                await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = first.Recommendation, Content = first.Items[0].Content, Type = FeedbackType.Click });
            }
        }

        var stopped = await Host.Client.StopExperimentAsync(new StopExperimentRequest { Name = "experiments/exp-1" });
        var results = await Host.Client.GetExperimentResultsAsync(new GetExperimentResultsRequest { Name = "experiments/exp-1" });
        var afterStop = await Host.RecommendAsync("v0", count: 1);

        Assert.Equal(ExperimentState.Running, created.Experiment.State);
        Assert.Equal(ExperimentState.Stopped, stopped.Experiment.State);
        Assert.Equal("default", afterStop.Variant);
        Assert.Contains("control", variants.Values);
        Assert.Contains("learned", variants.Values);
        var control = results.Variants[0];
        var learned = results.Variants[1];
        Assert.Equal("control", control.Variant);
        // Two recommendations per person; the preview before them counts nowhere.
        Assert.Equal(variants.Count(v => v.Value == "control") * 2, control.Recommendations);
        Assert.Equal(variants.Count(v => v.Value == "control"), control.Impressions);
        Assert.Equal(variants.Count(v => v.Value == "learned"), learned.Clicks);
        Assert.Equal(1.0, learned.ClickThrough.Value, 12);
        var expected = Journey.Recommendation.Domain.ExperimentMath.Wilson(control.Clicks, control.Impressions);
        Assert.Equal(expected.Lower, control.ClickThrough.Lower, 12);
        Assert.Equal(0.5, control.ProbabilityToBeatControl);
        Assert.True(learned.ProbabilityToBeatControl > 0.99);
    }

    [Fact]
    public async Task RecordFeedback_WhenFeedbackIdRepeats_IsAcknowledgedAndCountsOnce()
    {
        await Host.UpsertAsync(Content("brand-a", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true));
        var experiment = new Experiment { DisplayName = "counting" };
        experiment.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 0.5 });
        experiment.Variants.Add(new Variant { Name = "learned", Strategy = Strategy.Learned, TrafficShare = 0.5 });
        await Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "exp-idem", Experiment = experiment });
        var shown = await Host.RecommendAsync("ada", count: 1);
        RecordFeedbackRequest Click(string id) => new() { Recommendation = shown.Recommendation, Content = shown.Items[0].Content, Type = FeedbackType.Click, FeedbackId = id };

        var first = await Host.Client.RecordFeedbackAsync(Click("click-1"));
        var retried = await Host.Client.RecordFeedbackAsync(Click("click-1"));
        var other = await Host.Client.RecordFeedbackAsync(Click("click-2"));
        var unkeyed = await Host.Client.RecordFeedbackAsync(Click(""));
        var results = await Host.Client.GetExperimentResultsAsync(new GetExperimentResultsRequest { Name = "experiments/exp-idem" });

        Assert.Equal((false, true, false, false), (first.Repeated, retried.Repeated, other.Repeated, unkeyed.Repeated));
        Assert.Equal(3, results.Variants.Sum(v => v.Clicks));
    }

    [Fact]
    public async Task RecordFeedback_WithOnlyTheReadScope_IsPermissionDenied_AndCountsNothing()
    {
        await Host.UpsertAsync(Content("brand-a", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true));
        var shown = await Host.RecommendAsync("ada", count: 1);
        var reader = new RecommendationService.RecommendationServiceClient(Host.Platform.CreateChannel("recommendations:read"));
        var feedback = new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = shown.Items[0].Content, Type = FeedbackType.Click, FeedbackId = "click-1" };

        var refused = await Assert.ThrowsAsync<RpcException>(() => reader.RecordFeedbackAsync(feedback).ResponseAsync);
        var accepted = await Host.Client.RecordFeedbackAsync(feedback);

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.False(accepted.Repeated);
    }

    [Fact]
    public async Task RecordFeedback_WhenFeedbackIdMalformed_FailsNamingFeedbackId()
    {
        await Host.UpsertAsync(Content("brand-a", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true));
        var shown = await Host.RecommendAsync("ada", count: 1);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest
        {
            Recommendation = shown.Recommendation,
            Content = shown.Items[0].Content,
            Type = FeedbackType.Click,
            FeedbackId = "has space",
        }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("feedback_id", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateExperiment_WhenInvalidOrAnotherRuns_Fails()
    {
        var bad = new Experiment { DisplayName = "one arm" };
        bad.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 1 });
        var good = new Experiment { DisplayName = "two arms" };
        good.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 0.4 });
        good.Variants.Add(new Variant { Name = "learned", Strategy = Strategy.Learned, TrafficShare = 0.6 });

        var invalid = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "e1", Experiment = bad }).ResponseAsync);
        await Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "e1", Experiment = good });
        var second = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "e2", Experiment = good }).ResponseAsync);
        await Host.Client.StopExperimentAsync(new StopExperimentRequest { Name = "experiments/e1" });
        var taken = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateExperimentAsync(new CreateExperimentRequest { ExperimentId = "e1", Experiment = good }).ResponseAsync);
        var list = await Host.Client.ListExperimentsAsync(new ListExperimentsRequest());

        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.StartsWith("experiment.variants", invalid.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, second.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, taken.StatusCode);
        Assert.Equal(["experiments/e1"], list.Experiments.Select(e => e.Name));
    }

    [Fact]
    public async Task ErasureRequested_DeletesThePersonAndPublishesErasureCompleted()
    {
        await Host.UpsertAsync(Content("ev-review", ContentKind.Review, 0.2, JourneyStage.Consideration, topics: ["electric-cars"]));
        await Host.PersonAsync("c1", JourneyStage.Consideration, interests: ["electric-cars"]);
        var before = await Host.RecommendAsync("c1");
        var erasure = new ErasureRequested { Erasure = "erasures/e-1" };
        erasure.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = "c1" });

        await Host.PublishAsync(Topics.ErasureRequested, "consent", erasure);
        var after = await Host.RecommendAsync("c1");

        Assert.True(before.Personalised);
        Assert.False(after.Personalised);
        var captured = Host.Platform.Services.GetRequiredService<ErasureCompletedCapture>();
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(() => Task.FromResult(!captured.Events.IsEmpty)));
        var message = Assert.Single(captured.Events);
        Assert.Equal("erasures/e-1", message.Erasure);
        Assert.Equal("recommendation", message.Service);
        Assert.True(message.RecordsErased >= 2);
    }

    [Fact]
    public async Task ErasureRequested_ThenEventsStampedBeforeItSettled_DoNotBringThePersonBackButLaterOnesDo()
    {
        await Host.UpsertAsync(Content("ev-review", ContentKind.Review, 0.2, JourneyStage.Consideration, topics: ["electric-cars"]));
        await Host.PersonAsync("c1", JourneyStage.Consideration, interests: ["electric-cars"]);
        var erasure = new ErasureRequested { Erasure = "erasures/e-1", RequestTime = Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow()) };
        erasure.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = "c1" });
        erasure.Identifiers.Add(new Identifier { Kind = IdentifierKind.ProfileId, Value = "p-c1" });
        await Host.PublishAsync(Topics.ErasureRequested, "consent", erasure);

        // Still on its way when the erasure was handled: a snapshot and the erasure's own withdrawal-and-grant.
        await Host.PersonAsync("c1", JourneyStage.Consideration, interests: ["electric-cars"]);
        var stale = await Host.RecommendAsync("c1");
        Host.Clock.Advance(new Journey.Shared.Privacy.PrivacyOptions().ErasureSettleWindow + TimeSpan.FromSeconds(1));
        await Host.PersonAsync("c1", JourneyStage.Consideration, interests: ["electric-cars"]);
        var returned = await Host.RecommendAsync("c1");

        Assert.False(stale.Personalised);
        Assert.True(returned.Personalised);
    }
}
