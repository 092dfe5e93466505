using Journey.Shared.Privacy;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Privacy;

public sealed class IdentifierPolicyTests
{
    [Theory]
    [InlineData("null")]
    [InlineData("NULL")]
    [InlineData(" undefined ")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("anonymous")]
    [InlineData("[object Object]")]
    [InlineData("---")]
    [InlineData("\"\"")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("000")]
    [InlineData("ffffffff-ffff-ffff-ffff-ffffffffffff")]
    [InlineData("+1 111 111 1111")]
    public void Refusal_WhenValueNamesNoOne_SaysWhy(string value)
    {
        var refusal = IdentifierPolicy.Default.Refusal(value);

        Assert.NotNull(refusal);
        Assert.Contains("names no one", refusal);
    }

    [Theory]
    [InlineData("111")]
    [InlineData("7")]
    [InlineData("cust-0042")]
    [InlineData("anna@example.com")]
    [InlineData("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")]
    [InlineData("+44 20 7946 0958")]
    [InlineData("nullable-user")]
    public void Refusal_WhenValueIsARealId_IsNull(string value) => Assert.Null(IdentifierPolicy.Default.Refusal(value));

    [Fact]
    public void Refusal_WhenConfiguredValueOrPatternMatches_NamesTheSetting()
    {
        var policy = new IdentifierPolicy(Options.Create(new IdentityOptions { BlockedValues = ["test@example.com"], BlockedPatterns = [@"^user_\d+$"] }));

        Assert.Contains("names no one", policy.Refusal("TEST@example.com"));
        Assert.Contains("Journey:Identity:BlockedPatterns", policy.Refusal("user_123"));
        Assert.Null(policy.Refusal("user_abc"));
    }

    [Fact]
    public void Validate_WhenPatternDoesNotCompileOrValueIsBlank_NamesTheEntry()
    {
        var result = new IdentityOptionsValidator().Validate(null, new IdentityOptions { BlockedValues = ["ok", " "], BlockedPatterns = ["(unclosed"] });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("BlockedValues[1]", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("BlockedPatterns[0]", StringComparison.Ordinal));
    }
}
