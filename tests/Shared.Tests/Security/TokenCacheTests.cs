using System.Diagnostics.Metrics;
using System.Security.Claims;
using System.Security.Cryptography;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Security;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Journey.Shared.Tests.Security;

public sealed class TokenCacheTests : IDisposable
{
    private const string Issuer = "journey-development";
    private const string Audience = "journey";
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(30);
    private static readonly ECDsaSecurityKey KeyA = NewKey("key-a");
    private static readonly ECDsaSecurityKey KeyB = NewKey("key-b");

    private readonly FakeTimeProvider _clock = TestClocks.Create();
    private readonly Meter _meter = new("Journey.Auth.Tests");
    private readonly CacheCounters _counters;

    public TokenCacheTests() => _counters = new CacheCounters(instrument => instrument.Meter == _meter);

    public void Dispose()
    {
        _counters.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenTheSameTokenComesAgain_IsAHitWithTheSameIdentity()
    {
        var handler = Handler();
        var parameters = Parameters(handler, KeyA);
        var token = Token(KeyA, TimeSpan.FromMinutes(5), "app-a", "profiles.read");

        var first = await handler.ValidateTokenAsync(token, parameters);
        var second = await handler.ValidateTokenAsync(token, parameters);

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Equal((1L, 1L), (_counters.Hits, _counters.Misses));
        Assert.Equal("app-a", second.ClaimsIdentity.Name);
        Assert.Equal("profiles.read", second.ClaimsIdentity.FindFirst("scope")?.Value);
        Assert.Equal(Issuer, second.Issuer);
        Assert.NotSame(first.ClaimsIdentity, second.ClaimsIdentity);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenACachedTokenExpires_IsRefusedTheMomentItExpires()
    {
        var handler = Handler();
        var parameters = Parameters(handler, KeyA);
        var token = Token(KeyA, TimeSpan.FromMinutes(5));
        var expires = new JsonWebToken(token).ValidTo;
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        // Valid through exp + clock skew inclusive, as full validation has it; served from the cache until then.
        _clock.SetUtcNow(expires + Skew);
        var last = await handler.ValidateTokenAsync(token, parameters);
        _clock.Advance(TimeSpan.FromTicks(1));
        var expired = await handler.ValidateTokenAsync(token, parameters);

        Assert.True(last.IsValid);
        Assert.Equal(1L, _counters.Hits);
        Assert.False(expired.IsValid);
        Assert.IsType<SecurityTokenInvalidLifetimeException>(expired.Exception);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenTheSigningKeyIsRemoved_RefusesTokensItSigned()
    {
        var handler = Handler();
        var signedByB = Token(KeyB, TimeSpan.FromMinutes(5));
        var signedByA = Token(KeyA, TimeSpan.FromMinutes(5));
        Assert.True((await handler.ValidateTokenAsync(signedByB, Parameters(handler, KeyA, KeyB))).IsValid);
        Assert.True((await handler.ValidateTokenAsync(signedByB, Parameters(handler, KeyA, KeyB))).IsValid);
        Assert.Equal(1L, _counters.Hits);

        var afterRotation = await handler.ValidateTokenAsync(signedByB, Parameters(handler, KeyA));

        Assert.False(afterRotation.IsValid);
        Assert.Equal(1L, _counters.Hits);
        Assert.True((await handler.ValidateTokenAsync(signedByA, Parameters(handler, KeyA))).IsValid);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenTheIssuerConfigurationDropsAKey_RefusesTokensItSigned()
    {
        var handler = Handler();
        var issuer = new SwitchableConfigurationManager(Configuration(KeyA, KeyB)) { UseLastKnownGoodConfiguration = false };
        var parameters = Parameters(handler);
        parameters.ValidIssuer = null;
        parameters.ConfigurationManager = issuer;
        var signedByB = Token(KeyB, TimeSpan.FromMinutes(5));
        Assert.True((await handler.ValidateTokenAsync(signedByB, parameters.Clone())).IsValid);
        Assert.True((await handler.ValidateTokenAsync(signedByB, parameters.Clone())).IsValid);
        Assert.Equal(1L, _counters.Hits);

        issuer.Current = Configuration(KeyA);
        var afterRotation = await handler.ValidateTokenAsync(signedByB, parameters.Clone());

        Assert.False(afterRotation.IsValid);
        Assert.Equal(1L, _counters.Hits);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenOnlyTheLastKnownGoodConfigurationAccepts_NeverCachesIt()
    {
        var handler = Handler();
        var issuer = new SwitchableConfigurationManager(Configuration(KeyA, KeyB));
        var parameters = Parameters(handler);
        parameters.ValidIssuer = null;
        parameters.ConfigurationManager = issuer;
        var signedByB = Token(KeyB, TimeSpan.FromMinutes(5));
        Assert.True((await handler.ValidateTokenAsync(signedByB, parameters.Clone())).IsValid);

        issuer.Current = Configuration(KeyA);
        for (var i = 0; i < 3; i++)
        {
            _ = await handler.ValidateTokenAsync(signedByB, parameters.Clone());
        }

        Assert.Equal((0L, 4L), (_counters.Hits, _counters.Misses));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task ValidateTokenAsync_WhenOneCharacterIsChanged_IsRefusedWithoutAHit(int part)
    {
        var handler = Handler();
        var parameters = Parameters(handler, KeyA);
        var token = Token(KeyA, TimeSpan.FromMinutes(5));
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        var tampered = ChangeOneCharacter(token, part);
        var result = await handler.ValidateTokenAsync(tampered, parameters);

        Assert.False(result.IsValid);
        Assert.Equal((1L, 2L), (_counters.Hits, _counters.Misses));
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenAnotherTokenCarriesTheSameClaims_IsAMiss()
    {
        var handler = Handler();
        var parameters = Parameters(handler, KeyA);
        var token = Token(KeyA, TimeSpan.FromMinutes(5));
        var twin = Token(KeyA, TimeSpan.FromMinutes(5));
        Assert.NotEqual(token, twin);
        Assert.Equal(new JsonWebToken(token).EncodedPayload, new JsonWebToken(twin).EncodedPayload);
        Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);

        var result = await handler.ValidateTokenAsync(twin, parameters);

        Assert.True(result.IsValid);
        Assert.Equal((0L, 2L), (_counters.Hits, _counters.Misses));
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenTheAcceptedAudienceChanges_ValidatesAgain()
    {
        var handler = Handler();
        var token = Token(KeyA, TimeSpan.FromMinutes(5));
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(handler, KeyA))).IsValid);
        var elsewhere = Parameters(handler, KeyA);
        elsewhere.ValidAudience = "another-service";

        var result = await handler.ValidateTokenAsync(token, elsewhere);

        Assert.False(result.IsValid);
        Assert.IsType<SecurityTokenInvalidAudienceException>(result.Exception);
        Assert.Equal(0L, _counters.Hits);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenMoreTokensThanItsCapacity_StaysWithinIt()
    {
        var handler = Handler(capacity: 3);
        var parameters = Parameters(handler, KeyA);
        var tokens = Enumerable.Range(0, 10).Select(i => Token(KeyA, TimeSpan.FromMinutes(10 + i), $"app-{i}")).ToList();

        foreach (var token in tokens)
        {
            Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
            Assert.InRange(handler.Count, 1, 3);
        }

        // The tokens that expire last are the ones kept.
        Assert.True((await handler.ValidateTokenAsync(tokens[^1], parameters)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(tokens[0], parameters)).IsValid);
        Assert.Equal((1L, 11L), (_counters.Hits, _counters.Misses));
        Assert.Equal(3, handler.Count);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenFullOfExpiredTokens_DropsThemFirst()
    {
        var handler = Handler(capacity: 2);
        var parameters = Parameters(handler, KeyA);
        var shortLived = Token(KeyA, TimeSpan.FromMinutes(1), "short");
        var longLived = Token(KeyA, TimeSpan.FromHours(1), "long");
        var next = Token(KeyA, TimeSpan.FromMinutes(30), "next");
        await handler.ValidateTokenAsync(shortLived, parameters);
        await handler.ValidateTokenAsync(longLived, parameters);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await handler.ValidateTokenAsync(next, parameters);

        Assert.Equal(2, handler.Count);
        Assert.True((await handler.ValidateTokenAsync(longLived, parameters)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(next, parameters)).IsValid);
        Assert.Equal(2L, _counters.Hits);
    }

    [Fact]
    public async Task ValidateTokenAsync_WhenTheCapacityIsZero_ValidatesEveryCall()
    {
        var handler = Handler(capacity: 0);
        var parameters = Parameters(handler, KeyA);
        var token = Token(KeyA, TimeSpan.FromMinutes(5));

        for (var i = 0; i < 3; i++)
        {
            Assert.True((await handler.ValidateTokenAsync(token, parameters)).IsValid);
        }

        Assert.Equal((0L, 3L), (_counters.Hits, _counters.Misses));
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public void AuthOptions_TokenCacheCapacity_DefaultsToAThousandAndRefusesANegativeValueByName()
    {
        Assert.Equal(1_000, new AuthOptions().TokenCacheCapacity);
        OptionsAssert.FailsNaming(new AuthOptionsValidator(), new AuthOptions { TokenCacheCapacity = -1 }, "TokenCacheCapacity");
    }

    [Fact]
    public async Task Ping_WithTheSameTokenAgain_IsServedFromTheCacheUntilTheTokenExpires()
    {
        var tokenClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var platform = await TestPlatform.StartAsync([], configureServices: services =>
            services.AddKeyedSingleton<TimeProvider>(CachingTokenHandler.ClockKey, tokenClock));
        using var counters = new CacheCounters(instrument => instrument.Meter.Scope == platform.Services.GetRequiredService<IMeterFactory>());
        var token = platform.Services.GetRequiredService<DevelopmentIssuer>().CreateToken("app-a", [], TimeSpan.FromMinutes(1));
        using var channel = TestPlatform.ChannelWithToken(platform.Address, token);
        using var tampered = TestPlatform.ChannelWithToken(platform.Address, ChangeOneCharacter(token, 2));
        var client = new DiagnosticsService.DiagnosticsServiceClient(channel);

        for (var i = 0; i < 3; i++)
        {
            await client.PingAsync(new PingRequest());
        }

        var forged = await Assert.ThrowsAsync<RpcException>(async () => await new DiagnosticsService.DiagnosticsServiceClient(tampered).PingAsync(new PingRequest()));
        tokenClock.SetUtcNow(new JsonWebToken(token).ValidTo + TimeSpan.FromSeconds(30) + TimeSpan.FromTicks(1));
        var expired = await Assert.ThrowsAsync<RpcException>(async () => await client.PingAsync(new PingRequest()));

        Assert.Equal((2L, 3L), (counters.Hits, counters.Misses));
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, expired.StatusCode);
    }

    [Fact]
    public async Task Ping_WhenAuthenticationIsOff_ChecksNoTokenTheCallerSends()
    {
        await using var platform = await TestPlatform.StartAsync([], new Dictionary<string, string?> { ["Journey:Auth:Enabled"] = "false" });
        using var counters = new CacheCounters(instrument => instrument.Meter.Scope == platform.Services.GetRequiredService<IMeterFactory>());
        using var valid = TestPlatform.ChannelWithToken(platform.Address, platform.CreateToken());
        using var garbled = TestPlatform.ChannelWithToken(platform.Address, "not.a-token.at-all");

        foreach (var channel in new[] { valid, garbled, valid, garbled })
        {
            await new DiagnosticsService.DiagnosticsServiceClient(channel).PingAsync(new PingRequest());
        }

        Assert.Equal((0L, 0L), (counters.Hits, counters.Misses));
    }

    private static ECDsaSecurityKey NewKey(string id) => new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = id };

    private static TestConfiguration Configuration(params SecurityKey[] keys)
    {
        var configuration = new TestConfiguration { Issuer = Issuer };
        foreach (var key in keys)
        {
            configuration.SigningKeys.Add(key);
        }

        return configuration;
    }

    /// <summary>Replaces one base64url character in the middle of the payload (1) or signature (2) with another.</summary>
    private static string ChangeOneCharacter(string token, int part)
    {
        var parts = token.Split('.');
        var chars = parts[part].ToCharArray();
        var middle = chars.Length / 2;
        chars[middle] = chars[middle] == 'A' ? 'B' : 'A';
        parts[part] = new string(chars);
        return string.Join('.', parts);
    }

    private CachingTokenHandler Handler(int capacity = 100) => new(_clock, capacity, _meter);

    private static TokenValidationParameters Parameters(CachingTokenHandler handler, params SecurityKey[] keys) => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKeys = keys,
        ClockSkew = Skew,
        LifetimeValidator = handler.ValidateLifetime,
        NameClaimType = "sub",
    };

    private string Token(SecurityKey key, TimeSpan lifetime, string subject = "app", string scope = "")
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", scope)]),
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        });
    }

    /// <summary>Counts the cache's hits and misses on the meters a filter selects.</summary>
    private sealed class CacheCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _hits;
        private long _misses;

        public CacheCounters(Func<Instrument, bool> include)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (include(instrument) && instrument.Name.StartsWith("journey.auth.token_cache.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "journey.auth.token_cache.hits")
                {
                    Interlocked.Add(ref _hits, value);
                }
                else if (instrument.Name == "journey.auth.token_cache.misses")
                {
                    Interlocked.Add(ref _misses, value);
                }
            });
            _listener.Start();
        }

        public long Hits => Interlocked.Read(ref _hits);

        public long Misses => Interlocked.Read(ref _misses);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class TestConfiguration : BaseConfiguration;

    /// <summary>An issuer whose published configuration the test replaces, as a refresh after key rotation would.</summary>
    private sealed class SwitchableConfigurationManager(BaseConfiguration current) : BaseConfigurationManager
    {
        public BaseConfiguration Current { get; set; } = current;

        public override Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) => Task.FromResult(Current);

        public override void RequestRefresh()
        {
        }
    }
}
