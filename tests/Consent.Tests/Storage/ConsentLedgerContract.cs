using Google.Protobuf.WellKnownTypes;
using Journey.Consent.Domain;
using Journey.Consent.Storage;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>The ledger port's contract; both adapters must pass it.</summary>
public abstract class ConsentLedgerContract
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 9, 0, 0, 5, TimeSpan.Zero);

    protected abstract IConsentLedger Ledger { get; }

    [ContractFact]
    public async Task Purpose_RoundTripsAndIsUnique()
    {
        var purpose = new Purpose("personalisation", "Tailored content", LegalBasis.Consent, [1, 2], false, TimeSpan.FromDays(365), "3");

        await Ledger.InsertPurposeAsync(purpose, default);

        var stored = await Ledger.GetPurposeAsync("personalisation", default);
        Assert.Equal(purpose with { Channels = [] }, stored! with { Channels = [] });
        Assert.Equal([1, 2], stored.Channels);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Ledger.InsertPurposeAsync(purpose, default));
    }

    [ContractFact]
    public async Task Append_ResolvesOneSubjectPerPersonAndChainsSequences()
    {
        var email = new SubjectIdentifier(IdentifierKind.Email, "hash-anna");
        var cookie = new SubjectIdentifier(IdentifierKind.AnonymousId, "cookie-anna");

        var first = await Ledger.AppendAsync([email], "subject-1", (subject, previous) => Build(subject, previous, "personalisation", true), default);
        var second = await Ledger.AppendAsync([cookie, email], "subject-2", (subject, previous) => Build(subject, previous, "personalisation", false), default);
        var third = await Ledger.AppendAsync([cookie], "subject-3", (subject, previous) => Build(subject, previous, "analytics", true), default);

        Assert.Equal(["subject-1", "subject-1", "subject-1"], new[] { first.SubjectId, second.SubjectId, third.SubjectId });
        Assert.Equal([1L, 2L, 3L], new[] { first.Sequence, second.Sequence, third.Sequence });
        Assert.Equal(first.Hash, second.PreviousHash);
        Assert.Equal("subject-1", await Ledger.FindSubjectAsync([cookie], default));
        var latest = await Ledger.LatestAsync("subject-1", "personalisation", default);
        Assert.Equal(second with { Channels = [] }, latest! with { Channels = [] });
        Assert.Null(await Ledger.LatestAsync("subject-1", "unknown", default));
    }

    private static (ConsentRecord, OutboxMessage) Build(string subject, ConsentRecord? previous, string purpose, bool granted)
    {
        var draft = new ConsentRecord(subject, (previous?.Sequence ?? 0) + 1, purpose, granted, [1], "3", At, "touchpoints/form", new Proof("f", "ip", "ua"), At, previous?.Hash ?? "", "");
        return (draft with { Hash = ConsentDecisions.HashOf(draft) }, EventEnvelopes.Create(Topics.ConsentChanged, "consent", new StringValue { Value = subject }, At));
    }
}

public sealed class SqliteConsentLedgerTests : ConsentLedgerContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("consent");

    public SqliteConsentLedgerTests()
    {
        _ = new SqliteOutbox("consent", _sqlite.Database);
        Ledger = new SqliteConsentLedger(_sqlite.Database);
    }

    protected override IConsentLedger Ledger { get; }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoConsentLedgerTests : ConsentLedgerContract, IRequiresMongo, IAsyncLifetime
{
    private MongoStore? _store;

    protected override IConsentLedger Ledger => new MongoConsentLedger(_store!);

    public Task InitializeAsync()
    {
        if (MongoTestServer.ConnectionString is not null)
        {
            _store = MongoTestServer.CreateStore("consent");
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await MongoTestServer.DropAsync(_store);
        }
    }
}
