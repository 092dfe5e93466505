using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Testing;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

public sealed class JourneyTests() : HostedTests<ProfileHost>(() => StartAsync())
{
    [Fact]
    public async Task Interactions_ThroughAWholeJourney_MoveStageForwardAndKeepHistory()
    {
        var who = Cookie("journey-1");
        var t = Host.Clock.GetUtcNow();

        var profile = await Host.RecordAsync(who,
            Interaction(who, InteractionType.View, t, [JourneyStage.Awareness]),
            Interaction(who, InteractionType.ContentConsumed, t.AddDays(1), [JourneyStage.Consideration], content: "contents/guide"),
            Interaction(who, InteractionType.TestDriveBooked, t.AddDays(2), [JourneyStage.Evaluation]),
            Interaction(who, InteractionType.View, t.AddDays(2.5), [JourneyStage.Awareness]));
        Assert.Equal(JourneyStage.Evaluation, profile.Stage);

        profile = await Host.RecordAsync(who, Interaction(who, InteractionType.Purchase, t.AddDays(3), [JourneyStage.Purchase], channel: Channel.DealerStore));
        Assert.Equal(JourneyStage.Ownership, profile.Stage);
        Assert.Equal(1, profile.Purchases);

        profile = await Host.RecordAsync(who, Interaction(who, InteractionType.Purchase, t.AddDays(400), [JourneyStage.Purchase]));

        Assert.Equal(JourneyStage.Loyalty, profile.Stage);
        Assert.Equal(
            [JourneyStage.Awareness, JourneyStage.Consideration, JourneyStage.Evaluation, JourneyStage.Purchase, JourneyStage.Ownership, JourneyStage.Loyalty],
            profile.StageHistory.Select(s => s.Stage));
        Assert.Equal(t.AddDays(2), profile.StageHistory[2].EnterTime.ToDateTimeOffset());
        Assert.Equal(t.AddDays(400), profile.StageHistory[5].EnterTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task Referral_AfterOwnership_MovesToLoyalty()
    {
        var who = Cookie("journey-2");
        var t = Host.Clock.GetUtcNow();

        var profile = await Host.RecordAsync(who,
            Interaction(who, InteractionType.Purchase, t),
            Interaction(who, InteractionType.Referral, t.AddDays(30)));

        Assert.Equal(JourneyStage.Loyalty, profile.Stage);
    }

    [Fact]
    public async Task Interests_WhenAHalfLifePasses_Decay()
    {
        var who = Cookie("interest-1");
        var t = Host.Clock.GetUtcNow();
        var profile = await Host.RecordAsync(who,
            Interaction(who, InteractionType.ContentConsumed, t, topics: ["electric"]),
            Interaction(who, InteractionType.ContentConsumed, t, topics: ["electric", "suv"]));
        var fresh = profile.Interests.ToDictionary(i => i.Topic, i => i.Affinity);

        Host.Clock.Advance(TimeSpan.FromDays(30));
        var later = (await Host.GetAsync(profile.Name)).Interests.ToDictionary(i => i.Topic, i => i.Affinity);

        Assert.Equal(["electric", "suv"], profile.Interests.Select(i => i.Topic));
        Assert.Equal(1 - Math.Exp(-2), fresh["electric"], 6);
        // One half-life halves the underlying score.
        Assert.Equal(1 - Math.Exp(-1), later["electric"], 6);
        Assert.Equal(1 - Math.Exp(-0.5), later["suv"], 6);
    }

    [Fact]
    public async Task Readiness_TestDriveOutranksPageViews_AndFadesWithTime()
    {
        var browser = Cookie("ready-browser");
        var driver = Cookie("ready-driver");
        var idle = Cookie("ready-idle");
        var t = Host.Clock.GetUtcNow();

        var viewer = await Host.RecordAsync(browser, Interaction(browser, InteractionType.View, t), Interaction(browser, InteractionType.View, t), Interaction(browser, InteractionType.View, t));
        var booked = await Host.RecordAsync(driver, Interaction(driver, InteractionType.View, t), Interaction(driver, InteractionType.TestDriveBooked, t));
        var once = await Host.RecordAsync(idle, Interaction(idle, InteractionType.View, t));

        Assert.True(booked.Readiness > viewer.Readiness, $"{booked.Readiness} > {viewer.Readiness}");
        Assert.True(viewer.Readiness > once.Readiness, $"{viewer.Readiness} > {once.Readiness}");
        Assert.InRange(booked.Readiness, 50, 100);
        Host.Clock.Advance(TimeSpan.FromDays(21));
        Assert.True((await Host.GetAsync(booked.Name)).Readiness < booked.Readiness / 4);
    }

    [Fact]
    public async Task Flags_FollowTicketsAndCarts()
    {
        var who = Cookie("flags-1");
        var t = Host.Clock.GetUtcNow();

        var profile = await Host.RecordAsync(who,
            Interaction(who, InteractionType.ServiceTicketOpened, t),
            Interaction(who, InteractionType.ServiceTicketOpened, t.AddMinutes(1)),
            Interaction(who, InteractionType.ServiceTicketResolved, t.AddMinutes(2)),
            Interaction(who, InteractionType.CartAdd, t.AddMinutes(3)));
        Assert.Equal(1, profile.OpenServiceTickets);
        Assert.True(profile.AbandonedCart);

        profile = await Host.RecordAsync(who,
            Interaction(who, InteractionType.ServiceTicketResolved, t.AddMinutes(4)),
            Interaction(who, InteractionType.ServiceTicketResolved, t.AddMinutes(5)),
            Interaction(who, InteractionType.Purchase, t.AddMinutes(6)));

        Assert.Equal(0, profile.OpenServiceTickets);
        Assert.False(profile.AbandonedCart);
    }

    [Fact]
    public async Task ProfilingConsent_WhenWithdrawn_ClearsAndStopsInference()
    {
        var who = Customer("consent-1");
        var t = Host.Clock.GetUtcNow();
        var profile = await Host.RecordAsync(who, Interaction(who, InteractionType.TestDriveBooked, t, topics: ["suv"]));
        Assert.NotEmpty(profile.Interests);

        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", Decision(who, granted: false));
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(async () => !(await Host.GetAsync(profile.Name)).ProfilingAllowed));
        var withdrawn = await Host.GetAsync(profile.Name);
        Assert.Empty(withdrawn.Interests);
        Assert.Equal(0, withdrawn.Readiness);

        var after = await Host.RecordAsync(who, Interaction(who, InteractionType.ContentConsumed, t.AddMinutes(5), topics: ["estate"], content: "contents/estate"));
        Assert.Empty(after.Interests);
        Assert.Equal(0, after.Readiness);
        Assert.Equal(["estate"], after.ConsumedContents);

        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", Decision(who, granted: true));
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(async () => (await Host.GetAsync(profile.Name)).ProfilingAllowed));
        var again = await Host.RecordAsync(who, Interaction(who, InteractionType.ContentConsumed, t.AddMinutes(10), topics: ["estate"]));
        Assert.Equal(["estate"], again.Interests.Select(i => i.Topic));
    }

    [Fact]
    public async Task ConsentForOtherPurposes_IsIgnored()
    {
        var who = Customer("consent-2");
        var profile = await Host.RecordAsync(who, Interaction(who, InteractionType.View, Host.Clock.GetUtcNow(), topics: ["suv"]));
        var other = Decision(who, granted: false);
        other.Purpose = "purposes/analytics";

        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", other);
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(async () => await Host.PendingAsync() == 0));

        var current = await Host.GetAsync(profile.Name);
        Assert.True(current.ProfilingAllowed);
        Assert.Equal(profile.Version, current.Version);
    }

    [Fact]
    public async Task Interactions_WhenRedelivered_AreAppliedOnce()
    {
        var who = Cookie("once-1");
        var interaction = Interaction(who, InteractionType.ServiceTicketOpened, Host.Clock.GetUtcNow());
        var envelope = EventEnvelopes.Create(ProfileTopics.InteractionRecorded, "touchpoint", interaction, Host.Clock.GetUtcNow());
        var transport = Host.Platform.Services.GetService(typeof(IEventTransport)) as IEventTransport;

        await transport!.PublishAsync("touchpoint", [envelope, envelope], CancellationToken.None);
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(async () => await Host.TryLookupAsync(who) is not null && await Host.PendingAsync() == 0));
        await transport.PublishAsync("touchpoint", [envelope], CancellationToken.None);
        Assert.True(await Journey.Testing.TestPlatform.EventuallyAsync(async () => await Host.PendingAsync() == 0));

        Assert.Equal(1, (await Host.TryLookupAsync(who))!.OpenServiceTickets);
    }

    private static ConsentChanged Decision(Journey.Common.V1.Identifier who, bool granted)
    {
        var decision = new ConsentChanged { Subject = "subjects/s1", Purpose = "purposes/profiling", Granted = granted, PolicyVersion = "1", Record = "subjects/s1/records/r1" };
        decision.Identifiers.Add(who);
        return decision;
    }
}
