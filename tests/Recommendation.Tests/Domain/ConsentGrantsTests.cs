using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Tests.Domain;

public sealed class ConsentGrantsTests
{
    private const string Purpose = "purposes/marketing-email";

    private static IReadOnlyList<string> Decide(IReadOnlyList<string> grants, bool granted, params ChannelKind[] channels) =>
        ConsentGrants.Apply(grants, Purpose, granted, channels);

    [Fact]
    public void Allows_WhenGrantedForEveryChannel_AllowsEachChannel()
    {
        var grants = Decide([], true);

        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Email));
        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Web));
        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Unspecified));
    }

    [Fact]
    public void Allows_WhenGrantedForOneChannel_AllowsOnlyThatChannel()
    {
        var grants = Decide([], true, ChannelKind.Email);

        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Email));
        Assert.False(ConsentGrants.Allows(grants, Purpose, ChannelKind.Web));
        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Unspecified));
    }

    [Fact]
    public void Allows_WhenOneChannelWithdrawnFromAnEveryChannelGrant_RefusesOnlyThatChannel()
    {
        var grants = Decide(Decide([], true), false, ChannelKind.Email);

        Assert.False(ConsentGrants.Allows(grants, Purpose, ChannelKind.Email));
        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Web));
    }

    [Fact]
    public void Allows_WhenWithdrawnChannelIsGrantedAgain_AllowsItAgain()
    {
        var grants = Decide(Decide(Decide([], true), false, ChannelKind.Email), true, ChannelKind.Email);

        Assert.True(ConsentGrants.Allows(grants, Purpose, ChannelKind.Email));
        Assert.Equal([Purpose], grants);
    }

    [Fact]
    public void Allows_WhenWithdrawnForEveryChannel_RefusesEveryChannelAndKeepsNothing()
    {
        var grants = Decide(Decide(Decide([], true, ChannelKind.Email), true, ChannelKind.Web), false);

        Assert.False(ConsentGrants.Allows(grants, Purpose, ChannelKind.Email));
        Assert.False(ConsentGrants.Allows(grants, Purpose, ChannelKind.Unspecified));
        Assert.Empty(grants);
    }

    [Fact]
    public void Apply_LeavesOtherPurposesAlone()
    {
        var grants = Decide(["purposes/personalisation", "purposes/profiling@1"], false);

        Assert.True(ConsentGrants.Allows(grants, "purposes/personalisation", ChannelKind.Email));
        Assert.True(ConsentGrants.Allows(grants, "purposes/profiling", ChannelKind.Web));
        Assert.False(ConsentGrants.Allows(grants, "purposes/profiling", ChannelKind.Email));
    }

    [Fact]
    public void Allows_WhenPurposeIsAPrefixOfAnother_DoesNotConfuseThem()
    {
        var grants = Decide([], true);

        Assert.False(ConsentGrants.Allows(grants, "purposes/marketing", ChannelKind.Email));
    }
}
