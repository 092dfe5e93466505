using System.Security.Cryptography;

namespace Journey.Consent.Tests;

public sealed class ConsentOptionsTests
{
    [Fact]
    public void Defaults_AreADayOfRequestIdsAnHourlyCheckpointAndADerivedKey()
    {
        var options = new ConsentOptions();

        Assert.Equal((TimeSpan.FromHours(24), TimeSpan.FromHours(1), (string?)null), (options.RequestIdRetention, options.CheckpointInterval, options.CheckpointSigningKey));
        Assert.True(new ConsentOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_WhenOutOfRange_NamesEachSetting()
    {
        var result = new ConsentOptionsValidator().Validate(null, new ConsentOptions { RequestIdRetention = TimeSpan.FromMinutes(5), CheckpointInterval = TimeSpan.FromDays(8) });

        Assert.True(result.Failed);
        Assert.Contains(nameof(ConsentOptions.RequestIdRetention), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(ConsentOptions.CheckpointInterval), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WhenTheSigningKeyIsNotAP256PrivateKey_SaysSo()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var wrongCurve = new ConsentOptionsValidator().Validate(null, new ConsentOptions { CheckpointSigningKey = p384.ExportPkcs8PrivateKeyPem() });
        var notAKey = new ConsentOptionsValidator().Validate(null, new ConsentOptions { CheckpointSigningKey = "secret" });
        var good = new ConsentOptionsValidator().Validate(null, new ConsentOptions { CheckpointSigningKey = p256.ExportPkcs8PrivateKeyPem() });

        Assert.Contains("Journey:Consent:CheckpointSigningKey", wrongCurve.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("P-256", wrongCurve.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("PEM", notAKey.FailureMessage, StringComparison.Ordinal);
        Assert.True(good.Succeeded);
    }
}
