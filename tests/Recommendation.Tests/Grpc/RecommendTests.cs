using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using static Journey.Recommendation.Tests.Grpc.RecommendationHost;

namespace Journey.Recommendation.Tests.Grpc;

public sealed class RecommendTests() : HostedTests<RecommendationHost>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Recommendation:FrequencyCapPerDay"] = "2" }))
{
    private static List<string> Names(RecommendResponse response) => response.Items.Select(i => i.Content).ToList();

    private static List<ReasonCode> Codes(RecommendResponse response, string content) =>
        response.Items.Single(i => i.Content == content).Reasons.Select(r => r.Code).ToList();

    [Fact]
    public async Task Recommend_WhenPersonUnknown_TreatsThemAsAnonymousInAwareness()
    {
        await Host.UpsertAsync(
            Content("brand-story", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true),
            Content("lease-calculator", ContentKind.Calculator, 0.3, JourneyStage.Evaluation, generic: true));

        var response = await Host.RecommendAsync("nobody");

        Assert.Equal(JourneyStage.Awareness, response.Stage);
        Assert.False(response.Personalised);
        Assert.Equal(["contents/brand-story"], Names(response));
        Assert.Contains(ReasonCode.Anonymous, Codes(response, "contents/brand-story"));
        Assert.Contains(response.Items[0].Reasons, r => r.Text == "fits stage: awareness");
        Assert.StartsWith("recommendations/", response.Recommendation);
    }

    [Fact]
    public async Task Recommend_WhenReadinessRises_ShiftsFromSoftToHardContent()
    {
        await Host.UpsertAsync(
            Content("buying-guide", ContentKind.Guide, 0.1, JourneyStage.Evaluation),
            Content("lease-calculator", ContentKind.Calculator, 0.3, JourneyStage.Evaluation),
            Content("spring-offer", ContentKind.Offer, 0.9, JourneyStage.Evaluation),
            Content("test-drive", ContentKind.TestDriveBooking, 0.8, JourneyStage.Evaluation));
        await Host.PersonAsync("c1", JourneyStage.Evaluation, readiness: 20);

        var soft = await Host.RecommendAsync("c1");
        await Host.PersonAsync("c1", JourneyStage.Evaluation, readiness: 95);
        var hard = await Host.RecommendAsync("c1");

        Assert.Equal(["contents/buying-guide", "contents/lease-calculator"], Names(soft).Order());
        Assert.True(soft.Personalised);
        Assert.Contains(soft.Items[0].Reasons, r => r.Text == "fits stage: evaluation");
        Assert.Contains(Names(hard)[0], new[] { "contents/spring-offer", "contents/test-drive" });
        Assert.Contains(ReasonCode.ReadyToBuy, Codes(hard, "contents/spring-offer"));
    }

    [Fact]
    public async Task Recommend_WhenServiceTicketOpen_ReturnsServiceContentInsteadOfMarketing()
    {
        await Host.UpsertAsync(
            Content("upgrade-offer", ContentKind.Offer, 0.5, JourneyStage.Ownership, channel: Channel.Service),
            Content("maintenance-help", ContentKind.ServiceInformation, 0, JourneyStage.Ownership, purpose: ContentPurpose.Service, channel: Channel.Service));
        await Host.PersonAsync("c2", JourneyStage.Ownership, openTickets: 1);

        var response = await Host.RecommendAsync("c2", "service-portal");

        Assert.Equal(["contents/maintenance-help"], Names(response));
        Assert.Contains(ReasonCode.ServiceTicketOpen, Codes(response, "contents/maintenance-help"));
    }

    [Fact]
    public async Task Recommend_WhenNoPersonalisationConsent_ReturnsGenericContentFitForTheTouchpoint()
    {
        await Host.UpsertAsync(
            Content("personal-ev-pick", ContentKind.Article, 0.2, JourneyStage.Consideration, topics: ["electric-cars"]),
            Content("brand-story", ContentKind.Video, 0.1, JourneyStage.Consideration, generic: true),
            Content("brand-purchase", ContentKind.Article, 0.1, JourneyStage.Purchase, generic: true));
        await Host.PersonAsync("c3", JourneyStage.Purchase, consent: false, interests: ["electric-cars"]);

        var response = await Host.RecommendAsync("c3");

        Assert.False(response.Personalised);
        Assert.Equal(["contents/brand-story"], Names(response));
        var reasons = response.Items[0].Reasons;
        Assert.Contains(reasons, r => r.Code == ReasonCode.GenericNoConsent && r.Text == "generic: no consent for personalisation");
        Assert.Contains(reasons, r => r.Text == "fits stage: consideration");
    }

    [Fact]
    public async Task Recommend_WhenInterestMatches_SaysSoAndRanksItFirst()
    {
        await Host.UpsertAsync(
            Content("diesel-review", ContentKind.Review, 0.2, JourneyStage.Consideration, topics: ["diesel"]),
            Content("ev-review", ContentKind.Review, 0.2, JourneyStage.Consideration, topics: ["electric-cars"]));
        await Host.PersonAsync("c4", JourneyStage.Consideration, interests: ["electric-cars"]);

        var response = await Host.Client.RecommendAsync(new RecommendRequest
        {
            Touchpoint = "touchpoints/web-home",
            Count = 2,
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = " C4@Example.com" }),
        });
        var byCustomerId = await Host.RecommendAsync("c4", count: 2);

        Assert.DoesNotContain(response.Items, i => i.Reasons.Any(r => r.Code == ReasonCode.Interest));
        Assert.Equal("contents/ev-review", byCustomerId.Items[0].Content);
        Assert.Contains(byCustomerId.Items[0].Reasons, r => r.Code == ReasonCode.Interest && r.Text == "interest: electric cars");
    }

    [Fact]
    public async Task Recommend_WhenPersonKnownByEmail_FindsThemThroughTheHash()
    {
        await Host.UpsertAsync(Content("ev-review", ContentKind.Review, 0.2, JourneyStage.Consideration, topics: ["electric-cars"]));
        await Host.PersonAsync("c5", JourneyStage.Consideration, interests: ["electric-cars"], email: "c5@example.com");

        var response = await Host.Client.RecommendAsync(new RecommendRequest
        {
            Touchpoint = "touchpoints/web-home",
            Count = 1,
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = " C5@Example.com" }),
        });

        Assert.True(response.Personalised);
        Assert.Contains(response.Items[0].Reasons, r => r.Code == ReasonCode.Interest);
    }

    [Fact]
    public async Task Recommend_WhenItemConsumed_LeavesItOut()
    {
        await Host.UpsertAsync(
            Content("ev-guide", ContentKind.Guide, 0.1, JourneyStage.Consideration),
            Content("ev-video", ContentKind.Video, 0.1, JourneyStage.Consideration));
        await Host.PersonAsync("c6", JourneyStage.Consideration);
        var consumed = new InteractionRecorded { InteractionId = "i1", Touchpoint = "touchpoints/web-home", Channel = Channel.Web, Type = InteractionType.ContentConsumed, Content = "contents/ev-guide" };
        consumed.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = "c6" });
        await Host.PublishAsync(RecommendationTopics.InteractionRecorded, "touchpoint", consumed);

        var response = await Host.RecommendAsync("c6");

        Assert.Equal(["contents/ev-video"], Names(response));
    }

    [Fact]
    public async Task Recommend_WhenImpressionsReachTheDailyCap_DropsTheItemUntilTomorrow()
    {
        await Host.UpsertAsync(
            Content("ev-guide", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("ev-video", ContentKind.Video, 0.1, JourneyStage.Consideration, weight: 0.2));
        await Host.PersonAsync("c7", JourneyStage.Consideration);

        for (var i = 0; i < 2; i++)
        {
            var shown = await Host.RecommendAsync("c7", count: 2);
            await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/ev-guide", Type = FeedbackType.Impression });
        }

        var capped = await Host.RecommendAsync("c7", count: 2);
        Host.Clock.Advance(TimeSpan.FromDays(1));
        var tomorrow = await Host.RecommendAsync("c7", count: 2);

        Assert.Equal(["contents/ev-video"], Names(capped));
        Assert.Contains("contents/ev-guide", Names(tomorrow));
    }

    [Fact]
    public async Task Recommend_WhenItemIsOutsideItsValidityOrChannel_LeavesItOut()
    {
        var expired = Content("old-offer", ContentKind.Offer, 0.1, JourneyStage.Awareness, generic: true);
        expired.ValidEndTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow().AddDays(-1));
        await Host.UpsertAsync(
            expired,
            Content("email-only", ContentKind.Newsletter, 0.1, JourneyStage.Awareness, generic: true, channel: Channel.Email),
            Content("brand-story", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true));

        var response = await Host.RecommendAsync(null);

        Assert.Equal(["contents/brand-story"], Names(response));
    }

    [Fact]
    public async Task Recommend_WhenManyItemsOfOneKind_MixesKinds()
    {
        await Host.UpsertAsync(
            Content("guide-a", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("guide-b", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("guide-c", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("review-a", ContentKind.Review, 0.1, JourneyStage.Consideration, weight: 0.8));
        await Host.PersonAsync("c8", JourneyStage.Consideration);

        var response = await Host.RecommendAsync("c8", count: 2);

        Assert.Equal(2, response.Items.Select(i => i.Kind).Distinct().Count());
    }

    [Fact]
    public async Task Recommend_WhenRulesLeaveNothing_FallsBackToGenericBrandContent()
    {
        await Host.UpsertAsync(
            Content("offer", ContentKind.Offer, 0.95, JourneyStage.Awareness),
            Content("brand-purchase", ContentKind.Article, 0.2, JourneyStage.Purchase, generic: true));
        await Host.PersonAsync("c9", JourneyStage.Awareness, readiness: 5);

        var response = await Host.RecommendAsync("c9");

        Assert.Equal(["contents/brand-purchase"], Names(response));
        Assert.Equal(ReasonCode.FallbackGeneric, response.Items[0].Reasons[0].Code);
    }

    [Fact]
    public async Task Contents_InTheFullView_CarryWhatWasLearnedPerStage()
    {
        await Host.UpsertAsync(
            Content("perf-guide", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("perf-video", ContentKind.Video, 0.1, JourneyStage.Consideration, weight: 0.8));
        await Host.PersonAsync("c-perf", JourneyStage.Consideration);
        for (var i = 0; i < 4; i++)
        {
            var shown = await Host.RecommendAsync("c-perf", count: 2);
            await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/perf-guide", Type = FeedbackType.Impression });
            if (i == 0)
            {
                await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/perf-guide", Type = FeedbackType.Click });
                await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/perf-guide", Type = FeedbackType.Conversion });
            }

            Host.Clock.Advance(TimeSpan.FromDays(1));
        }

        var full = await Host.Client.GetContentAsync(new GetContentRequest { Name = "contents/perf-guide", View = ContentView.Full });
        var basic = await Host.Client.GetContentAsync(new GetContentRequest { Name = "contents/perf-guide" });
        var listed = await Host.Client.ListContentsAsync(new ListContentsRequest { Topic = "", View = ContentView.Full, PageSize = 500 });

        // Four impressions at consideration, one click, one conversion: 1/4, 1/4, and (1 + 1) / (4 + 2).
        var stage = Assert.Single(full.Content.Performance);
        Assert.Equal((JourneyStage.Consideration, 4L, 1L, 1L), (stage.Stage, stage.Impressions, stage.Clicks, stage.Conversions));
        Assert.Equal((0.25, 0.25, 2 / 6.0), (stage.ClickRate, stage.ConversionRate, stage.LearnedClickRate));
        Assert.Empty(basic.Content.Performance);
        Assert.Equal(full.Content.Performance, listed.Contents.Single(c => c.Name == "contents/perf-guide").Performance);
        Assert.Empty(listed.Contents.Single(c => c.Name == "contents/perf-video").Performance);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.ListContentsAsync(new ListContentsRequest { View = (ContentView)7 }));
        Assert.Equal((StatusCode.InvalidArgument, "view"), (error.StatusCode, Assert.Single(error.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field));
    }

    [Fact]
    public async Task SummarizeContents_CountsTheLiveLibraryByTopicStageAndHardness_WithWhatWasShownMost()
    {
        await Host.UpsertAsync(
            Content("sum-guide", ContentKind.Guide, 0.1, JourneyStage.Consideration, topics: ["suv", "family"]),
            Content("sum-offer", ContentKind.Offer, 0.9, JourneyStage.Consideration, topics: ["suv"]),
            Content("sum-weak", ContentKind.Guide, 0.5, JourneyStage.Purchase, weight: 0.4, topics: ["suv"]),
            Content("sum-gone", ContentKind.Guide, 0.1, JourneyStage.Consideration, topics: ["retired-topic"]));
        await Host.Client.RetireContentAsync(new RetireContentRequest { Name = "contents/sum-gone" });
        await Host.PersonAsync("c-sum", JourneyStage.Consideration);
        var shown = await Host.RecommendAsync("c-sum", count: 1);
        var most = Assert.Single(shown.Items).Content;
        for (var i = 0; i < 3; i++)
        {
            await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = most, Type = FeedbackType.Impression });
        }

        var summary = await Host.Client.SummarizeContentsAsync(new SummarizeContentsRequest());

        Assert.Equal(3, summary.LiveCount);
        Assert.Equal(["family", "suv"], summary.Topics);
        // sum-weak fits no stage (weight 0.4): suv at consideration counts the guide and the offer only.
        Assert.Equal([("family", JourneyStage.Consideration, 1L), ("suv", JourneyStage.Consideration, 2L)], summary.Coverage.Select(c => (c.Topic, c.Stage, c.Count)));
        var consideration = summary.Hardness.Single(h => h.Stage == JourneyStage.Consideration);
        Assert.Equal((1L, 0L, 1L), (consideration.SoftCount, consideration.MediumCount, consideration.HardCount));
        Assert.Equal(6, summary.Hardness.Count);
        Assert.All(summary.Hardness.Where(h => h.Stage != JourneyStage.Consideration), h => Assert.Equal(0, h.SoftCount + h.MediumCount + h.HardCount));
        var shownMost = Assert.Single(summary.MostShown);
        Assert.Equal((most, 3L, JourneyStage.Consideration), (shownMost.Content, shownMost.Performance.Impressions, shownMost.Performance.Stage));
        Assert.Equal(most["contents/".Length..].Replace('-', ' '), shownMost.Title);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.SummarizeContentsAsync(new SummarizeContentsRequest { MostShownSize = -1 }));
        Assert.Equal((StatusCode.InvalidArgument, "most_shown_size"), (error.StatusCode, Assert.Single(error.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field));
    }

    [Fact]
    public async Task Recommend_WhenOneItemIsClickedOften_LearnsToRankItFirst()
    {
        await Host.UpsertAsync(
            Content("guide-a", ContentKind.Guide, 0.1, JourneyStage.Consideration, weight: 1.0),
            Content("guide-b", ContentKind.Video, 0.1, JourneyStage.Consideration, weight: 0.8));
        await Host.PersonAsync("c10", JourneyStage.Consideration);
        var before = await Host.RecommendAsync("c10", count: 2);

        for (var i = 0; i < 30; i++)
        {
            var shown = await Host.RecommendAsync($"visitor-{i}", count: 2);
            _ = shown;
        }

        for (var i = 0; i < 30; i++)
        {
            var shown = await Host.RecommendAsync("c10", count: 2);
            foreach (var content in new[] { "contents/guide-a", "contents/guide-b" })
            {
                await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = content, Type = FeedbackType.Impression });
            }

            await Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/guide-b", Type = FeedbackType.Click });
            Host.Clock.Advance(TimeSpan.FromDays(1));
        }

        var after = await Host.RecommendAsync("c10", count: 2);

        Assert.Equal("contents/guide-a", before.Items[0].Content);
        Assert.Equal("contents/guide-b", after.Items[0].Content);
        Assert.Contains(after.Items[0].Reasons, r => r.Code == ReasonCode.PopularAtStage && r.Text == "popular with people at this stage");
        Assert.Contains(before.Items[0].Reasons, r => r.Code == ReasonCode.Exploration);
    }

    [Fact]
    public async Task Recommend_WhenPeopleReadTwoItemsTogether_SuggestsTheOther()
    {
        await Host.UpsertAsync(
            Content("ev-guide", ContentKind.Guide, 0.1, JourneyStage.Consideration),
            Content("charging-map", ContentKind.Article, 0.1, JourneyStage.Consideration, weight: 0.5),
            Content("other", ContentKind.Video, 0.1, JourneyStage.Consideration, weight: 0.5));
        foreach (var reader in new[] { "r1", "r2", "r3" })
        {
            foreach (var content in new[] { "contents/ev-guide", "contents/charging-map" })
            {
                var consumed = new InteractionRecorded { InteractionId = reader + content, Touchpoint = "touchpoints/web-home", Channel = Channel.Web, Type = InteractionType.ContentConsumed, Content = content };
                consumed.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = reader });
                await Host.PublishAsync(RecommendationTopics.InteractionRecorded, "touchpoint", consumed);
            }
        }

        await Host.PersonAsync("c11", JourneyStage.Consideration);
        var response = await Host.Client.RecommendAsync(new RecommendRequest
        {
            Touchpoint = "touchpoints/web-home",
            Count = 3,
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.CustomerId, Value = "c11" }),
            Context = { ["content"] = "contents/ev-guide" },
        });

        Assert.Contains(response.Items.Single(i => i.Content == "contents/charging-map").Reasons,
            r => r.Code == ReasonCode.AlsoConsumed && r.Text == "people who read 'ev guide' also read this");
    }

    [Theory]
    [InlineData("touchpoints/unknown", 1, 5, "touchpoint")]
    [InlineData("web-home", 1, 5, "touchpoint")]
    [InlineData("touchpoints/web-home", 99, 5, "channel")]
    [InlineData("touchpoints/web-home", 1, 0, "count")]
    [InlineData("touchpoints/web-home", 1, 101, "count")]
    public async Task Recommend_WhenInputIsBad_FailsNamingTheField(string touchpoint, int channel, int count, string field)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.RecommendAsync(new RecommendRequest { Touchpoint = touchpoint, Channel = (Channel)channel, Count = count }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field, ex.Status.Detail);
    }

    [Fact]
    public async Task Recommend_WhenTouchpointWasRetired_FailsNamingTheTouchpoint()
    {
        var retired = Touchpoint("web-home", Channel.Web, JourneyStage.Awareness);
        retired.Retired = true;
        retired.Version = 2;
        await Host.PublishAsync(RecommendationTopics.TouchpointChanged, "touchpoint", retired);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.RecommendAsync(null));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("touchpoint", ex.Status.Detail);
    }

    [Fact]
    public async Task RecordFeedback_WhenRecommendationUnknown_IsNotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest
        {
            Recommendation = "recommendations/" + Guid.NewGuid().ToString("N"),
            Content = "contents/x",
            Type = FeedbackType.Click,
        }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task RecordFeedback_WhenContentWasNotRecommended_FailsNamingContent()
    {
        await Host.UpsertAsync(Content("brand-story", ContentKind.Video, 0.1, JourneyStage.Awareness, generic: true));
        var shown = await Host.RecommendAsync(null);

        var ex = await Assert.ThrowsAsync<RpcException>(() => Host.Client.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = shown.Recommendation, Content = "contents/other", Type = FeedbackType.Click }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith("content", ex.Status.Detail);
    }
}
