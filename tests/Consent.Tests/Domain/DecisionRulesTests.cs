using Journey.Consent.Domain;

namespace Journey.Consent.Tests.Domain;

public sealed class DecisionRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static Purpose Purpose(LegalBasis basis = LegalBasis.Consent, DefaultDecision defaultDecision = DefaultDecision.Deny, TimeSpan? validity = null, int minimum = 0) =>
        new("marketing", "Offers", basis, ChannelMask.Of([1, 2]), defaultDecision, validity, minimum, 1, Now, Now);

    private static DecisionEntry Entry(long seq, bool granted, int channels = 0, int version = 2, DateTimeOffset? at = null) =>
        new(Guid.CreateVersion7(), seq, granted, new ChannelMask(channels), version, at ?? Now.AddDays(-1));

    [Theory]
    [InlineData(true, 2, 0, 400, true, DecisionReason.Granted)]
    [InlineData(false, 2, 0, 400, false, DecisionReason.Withdrawn)]
    [InlineData(true, 1, 2, 400, false, DecisionReason.PolicyOutdated)]
    [InlineData(true, 2, 0, 1, false, DecisionReason.Expired)]
    public void Evaluate_WithARecord_GivesTheReason(bool granted, int version, int minimum, int validityHours, bool allowed, DecisionReason reason)
    {
        var decisions = PurposeDecisions.None.With(Entry(1, granted, version: version));

        var decision = ConsentDecision.Evaluate(Purpose(validity: TimeSpan.FromHours(validityHours), minimum: minimum), decisions, 0, Now);

        Assert.Equal((allowed, reason), (decision.Allowed, decision.Reason));
        Assert.True(decision.HasRecord);
    }

    [Fact]
    public void Evaluate_WhenExpiryIsExactlyNow_IsExpired()
    {
        var decisions = PurposeDecisions.None.With(Entry(1, true, at: Now.AddHours(-1)));

        Assert.Equal(DecisionReason.Expired, ConsentDecision.Evaluate(Purpose(validity: TimeSpan.FromHours(1)), decisions, 0, Now).Reason);
    }

    [Fact]
    public void Evaluate_WhenObjectedUnderLegitimateInterest_Denies()
    {
        var decisions = PurposeDecisions.None.With(Entry(1, false));

        Assert.False(ConsentDecision.Evaluate(Purpose(LegalBasis.LegitimateInterest), decisions, 0, Now).Allowed);
        Assert.Equal(DecisionReason.LegalBasisNotConsent, ConsentDecision.Evaluate(Purpose(LegalBasis.LegalObligation), decisions, 0, Now).Reason);
    }

    [Fact]
    public void With_WhenAnOlderWriteArrivesLate_KeepsTheNewer()
    {
        var newer = Entry(5, false);

        var decisions = PurposeDecisions.None.With(newer).With(Entry(4, true));

        Assert.Equal([newer], decisions.Entries.ToArray());
    }

    [Fact]
    public void With_WhenNewRecordCoversSomeChannels_KeepsOlderRecordsForTheOthers()
    {
        var decisions = PurposeDecisions.None.With(Entry(1, true, 0b110)).With(Entry(2, false, 0b010));

        Assert.True(decisions.TryFind(2, out var email) && email.Granted);
        Assert.True(decisions.TryFind(1, out var web) && !web.Granted);
        Assert.False(decisions.With(Entry(3, false)).TryFind(2, out var all) && all.Granted);
    }
}

public sealed class ConsentChainTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static List<ConsentRecord> Chain(int length)
    {
        var subject = Guid.CreateVersion7();
        var records = new List<ConsentRecord>();
        var previous = "";
        for (var i = 1; i <= length; i++)
        {
            var draft = new RecordDraft(Guid.CreateVersion7(), "marketing", i % 2 == 1, default, 1, Now, Now, "", ConsentChain.Proof("f", "", "ua"), RecordOrigin.Direct, "");
            var record = ConsentChain.Seal(i, subject, i, draft, previous);
            records.Add(record);
            previous = record.Hash;
        }

        return records;
    }

    [Fact]
    public void Verify_WhenUntouched_IsIntact() => Assert.Equal(ChainBreak.None, ConsentChain.Verify(Chain(3)).Break);

    [Fact]
    public void Verify_WhenARecordIsRemoved_ReportsTheGap()
    {
        var chain = Chain(3);
        chain.RemoveAt(1);

        var result = ConsentChain.Verify(chain);

        Assert.Equal(ChainBreak.SequenceGap, result.Break);
        Assert.Equal(3, result.BrokenRecord!.Sequence);
    }

    [Fact]
    public void Verify_WhenProofIsChangedButNotRedacted_ReportsContentChanged()
    {
        var chain = Chain(2);
        chain[0] = chain[0] with { Draft = chain[0].Draft with { Proof = chain[0].Draft.Proof with { UserAgent = "forged" } } };

        Assert.Equal(ChainBreak.ContentChanged, ConsentChain.Verify(chain).Break);
    }

    [Fact]
    public void Verify_WhenProofIsRedacted_StillVerifies()
    {
        var chain = Chain(2);
        chain[0] = chain[0] with { Draft = chain[0].Draft with { Proof = chain[0].Draft.Proof with { FormId = "", UserAgent = "", Redacted = true } } };

        Assert.Equal(ChainBreak.None, ConsentChain.Verify(chain).Break);
    }

    [Fact]
    public void Verify_WhenAHashIsReplaced_ReportsTheNextLinkOrContent()
    {
        var chain = Chain(2);
        chain[1] = chain[1] with { PreviousHash = new string('0', 64) };

        Assert.Equal(ChainBreak.LinkBroken, ConsentChain.Verify(chain).Break);
    }
}

public sealed class DomainArchitectureTests
{
    [Fact]
    public void Domain_UsesNoBannedAssembly()
    {
        var banned = new[] { "Grpc.", "Google.Protobuf", "MongoDB.", "Dapr", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite" };
        var domainTypes = typeof(ConsentUseCases).Assembly.GetTypes().Where(t => t.Namespace == "Journey.Consent.Domain").ToList();
        var offenders = domainTypes
            .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Select(f => f.FieldType)
                .Concat(t.GetMethods().SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                .Select(used => (t, used)))
            .Where(pair => banned.Any(b => (pair.used.Assembly.GetName().Name ?? "").StartsWith(b, StringComparison.Ordinal)))
            .Select(pair => $"{pair.t.Name} uses {pair.used.FullName}")
            .Distinct()
            .ToList();

        Assert.NotEmpty(domainTypes);
        Assert.Empty(offenders);
    }
}
