namespace Journey.Distributed.Tests;

public sealed class DistributedSettingsTests
{
    private const string Complete =
        "touchpoint=http://127.0.0.1:5001;touchpoint2=http://127.0.0.1:5002;profile=http://127.0.0.1:5003;" +
        "consent=http://127.0.0.1:5004;recommendation=http://127.0.0.1:5005;token=a.b.c;valkey=127.0.0.1:6380;" +
        "valkeyPassword=secret;touchpointMongo=mongodb://root:pw@127.0.0.1:27018/?directConnection=true&authSource=admin;" +
        "pubsub=/tmp/x/pubsub.yaml;control=/tmp/x/control";

    [Fact]
    public void Parse_WhenEveryKeyIsGiven_ReadsValuesHoldingEqualsSigns()
    {
        var settings = DistributedSettings.Parse(Complete)!;

        Assert.Equal("http://127.0.0.1:5002", settings.Touchpoint2);
        Assert.Equal("mongodb://root:pw@127.0.0.1:27018/?directConnection=true&authSource=admin", settings.TouchpointMongo);
        Assert.Equal("127.0.0.1:6380", settings.Valkey);
        Assert.Equal("/tmp/x/control", settings.ControlDirectory);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("  ")]
    public void Parse_WhenUnset_IsNull(string? text) => Assert.Null(DistributedSettings.Parse(text));

    [Fact]
    public void Parse_WhenAKeyIsMissing_FailsNamingIt()
    {
        var error = Assert.Throws<FormatException>(() => DistributedSettings.Parse(Complete.Replace(";control=/tmp/x/control", "")));

        Assert.Contains("missing control", error.Message);
    }

    [Theory]
    [InlineData("nonsense", "'nonsense' is not key=value")]
    [InlineData("colour=blue", "unknown key 'colour'")]
    [InlineData("token=x", "'token' is given twice")]
    public void Parse_WhenAnEntryIsWrong_FailsNamingIt(string entry, string expected)
    {
        var error = Assert.Throws<FormatException>(() => DistributedSettings.Parse(Complete + ";" + entry));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void DistributedFact_WhenConstructed_SkipsWithTheReasonExactlyWhenTheVariableIsUnset()
    {
        // The test run itself may be inside the distributed environment; the attribute reads the process environment.
        var attribute = new DistributedFactAttribute();

        Assert.Equal(DistributedSettings.Configured ? null : DistributedFactAttribute.SkipReason, attribute.Skip);
        Assert.Contains(DistributedSettings.Variable, DistributedFactAttribute.SkipReason);
    }
}
