using Journey.Consent.Domain;

namespace Journey.Consent.Tests.Domain;

public sealed class DecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Purpose Personalisation = new("personalisation", "d", LegalBasis.Consent, [1, 2], false, TimeSpan.FromDays(30), "3.1");

    [Theory]
    [InlineData(true, "3.1", 10, 1, true, DecisionReason.Granted)]
    [InlineData(true, "3", 10, 1, false, DecisionReason.PolicyOutdated)]
    [InlineData(true, "10", 10, 1, true, DecisionReason.Granted)]
    [InlineData(true, "3.1", 30, 1, false, DecisionReason.Expired)]
    [InlineData(false, "3.1", 1, 1, false, DecisionReason.Withdrawn)]
    public void Decide_AppliesWithdrawalExpiryAndPolicyVersion(bool granted, string version, int daysAgo, int channel, bool allowed, DecisionReason reason)
    {
        var record = new ConsentRecord("s", 1, "personalisation", granted, [], version, Now.AddDays(-daysAgo), "", new Proof("", "", ""), Now, "", "h");

        var decision = ConsentDecisions.Decide(Personalisation, record, channel, Now);

        Assert.Equal((allowed, reason), (decision.Allowed, decision.Reason));
    }

    [Fact]
    public void HashOf_ChangesWhenAnyFieldChanges()
    {
        var record = new ConsentRecord("s", 1, "p", true, [1], "3", Now, "", new Proof("f", "i", "u"), Now, "", "");

        var hashes = new[]
        {
            ConsentDecisions.HashOf(record),
            ConsentDecisions.HashOf(record with { Granted = false }),
            ConsentDecisions.HashOf(record with { PolicyVersion = "4" }),
            ConsentDecisions.HashOf(record with { PreviousHash = "x" }),
            ConsentDecisions.HashOf(record with { Proof = new Proof("f", "i", "other") }),
        };

        Assert.Equal(hashes.Length, hashes.Distinct().Count());
    }
}
