using System.Security.Cryptography;
using System.Text;
using Journey.Shared.Privacy;
using Journey.Testing;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Privacy;

public sealed class ErasureTombstonesTests
{
    private static readonly byte[] HashKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly IdentifierHasher Hasher = new(HashKey);
    private static readonly DateTimeOffset RequestedAt = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly ErasureTombstones _tombstones = new(Hasher, Options.Create(new PrivacyOptions()));

    [Fact]
    public void Key_IsAKeyedHashOfKindAndValueAndNeverTheIdentifiersOwnHash()
    {
        var email = Hasher.HashEmail("anna@example.com");

        var key = _tombstones.Key(2, email);

        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(HashKey, Encoding.UTF8.GetBytes($"erased:2:{email}"))), key);
        Assert.NotEqual(email, key);
        Assert.DoesNotContain(email, key, StringComparison.Ordinal);
        Assert.NotEqual(_tombstones.Key(1, "c-42"), _tombstones.Key(4, "c-42"));
    }

    [Fact]
    public void Key_OfAProfileIdWithOrWithoutItsPrefixAndOfAStoreKey_IsTheSame()
    {
        var bare = _tombstones.Key(7, "0123456789abcdef0123456789abcdef");

        Assert.Equal(bare, _tombstones.Key(7, "profiles/0123456789abcdef0123456789abcdef"));
        Assert.Equal(bare, _tombstones.Key("7:0123456789abcdef0123456789abcdef"));
        Assert.Equal(_tombstones.Key(1, "c:42"), _tombstones.Key("1:c:42"));
    }

    [Fact]
    public void For_BlocksUntilTheSettleWindowHasPassedAndExpiresAfterTheRetention()
    {
        var options = new PrivacyOptions { ErasureSettleWindow = TimeSpan.FromMinutes(10), ErasureTombstoneRetention = TimeSpan.FromDays(2) };
        var tombstones = new ErasureTombstones(Hasher, Options.Create(options));

        var written = tombstones.For(["a", "b", "a"], RequestedAt);

        Assert.Equal(["a", "b"], written.Select(t => t.Key));
        Assert.All(written, t => Assert.Equal(RequestedAt.AddMinutes(10), t.BlocksUntil));
        Assert.All(written, t => Assert.Equal(RequestedAt.AddMinutes(10).AddDays(2), t.ExpiresAt));
    }

    [Fact]
    public void For_WhenTheEndFallsInsideAMillisecond_RoundsItUpSoStoresKeepingMillisecondsStillBlockThatMillisecond()
    {
        var tombstones = new ErasureTombstones(Hasher, Options.Create(new PrivacyOptions { ErasureSettleWindow = TimeSpan.Zero }));

        var written = Assert.Single(tombstones.For(["a"], RequestedAt.AddTicks(1)));

        Assert.Equal(RequestedAt.AddMilliseconds(1), written.BlocksUntil);
    }

    [Fact]
    public void Blocks_AnEventStampedUpToTheEndOfTheWindow_AndNoLaterOneNorOneWithoutTombstonedIdentifiers()
    {
        var until = RequestedAt.AddHours(1);
        var found = new Dictionary<string, DateTimeOffset> { ["erased"] = until };

        Assert.True(ErasureTombstones.Blocks(found, ["other", "erased"], RequestedAt.AddDays(-3)));
        Assert.True(ErasureTombstones.Blocks(found, ["erased"], until));
        Assert.False(ErasureTombstones.Blocks(found, ["erased"], until.AddTicks(1)));
        Assert.False(ErasureTombstones.Blocks(found, ["other"], RequestedAt));
        Assert.False(ErasureTombstones.Blocks(new Dictionary<string, DateTimeOffset>(), ["erased"], RequestedAt));
    }

    [Fact]
    public void Earliest_GivesEachKeyOnceAtTheEarliestStampOfTheEventsCarryingIt()
    {
        var checks = ErasureCheck.Earliest(
        [
            (["a", "b"], RequestedAt.AddMinutes(5)),
            (["b"], RequestedAt.AddMinutes(1)),
            (["a", "c"], RequestedAt.AddMinutes(9)),
        ]);

        Assert.Equal(
            [new ErasureCheck("a", RequestedAt.AddMinutes(5)), new ErasureCheck("b", RequestedAt.AddMinutes(1)), new ErasureCheck("c", RequestedAt.AddMinutes(9))],
            checks.OrderBy(c => c.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Options_ByDefault_DropEventsForAnHourAndKeepTombstones30DaysAfter()
    {
        var options = new PrivacyOptions();

        Assert.Equal(TimeSpan.FromHours(1), options.ErasureSettleWindow);
        Assert.Equal(TimeSpan.FromDays(30), options.ErasureTombstoneRetention);
        Assert.True(new PrivacyOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(nameof(PrivacyOptions.ErasureSettleWindow), "8.00:00:00")]
    [InlineData(nameof(PrivacyOptions.ErasureSettleWindow), "-00:00:01")]
    [InlineData(nameof(PrivacyOptions.ErasureTombstoneRetention), "12:00:00")]
    [InlineData(nameof(PrivacyOptions.ErasureTombstoneRetention), "3651.00:00:00")]
    public void Options_WhenAnErasurePeriodIsOutOfRange_FailNamingTheSetting(string setting, string value)
    {
        var options = setting == nameof(PrivacyOptions.ErasureSettleWindow)
            ? new PrivacyOptions { ErasureSettleWindow = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) }
            : new PrivacyOptions { ErasureTombstoneRetention = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        OptionsAssert.FailsNaming(new PrivacyOptionsValidator(), options, setting);
    }
}
