using Journey.Shared.Hosting;

namespace Journey.Shared.Tests.Hosting;

public sealed class ChannelPurposeMapTests
{
    private enum Channel
    {
        Unspecified = 0,
        Web = 1,
        Email = 2,
    }

    [Fact]
    public void Governing_SplitsTrimsAndSkipsEmptyNames()
    {
        var map = new Dictionary<Channel, string> { [Channel.Email] = " purposes/a, ,purposes/b ", [Channel.Web] = "" };

        Assert.Equal(["purposes/a", "purposes/b"], ChannelPurposeMap.Governing(map, Channel.Email));
        Assert.Empty(ChannelPurposeMap.Governing(map, Channel.Web));
        Assert.Empty(ChannelPurposeMap.Governing(new Dictionary<Channel, string>(), Channel.Web));
    }

    [Fact]
    public void Validate_WhenAKeyIsNoChannel_FailsNamingTheMemberAndKey()
    {
        var map = new Dictionary<Channel, string> { [Channel.Unspecified] = "purposes/a", [(Channel)9] = "purposes/a" };

        var failures = ChannelPurposeMap.Validate(map, "ChannelPurposes").Select(r => r.ErrorMessage).ToList();

        Assert.Equal(["ChannelPurposes: 'Unspecified' is not a channel (Web, Email, ...).", "ChannelPurposes: '9' is not a channel (Web, Email, ...)."], failures);
    }

    [Fact]
    public void Validate_WhenANameIsNoPurpose_FailsNamingTheChannelAndValue()
    {
        var map = new Dictionary<Channel, string> { [Channel.Email] = "purposes/marketing-email, Marketing, purposes/9x" };

        var failures = ChannelPurposeMap.Validate(map, "ChannelPurposes").Select(r => r.ErrorMessage).ToList();

        Assert.Equal(
            [
                "ChannelPurposes:Email: 'Marketing' must be purposes/{purpose} (lower-case letters, digits and '-', starting with a letter).",
                "ChannelPurposes:Email: 'purposes/9x' must be purposes/{purpose} (lower-case letters, digits and '-', starting with a letter).",
            ],
            failures);
    }
}
