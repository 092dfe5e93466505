namespace Journey.Touchpoint.Tests;

public sealed class TouchpointOptionsTests
{
    [Fact]
    public void Defaults_WhenNothingConfigured_AreTheDocumentedOnes()
    {
        var options = new TouchpointOptions();

        Assert.Equal(400, options.RetentionDays);
        Assert.Equal(TimeSpan.FromHours(1), options.RetentionSweepInterval);
        Assert.Equal(TimeSpan.FromDays(30), options.PurchaseWindow);
        Assert.Equal(TimeSpan.FromDays(30), options.SilencePeriod);
        Assert.Equal(20_000, options.StreamTransactionSize);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(50_001)]
    public void Validate_WhenStreamTransactionSizeOutOfRange_FailsNamingTheSettingAndRange(int size)
    {
        var result = new TouchpointOptionsValidator().Validate(null, new TouchpointOptions { StreamTransactionSize = size });

        Assert.True(result.Failed);
        Assert.Contains("StreamTransactionSize", result.FailureMessage);
        Assert.Contains("between 1000 and 50000", result.FailureMessage);
    }
}
