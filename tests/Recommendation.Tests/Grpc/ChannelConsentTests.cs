using Journey.Common.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using static Journey.Recommendation.Tests.Grpc.RecommendationHost;

namespace Journey.Recommendation.Tests.Grpc;

/// <summary>
/// Marketing at a touchpoint of a channel needs the consent purpose that governs the channel
/// (e-mail: <c>purposes/marketing-email</c>), granted on that channel; service content does not.
/// </summary>
public sealed class ChannelConsentTests() : HostedTests<RecommendationHost>(() => StartAsync())
{
    private const string MarketingEmail = "purposes/marketing-email";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.PublishAsync(RecommendationTopics.TouchpointChanged, "touchpoint", Touchpoint("newsletter", Channel.Email, JourneyStage.Consideration, JourneyStage.Evaluation));
        await Host.UpsertAsync(
            Content("ev-guide", ContentKind.Guide, 0.2, JourneyStage.Consideration, channel: Channel.Email),
            Content("spring-offer", ContentKind.Offer, 0.9, JourneyStage.Consideration, channel: Channel.Email),
            Content("brand-video", ContentKind.Video, 0.1, JourneyStage.Consideration, generic: true, channel: Channel.Email),
            Content("service-reminder", ContentKind.ServiceInformation, 0, JourneyStage.Consideration, generic: true, purpose: ContentPurpose.Service, channel: Channel.Email));
    }

    private static List<string> Names(RecommendResponse response) => response.Items.Select(i => i.Content).Order().ToList();

    [Fact]
    public async Task Recommend_WhenMarketingEmailGranted_OffersMarketingAtTheNewsletter()
    {
        await Host.PersonAsync("granted", JourneyStage.Consideration, readiness: 90);
        await Host.ConsentAsync("granted", MarketingEmail, true, Channel.Email);

        var response = await Host.RecommendAsync("granted", "newsletter");

        Assert.Contains("contents/spring-offer", Names(response));
        Assert.Contains("contents/ev-guide", Names(response));
        Assert.Empty(response.Withheld);
    }

    [Fact]
    public async Task Recommend_WhenMarketingEmailWithdrawn_OffersOnlyServiceContentAtTheNewsletterAndSaysWhy()
    {
        await Host.PersonAsync("withdrew", JourneyStage.Consideration, readiness: 90);
        await Host.ConsentAsync("withdrew", MarketingEmail, true);
        await Host.ConsentAsync("withdrew", MarketingEmail, false);

        var response = await Host.RecommendAsync("withdrew", "newsletter");

        Assert.Equal(["contents/service-reminder"], Names(response));
        var hold = Assert.Single(response.Withheld);
        Assert.Equal(MarketingEmail, hold.Purpose);
        Assert.Equal(Channel.Email, hold.Channel);
        Assert.Contains(response.Items[0].Reasons, r => r.Code == ReasonCode.ServiceOnlyNoChannelConsent && r.Text.Contains(MarketingEmail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recommend_WhenEveryPurposeWithdrawn_NeverOffersTheBrandVideoAtTheNewsletter()
    {
        await Host.PersonAsync("nothing", JourneyStage.Consideration, consent: false);
        foreach (var purpose in new[] { MarketingEmail, "purposes/profiling" })
        {
            await Host.ConsentAsync("nothing", purpose, false);
        }

        var response = await Host.RecommendAsync("nothing", "newsletter", count: 10);

        Assert.DoesNotContain("contents/brand-video", Names(response));
        Assert.All(Names(response), name => Assert.Equal("contents/service-reminder", name));
    }

    [Fact]
    public async Task Recommend_WhenMarketingEmailWithdrawnOnEmailOnly_StillOffersMarketingOnTheWeb()
    {
        await Host.UpsertAsync(Content("web-guide", ContentKind.Guide, 0.2, JourneyStage.Consideration, generic: true));
        await Host.PersonAsync("web-only", JourneyStage.Consideration);
        await Host.ConsentAsync("web-only", MarketingEmail, true);
        await Host.ConsentAsync("web-only", MarketingEmail, false, Channel.Email);

        var newsletter = await Host.RecommendAsync("web-only", "newsletter");
        var web = await Host.RecommendAsync("web-only", "web-home");

        Assert.Equal(["contents/service-reminder"], Names(newsletter));
        Assert.Contains("contents/web-guide", Names(web));
        Assert.Empty(web.Withheld);
    }

    [Fact]
    public async Task Recommend_WhenPersonUnknown_OffersNoMarketingAtTheNewsletter()
    {
        var response = await Host.RecommendAsync("stranger", "newsletter");

        Assert.Equal(["contents/service-reminder"], Names(response));
        Assert.Equal(MarketingEmail, Assert.Single(response.Withheld).Purpose);
    }

    [Fact]
    public async Task Recommend_WhenItemNeedsAPurposeGrantedOnAnotherChannelOnly_LeavesItOut()
    {
        var item = Content("profiling-pick", ContentKind.Article, 0.2, JourneyStage.Consideration, channel: Channel.Email);
        item.RequiredConsentPurpose = "purposes/profiling";
        await Host.UpsertAsync(item);
        await Host.PersonAsync("other-channel", JourneyStage.Consideration);
        await Host.ConsentAsync("other-channel", MarketingEmail, true, Channel.Email);
        await Host.ConsentAsync("other-channel", "purposes/profiling", true, Channel.Web);

        var response = await Host.RecommendAsync("other-channel", "newsletter", count: 10);

        Assert.DoesNotContain("contents/profiling-pick", Names(response));
        Assert.Contains("contents/ev-guide", Names(response));
    }
}
