using Journey.Recommendation.Domain;
using Journey.Testing;

namespace Journey.Recommendation.Tests.Domain;

public sealed class RecommendationOptionsTests
{
    private static readonly RecommendationOptionsValidator Validator = new();

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

        OptionsAssert.FailsNaming(Validator, options, "ChannelPurposes:MobileApp: 'Marketing Push'");
    }

    [Fact]
    public void ChannelPurposes_WhenEmpty_LiftsTheGate()
    {
        var options = new RecommendationOptions();
        options.ChannelPurposes[ChannelKind.Email] = "";

        Assert.False(Validator.Validate(null, options).Failed);
        Assert.Empty(options.PurposesGoverning(ChannelKind.Email));
    }

    [Fact]
    public void LearnedCountsRefreshInterval_DefaultsToTenSecondsAndRejectsZero()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), new RecommendationOptions().LearnedCountsRefreshInterval);
        OptionsAssert.FailsNaming(Validator, new RecommendationOptions { LearnedCountsRefreshInterval = TimeSpan.Zero }, nameof(RecommendationOptions.LearnedCountsRefreshInterval));
    }

    [Fact]
    public void RecommendationRetention_DefaultsToNinetyDaysAndRefusesLessThanADay()
    {
        Assert.Equal(TimeSpan.FromDays(90), new RecommendationOptions().RecommendationRetention);
        OptionsAssert.FailsNaming(Validator, new RecommendationOptions { RecommendationRetention = TimeSpan.FromHours(1) }, nameof(RecommendationOptions.RecommendationRetention));
    }
}
