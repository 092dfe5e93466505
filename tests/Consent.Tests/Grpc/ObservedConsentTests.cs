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
public sealed class ObservedConsentTests() : HostedTests<ConsentHost>(() => StartAsync())
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
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-ads");
        await Host.PurposeAsync("analytics");
        var now = Host.Time.GetUtcNow();
        var first = EventEnvelopes.Create(ConsentTopics.ConsentObserved, "touchpoint", Observed(Host, "m-1", "ada@example.com", now.AddSeconds(-30), ("marketing-ads", true), ("analytics", false)), now);

        await DeliverAsync(Host, first);
        await DeliverAsync(Host, first);
        await DeliverAsync(Host, Observed(Host, "m-2", "ada@example.com", now.AddSeconds(-20), ("marketing-ads", true), ("analytics", false)));
        var afterRepeats = await HistoryAsync(Host, "ada@example.com");
        await DeliverAsync(Host, Observed(Host, "m-3", "ada@example.com", now.AddSeconds(-10), ("marketing-ads", false)));

        Assert.Equal(2, afterRepeats.Count);
        var grant = afterRepeats.Single(r => r.Purpose == "purposes/marketing-ads");
        Assert.Equal((ConsentDecision.Granted, RecordOrigin.Tracking, "sources/web/messages/m-1", version), (grant.Decision, grant.Origin, grant.SourceRecord, grant.PolicyVersion));
        Assert.Empty(grant.Channels);
        Assert.Equal(now.AddSeconds(-30).ToUnixTimeMilliseconds(), grant.CaptureTime.ToDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(ConsentDecision.Withdrawn, afterRepeats.Single(r => r.Purpose == "purposes/analytics").Decision);
        Assert.Equal(3, (await HistoryAsync(Host, "ada@example.com")).Count);
        var check = await Host.CheckAsync(Email("ada@example.com"), "marketing-ads");
        Assert.Equal(DecisionReason.Withdrawn, check.Reason);
        Assert.Empty(await Host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(null, 10, 0, default));
    }

    [Fact]
    public async Task Observed_OlderThanTheNewestDecision_DoesNotOverturnIt()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-ads", channels: [CommonV1.Channel.Web]);
        await Host.RecordAsync(Email("ada@example.com"), "marketing-ads", ConsentDecision.Withdrawn, version, Host.Now(TimeSpan.FromMinutes(-1)));

        await DeliverAsync(Host, Observed(Host, "m-1", "ada@example.com", Host.Time.GetUtcNow().AddMinutes(-2), ("marketing-ads", true)));

        Assert.Single(await HistoryAsync(Host, "ada@example.com"));
        Assert.False((await Host.CheckAsync(Email("ada@example.com"), "marketing-ads")).Allowed);
    }

    [Fact]
    public async Task Observed_NamingAPurposeTheCatalogLacks_IsDeadLetteredOnce_RecordingNothing()
    {
        await Host.PolicyAsync();
        await Host.PurposeAsync("analytics");

        await DeliverAsync(Host, Observed(Host, "m-1", "ada@example.com", Host.Time.GetUtcNow(), ("analytics", true), ("marketing-ads", true)));

        var dead = Assert.Single(await Host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(Subscription, 10, 0, default));
        Assert.Contains("preferences[1].purpose", dead.Reason, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<RpcException>(() => HistoryAsync(Host, "ada@example.com"));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Observed_StampedBeforeAnErasureOfThePersonArrivesAfterIt_CreatesNobodyAgain()
    {
        await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-ads");
        var stamped = Host.Time.GetUtcNow().AddMinutes(-1);
        var request = new RequestErasureRequest { Person = Persons.Of(Email("ada@example.com")) };
        await Host.Client.RequestErasureAsync(request);

        await DeliverAsync(Host, Observed(Host, "m-1", "ada@example.com", stamped, ("marketing-ads", true)), stamped);

        Assert.Equal(DecisionReason.NoAnswerDefault, (await Host.CheckAsync(Email("ada@example.com"), "marketing-ads")).Reason);
        Assert.Empty(await Host.Platform.Services.GetRequiredService<InProcessBus>().ListDeadLettersAsync(null, 10, 0, default));
    }
}
