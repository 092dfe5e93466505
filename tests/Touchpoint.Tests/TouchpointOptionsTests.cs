using System.Globalization;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        Assert.Equal(TimeSpan.FromDays(30), options.TrackingIdentityRetention);
    }

    [Fact]
    public void StartupValidation_WhenTrackingIdentityRetentionUnderAnHour_FailsNamingTheSetting()
    {
        var message = StartupFailure("Journey:Touchpoint:TrackingIdentityRetention", "00:59:00");

        Assert.StartsWith("Journey:Touchpoint: ", message, StringComparison.Ordinal);
        Assert.Contains("TrackingIdentityRetention", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(999)]
    [InlineData(50_001)]
    public void StartupValidation_WhenStreamTransactionSizeOutOfRange_FailsNamingTheSettingAndRange(int size)
    {
        var message = StartupFailure("Journey:Touchpoint:StreamTransactionSize", size.ToString(CultureInfo.InvariantCulture));

        Assert.StartsWith("Journey:Touchpoint: ", message, StringComparison.Ordinal);
        Assert.Contains("StreamTransactionSize", message, StringComparison.Ordinal);
        Assert.Contains("between 1000 and 50000", message, StringComparison.Ordinal);
    }

    /// <summary>The one failure startup validation reports when <paramref name="setting"/> is <paramref name="value"/>.</summary>
    private static string StartupFailure(string setting, string value)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [setting] = value })
            .Build());
        services.AddValidatedOptions<TouchpointOptions, TouchpointOptionsValidator>(TouchpointOptions.Section);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        return Assert.Single(failure.Failures);
    }
}
