using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Tests.Domain;

public sealed class ChannelPurposesOptionsTests
{
    [Fact]
    public void ChannelPurposes_DefaultsToMarketingEmailGoverningEmailOnly()
    {
        var options = new RecommendationOptions();

        Assert.Equal(["purposes/marketing-email"], options.PurposesGoverning(ChannelKind.Email));
        Assert.Empty(options.PurposesGoverning(ChannelKind.Web));
    }

    [Fact]
    public void ChannelPurposes_WhenAValueIsNotAPurposeName_FailsNamingTheChannelAndValue()
    {
        var options = new RecommendationOptions();
        options.ChannelPurposes[ChannelKind.MobileApp] = "purposes/marketing-push, Marketing Push";

        var result = new RecommendationOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChannelPurposes:MobileApp: 'Marketing Push'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ChannelPurposes_WhenEmpty_LiftsTheGate()
    {
        var options = new RecommendationOptions();
        options.ChannelPurposes[ChannelKind.Email] = "";

        Assert.False(new RecommendationOptionsValidator().Validate(null, options).Failed);
        Assert.Empty(options.PurposesGoverning(ChannelKind.Email));
    }
}
