using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Tests.Domain;

public sealed class LearnedCountsOptionsTests
{
    [Fact]
    public void LearnedCountsRefreshInterval_DefaultsToTenSecondsAndRejectsZero()
    {
        var validator = new RecommendationOptionsValidator();

        Assert.Equal(TimeSpan.FromSeconds(10), new RecommendationOptions().LearnedCountsRefreshInterval);
        var result = validator.Validate(null, new RecommendationOptions { LearnedCountsRefreshInterval = TimeSpan.Zero });
        Assert.True(result.Failed);
        Assert.Contains(nameof(RecommendationOptions.LearnedCountsRefreshInterval), result.FailureMessage, StringComparison.Ordinal);
    }
}
