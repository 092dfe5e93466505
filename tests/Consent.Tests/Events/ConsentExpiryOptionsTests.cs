using Journey.Consent.Events;
using Journey.Testing;

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
        OptionsAssert.FailsNaming(
            new ConsentExpiryOptionsValidator(),
            new ConsentExpiryOptions { SweepInterval = TimeSpan.Zero, BatchSize = 10_001 },
            nameof(ConsentExpiryOptions.SweepInterval),
            nameof(ConsentExpiryOptions.BatchSize));
    }
}
