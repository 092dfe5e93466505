using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Consent.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Consent.Tests.Grpc.ConsentHost;
using CommonV1 = Journey.Common.V1;

namespace Journey.Consent.Tests.Grpc;

/// <summary>Consent preferences that tracking messages carried (consent-observed), as the consent service records them.</summary>
public sealed class ObservedConsentTests
{
    private static readonly string Subscription = $"{ConsentModule.Name}.{ConsentTopics.ConsentObserved}";

    private static ConsentObserved Observed(ConsentHost host, string messageId, string email, DateTimeOffset at, params (string Purpose, bool Granted)[] preferences)
    {
        var observed = new ConsentObserved { Source = "sources/web", MessageId = messageId, ObserveTime = Timestamp.FromDateTimeOffset(at) };
        observed.Identifiers.Add(new CommonV1.Identifier { Kind = CommonV1.IdentifierKind.AnonymousId, Value = "a-" + email });
        observed.Identifiers.Add(new CommonV1.Identifier { Kind = CommonV1.IdentifierKind.Email, Value = host.Platform.Services.GetRequiredService<IdentifierHasher>().HashEmail(email) });
        observed.Preferences.Add(preferences.Select(p => new ObservedConsentPreference { Purpose = "purposes/" + p.Purpose, Granted = p.Granted }));
        return observed;
    }

    private static async Task DeliverAsync(ConsentHost host, OutboxMessage message)
    {
        var bus = host.Platform.Services.GetRequiredService<InProcessBus>();
        await bus.PublishAsync("touchpoint", [message], default);
        Assert.True(await TestPlatform.EventuallyAsync(async () => await bus.CountPendingAsync(Subscription, default) == 0), "the consent-observed event was not delivered");
    }

    private static Task DeliverAsync(ConsentHost host, ConsentObserved observed, DateTimeOffset? stamped = null) =>
        DeliverAsync(host, EventEnvelopes.Create(ConsentTopics.ConsentObserved, "touchpoint", observed, stamped ?? host.Time.GetUtcNow()));

    private static async Task<List<ConsentRecord>> HistoryAsync(ConsentHost host, string email)
    {
        var request = new ListConsentHistoryRequest { Person = Persons.Of(Email(email)) };
        return [.. (await host.Client.ListConsentHistoryAsync(request)).Records];
    }

    [Fact]
    public async Task Observed_GrantThenTheSameAgainOrRedelivered_AppendsOnce_AndAWithdrawalAppendsAgain()
    {
        await using var host = await StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-ads");
        await host.PurposeAsync("analytics");
        var now = host.Time.GetUtcNow();
        var first = EventEnvelopes.Create(ConsentTopics.ConsentObserved, "touchpoint", Observed(host, "m-1", "ada@example.com", now.AddSeconds(-30), ("marketing-ads", true), ("analytics", false)), now);

        await DeliverAsync(host, first);
        await DeliverAsync(host, first);
        await DeliverAsync(host, Observed(host, "m-2", "ada@example.com", now.AddSeconds(-20), ("marketing-ads", true), ("analytics", false)));
        var afterRepeats = await HistoryAsync(host, "ada@example.com");
        await DeliverAsync(host, Observed(host, "m-3", "ada@example.com", now.AddSeconds(-10), ("marketing-ads", false)));

        Assert.Equal(2, afterRepeats.Count);
        var grant = afterRepeats.Single(r => r.Purpose == "purposes/marketing-ads");
        Assert.Equal((ConsentDecision.Granted, RecordOrigin.Tracking, "sources/web/messages/m-1", version), (grant.Decision, grant.Origin, grant.SourceRecord, grant.PolicyVersion));
        Assert.Empty(grant.Channels);
        Assert.Equal(now.AddSeconds(-30).ToUnixTimeMilliseconds(), grant.CaptureTime.ToDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(ConsentDecision.Withdrawn, afterRepeats.Single(r => r.Purpose == "purposes/analytics").Decision);
        Assert.Equal(3, (await HistoryAsync(host, "ada@example.com")).Count);
        var check = await host.CheckAsync(Email("ada@example.com"), "marketing-ads");
        Assert.Equal(DecisionReason.Withdrawn, check.Reason);
        Assert.Empty(await host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(null, 10, 0, default));
    }

    [Fact]
    public async Task Observed_OlderThanTheNewestDecision_DoesNotOverturnIt()
    {
        await using var host = await StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-ads", channels: [CommonV1.Channel.Web]);
        await host.RecordAsync(Email("ada@example.com"), "marketing-ads", ConsentDecision.Withdrawn, version, host.Now(TimeSpan.FromMinutes(-1)));

        await DeliverAsync(host, Observed(host, "m-1", "ada@example.com", host.Time.GetUtcNow().AddMinutes(-2), ("marketing-ads", true)));

        Assert.Single(await HistoryAsync(host, "ada@example.com"));
        Assert.False((await host.CheckAsync(Email("ada@example.com"), "marketing-ads")).Allowed);
    }

    [Fact]
    public async Task Observed_NamingAPurposeTheCatalogLacks_IsDeadLetteredOnce_RecordingNothing()
    {
        await using var host = await StartAsync();
        await host.PolicyAsync();
        await host.PurposeAsync("analytics");

        await DeliverAsync(host, Observed(host, "m-1", "ada@example.com", host.Time.GetUtcNow(), ("analytics", true), ("marketing-ads", true)));

        var dead = Assert.Single(await host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(Subscription, 10, 0, default));
        Assert.Contains("preferences[1].purpose", dead.Reason, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<RpcException>(() => HistoryAsync(host, "ada@example.com"));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Observed_StampedBeforeAnErasureOfThePersonArrivesAfterIt_CreatesNobodyAgain()
    {
        await using var host = await StartAsync();
        await host.PolicyAsync();
        await host.PurposeAsync("marketing-ads");
        var stamped = host.Time.GetUtcNow().AddMinutes(-1);
        var request = new RequestErasureRequest { Person = Persons.Of(Email("ada@example.com")) };
        await host.Client.RequestErasureAsync(request);

        await DeliverAsync(host, Observed(host, "m-1", "ada@example.com", stamped, ("marketing-ads", true)), stamped);

        Assert.Equal(DecisionReason.NoAnswerDefault, (await host.CheckAsync(Email("ada@example.com"), "marketing-ads")).Reason);
        Assert.Empty(await host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(null, 10, 0, default));
    }
}
