using Journey.Consent.Events;

namespace Journey.Consent.Tests.Events;

public sealed class ConsentExpiryOptionsTests
{
    [Fact]
    public void Defaults_AreOneMinuteAndFiveHundred()
    {
        var options = new ConsentExpiryOptions();

        Assert.Equal((TimeSpan.FromMinutes(1), 500), (options.SweepInterval, options.BatchSize));
        Assert.True(new ConsentExpiryOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_WhenIntervalIsZeroOrBatchTooLarge_NamesTheSetting()
    {
        var result = new ConsentExpiryOptionsValidator().Validate(null, new ConsentExpiryOptions { SweepInterval = TimeSpan.Zero, BatchSize = 10_001 });

        Assert.True(result.Failed);
        Assert.Contains(nameof(ConsentExpiryOptions.SweepInterval), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(ConsentExpiryOptions.BatchSize), result.FailureMessage, StringComparison.Ordinal);
    }
}
