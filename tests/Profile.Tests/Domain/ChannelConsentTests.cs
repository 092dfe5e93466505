using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class ChannelConsentTests
{
    private const string MarketingEmail = "purposes/marketing-email";
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ProfileOptions Options = new();

    [Fact]
    public void RecordConsent_WhenALaterDecisionArrives_ReplacesTheHeldOne()
    {
        var profile = new CustomerProfile("p", Now);
        JourneyRules.RecordConsent(profile, MarketingEmail, Grant(Now));

        JourneyRules.RecordConsent(profile, MarketingEmail, Withdrawal(Now.AddMinutes(1)));

        var held = Assert.Single(profile.Consents[MarketingEmail].Decisions);
        Assert.False(held.Granted);
        Assert.Equal(Now.AddMinutes(1), held.DecidedAt);
    }

    [Fact]
    public void RecordConsent_WhenAnOlderDecisionArrivesLate_KeepsTheNewerOne()
    {
        var profile = new CustomerProfile("p", Now);
        JourneyRules.RecordConsent(profile, MarketingEmail, Withdrawal(Now.AddMinutes(2)));

        JourneyRules.RecordConsent(profile, MarketingEmail, Grant(Now.AddMinutes(1)));
        JourneyRules.RecordConsent(profile, MarketingEmail, Grant(Now.AddMinutes(1), ChannelKind.Email));

        var held = Assert.Single(profile.Consents[MarketingEmail].Decisions);
        Assert.False(held.Granted);
        Assert.Equal(Now.AddMinutes(2), held.DecidedAt);
        Assert.False(JourneyRules.MayActivate(profile, [MarketingEmail], ChannelKind.Email));
    }

    [Fact]
    public void RecordConsent_WhenTwoDecisionsTakeEffectAtOnce_TheWithdrawalHolds()
    {
        var grantLast = new CustomerProfile("a", Now);
        JourneyRules.RecordConsent(grantLast, MarketingEmail, Withdrawal(Now));
        JourneyRules.RecordConsent(grantLast, MarketingEmail, Grant(Now));
        var withdrawalLast = new CustomerProfile("b", Now);
        JourneyRules.RecordConsent(withdrawalLast, MarketingEmail, Grant(Now));
        JourneyRules.RecordConsent(withdrawalLast, MarketingEmail, Withdrawal(Now));

        Assert.False(JourneyRules.MayActivate(grantLast, [MarketingEmail], ChannelKind.Email));
        Assert.False(JourneyRules.MayActivate(withdrawalLast, [MarketingEmail], ChannelKind.Email));
    }

    [Fact]
    public void RecordConsent_WhenALaterDecisionNamesOtherChannels_LeavesTheEarlierChannelsDecisionStanding()
    {
        var profile = new CustomerProfile("p", Now);
        JourneyRules.RecordConsent(profile, MarketingEmail, Grant(Now, ChannelKind.Email));
        JourneyRules.RecordConsent(profile, MarketingEmail, Grant(Now.AddMinutes(1), ChannelKind.MobileApp));
        JourneyRules.RecordConsent(profile, MarketingEmail, Withdrawal(Now.AddMinutes(2), ChannelKind.Web));

        Assert.True(JourneyRules.MayActivate(profile, [MarketingEmail], ChannelKind.Email));
        Assert.True(JourneyRules.MayActivate(profile, [MarketingEmail], ChannelKind.MobileApp));
        Assert.False(JourneyRules.MayActivate(profile, [MarketingEmail], ChannelKind.Web));

        JourneyRules.RecordConsent(profile, MarketingEmail, Withdrawal(Now.AddMinutes(3)));

        Assert.False(JourneyRules.MayActivate(profile, [MarketingEmail], ChannelKind.Email));
        Assert.Single(profile.Consents[MarketingEmail].Decisions);
    }

    [Fact]
    public void Combine_WhenEitherIdentityWithdrew_TheWithdrawalHoldsOverALaterGrant()
    {
        var survivor = new CustomerProfile("s", Now);
        JourneyRules.RecordConsent(survivor, MarketingEmail, Grant(Now.AddDays(1)));
        var merged = new CustomerProfile("m", Now);
        JourneyRules.RecordConsent(merged, MarketingEmail, Withdrawal(Now));
        var survivorWithdrew = new CustomerProfile("s2", Now);
        JourneyRules.RecordConsent(survivorWithdrew, MarketingEmail, Withdrawal(Now));
        var mergedGranted = new CustomerProfile("m2", Now);
        JourneyRules.RecordConsent(mergedGranted, MarketingEmail, Grant(Now.AddDays(1)));

        JourneyRules.Combine(survivor, merged, Options);
        JourneyRules.Combine(survivorWithdrew, mergedGranted, Options);

        Assert.False(JourneyRules.MayActivate(survivor, [MarketingEmail], ChannelKind.Email));
        Assert.False(JourneyRules.MayActivate(survivorWithdrew, [MarketingEmail], ChannelKind.Email));
        Assert.False(Assert.Single(survivor.Consents[MarketingEmail].Decisions).Granted);
    }

    [Fact]
    public void Combine_WhenBothGranted_KeepsTheLaterGrantAndEachChannelsOwnDecision()
    {
        var survivor = new CustomerProfile("s", Now);
        JourneyRules.RecordConsent(survivor, MarketingEmail, Grant(Now, ChannelKind.Email));
        var merged = new CustomerProfile("m", Now);
        JourneyRules.RecordConsent(merged, MarketingEmail, Grant(Now.AddHours(1)));
        JourneyRules.RecordConsent(merged, MarketingEmail, Withdrawal(Now.AddHours(2), ChannelKind.Web));
        JourneyRules.RecordConsent(merged, "purposes/marketing-sms", Grant(Now));

        JourneyRules.Combine(survivor, merged, Options);

        var email = survivor.Consents[MarketingEmail];
        Assert.Equal(Now.AddHours(1), email.Deciding(ChannelKind.Email)!.DecidedAt);
        Assert.True(email.Allows(ChannelKind.MobileApp));
        Assert.False(email.Allows(ChannelKind.Web));
        Assert.True(survivor.Consents["purposes/marketing-sms"].Allows(ChannelKind.Email));
    }

    [Fact]
    public void Combine_WhenAWithdrawalNamesOneChannel_OnlyThatChannelIsWithdrawn()
    {
        var survivor = new CustomerProfile("s", Now);
        JourneyRules.RecordConsent(survivor, MarketingEmail, Grant(Now.AddDays(1)));
        var merged = new CustomerProfile("m", Now);
        JourneyRules.RecordConsent(merged, MarketingEmail, Withdrawal(Now, ChannelKind.MobileApp));

        JourneyRules.Combine(survivor, merged, Options);

        Assert.True(JourneyRules.MayActivate(survivor, [MarketingEmail], ChannelKind.Email));
        Assert.False(JourneyRules.MayActivate(survivor, [MarketingEmail], ChannelKind.MobileApp));
    }

    [Fact]
    public void MayActivate_NeedsAGrantCoveringTheChannelForEveryGoverningPurpose()
    {
        var emailOnly = new CustomerProfile("e", Now);
        JourneyRules.RecordConsent(emailOnly, MarketingEmail, Grant(Now, ChannelKind.Email));
        var everywhere = new CustomerProfile("a", Now);
        JourneyRules.RecordConsent(everywhere, MarketingEmail, Grant(Now));
        var undecided = new CustomerProfile("u", Now);

        Assert.True(JourneyRules.MayActivate(emailOnly, [MarketingEmail], ChannelKind.Email));
        Assert.False(JourneyRules.MayActivate(emailOnly, [MarketingEmail], ChannelKind.MobileApp));
        Assert.True(JourneyRules.MayActivate(everywhere, [MarketingEmail], ChannelKind.MobileApp));
        Assert.False(JourneyRules.MayActivate(everywhere, [MarketingEmail, "purposes/marketing-push"], ChannelKind.MobileApp));
        Assert.False(JourneyRules.MayActivate(undecided, [MarketingEmail], ChannelKind.Email));
        Assert.True(JourneyRules.MayActivate(undecided, [], ChannelKind.Web));
    }

    [Fact]
    public void ChannelPurposes_DefaultsToMarketingEmailGoverningEmailOnly()
    {
        Assert.Equal([MarketingEmail], Options.PurposesGoverning(ChannelKind.Email));
        Assert.Empty(Options.PurposesGoverning(ChannelKind.Web));
        Assert.True(Options.GovernsAChannel(MarketingEmail));
        Assert.False(Options.GovernsAChannel("purposes/analytics"));
    }

    [Fact]
    public void ChannelPurposes_WhenAValueIsNotAPurposeName_FailsNamingTheChannelAndValue()
    {
        var options = new ProfileOptions();
        options.ChannelPurposes[ChannelKind.MobileApp] = "purposes/marketing-push, Marketing Push";

        var result = new ProfileOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("ChannelPurposes:MobileApp: 'Marketing Push'", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ChannelPurposes_WhenEmpty_LiftsTheGate()
    {
        var options = new ProfileOptions();
        options.ChannelPurposes[ChannelKind.Email] = "";

        Assert.False(new ProfileOptionsValidator().Validate(null, options).Failed);
        Assert.Empty(options.PurposesGoverning(ChannelKind.Email));
        Assert.False(options.GovernsAChannel(MarketingEmail));
    }

    private static ChannelConsent Grant(DateTimeOffset at, params ChannelKind[] channels) => new(true, channels, at);

    private static ChannelConsent Withdrawal(DateTimeOffset at, params ChannelKind[] channels) => new(false, channels, at);
}
