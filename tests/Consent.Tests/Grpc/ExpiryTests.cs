using Google.Protobuf.WellKnownTypes;
using Journey.Consent.V1;
using Journey.Events.V1;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

/// <summary>Grants that run out, driven by the injected clock: checks deny them and ConsentChanged is published once.</summary>
public sealed class ExpiryTests
{
    private static readonly IReadOnlyDictionary<string, string?> FastSweep = new Dictionary<string, string?>
    {
        ["Journey:Consent:Expiry:SweepInterval"] = "00:00:00.020",
    };

    private static Task<ConsentHost> StartAsync(HostClock clock, ConsentChangedCapture capture, string? dataDirectory = null) =>
        ConsentHost.StartAsync(clock, FastSweep, capture.Subscribe, dataDirectory);

    [Fact]
    public async Task Sweep_WhenAGrantOutlivesItsValidity_PublishesOneExpiredConsentChanged()
    {
        var clock = new HostClock();
        var capture = new ConsentChangedCapture();
        await using var host = await StartAsync(clock, capture);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("newsletter", validity: Duration.FromTimeSpan(TimeSpan.FromDays(30)));
        var grant = await host.RecordAsync(Email("ada@example.com"), "newsletter", ConsentDecision.Granted, version);
        await host.RecordAsync(Email("bob@example.com"), "newsletter", ConsentDecision.Granted, version);
        await host.RecordAsync(Email("bob@example.com"), "newsletter", ConsentDecision.Withdrawn, version);
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(capture.Events.Count == 3)), "the recorded decisions were not published");
        Assert.All(capture.Events, e => Assert.Equal(ConsentChangeCause.Recorded, e.Cause));

        // A day before the end of the validity a sweep, run here rather than waited for, finds nothing due.
        clock.Advance(TimeSpan.FromDays(29));
        Assert.Equal(0, await host.Platform.Services.GetRequiredService<Journey.Consent.Domain.ExpiryUseCases>().PublishDueExpiriesAsync(100, CancellationToken.None));
        await host.Platform.DrainAsync();
        Assert.Empty(capture.Expired);

        clock.Advance(TimeSpan.FromDays(2));
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(!capture.Expired.IsEmpty)), "no expiry was published");
        await host.Platform.DrainAsync();

        var expired = Assert.Single(capture.Expired);
        Assert.False(expired.Granted);
        Assert.Equal(grant.Name, expired.Record);
        Assert.Equal("purposes/newsletter", expired.Purpose);
        Assert.Equal(grant.CaptureTime.ToDateTimeOffset() + TimeSpan.FromDays(30), expired.EffectiveTime.ToDateTimeOffset());
        Assert.Contains(expired.Identifiers, i => i.Kind == Common.V1.IdentifierKind.Email);
        Assert.Equal(DecisionReason.Expired, (await host.CheckAsync(Email("ada@example.com"), "newsletter")).Reason);
    }

    [Fact]
    public async Task Sweep_AfterARestart_DoesNotPublishAnExpiryAgain()
    {
        var directory = Directory.CreateTempSubdirectory("journey-consent-expiry-").FullName;
        try
        {
            var clock = new HostClock();
            var first = new ConsentChangedCapture();
            await using (var host = await StartAsync(clock, first, directory))
            {
                var version = await host.PolicyAsync();
                await host.PurposeAsync("newsletter", validity: Duration.FromTimeSpan(TimeSpan.FromDays(30)));
                await host.RecordAsync(Email("ada@example.com"), "newsletter", ConsentDecision.Granted, version);
                clock.Advance(TimeSpan.FromDays(31));
                Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(first.Expired.Count == 1)), "no expiry was published");
            }

            var second = new ConsentChangedCapture();
            await using (var host = await StartAsync(clock, second, directory))
            {
                var grant = await host.RecordAsync(Email("bob@example.com"), "newsletter", ConsentDecision.Granted, 1);
                clock.Advance(TimeSpan.FromDays(31));

                // Bob's expiry proves the sweep ran after the restart; Ada's must not come again.
                Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(!second.Expired.IsEmpty)), "the restarted sweep published nothing");
                await host.Platform.DrainAsync();
                Assert.Equal([grant.Name], second.Expired.Select(e => e.Record));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Check_WhenGrantOutlivesValidity_DeniesAsExpired()
    {
        var clock = new HostClock();
        await using var host = await ConsentHost.StartAsync(clock);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("newsletter", validity: Duration.FromTimeSpan(TimeSpan.FromDays(365)));
        await host.RecordAsync(Email("ada@example.com"), "newsletter", ConsentDecision.Granted, version);
        Assert.True((await host.CheckAsync(Email("ada@example.com"), "newsletter")).Allowed);

        clock.Advance(TimeSpan.FromDays(366));
        var answer = await host.CheckAsync(Email("ada@example.com"), "newsletter");

        Assert.False(answer.Allowed);
        Assert.Equal(DecisionReason.Expired, answer.Reason);
        Assert.True(answer.ExpireTime.ToDateTimeOffset() < clock.GetUtcNow());
    }
}
