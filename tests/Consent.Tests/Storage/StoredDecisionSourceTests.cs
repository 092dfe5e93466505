using Journey.Consent.Domain;
using Journey.Consent.Events;
using Journey.Consent.Storage;
using Journey.Shared.Privacy;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>The read-through decision source used with MongoDB, driven over the SQLite ledger so it runs everywhere.</summary>
public sealed class StoredDecisionSourceTests : IDisposable
{
    private readonly TemporarySqlite _sqlite = new("consent");
    private readonly PurposeDirectory _directory;
    private readonly CatalogUseCases _catalog;
    private readonly ConsentUseCases _consent;

    public StoredDecisionSourceTests()
    {
        var purposes = new SqlitePurposeCatalog(_sqlite.Database);
        var ledger = new SqliteConsentLedger(_sqlite.Database);
        _directory = new PurposeDirectory(purposes, TimeProvider.System, TimeSpan.FromSeconds(5));
        var hasher = new IdentifierHasher(new byte[32]);
        _catalog = new CatalogUseCases(purposes, _directory, TimeProvider.System, new RequestLog(ledger, hasher, RequestIds.DefaultRetention));
        var checkpoints = new CheckpointUseCases(new SqliteConsentCheckpoints(_sqlite.Database), CheckpointSigner.Derive(new byte[32]), TimeProvider.System);
        _consent = new ConsentUseCases(
            ledger, new StoredDecisionSource(ledger), _directory, new ConsentEvents(), hasher, IdentifierPolicy.Default, TimeProvider.System,
            new RequestLog(ledger, hasher, RequestIds.DefaultRetention), checkpoints);
    }

    [Fact]
    public async Task Check_ReadsEachWriteFromTheStore()
    {
        await _catalog.CreatePolicyVersionAsync("policy", "", default);
        await _catalog.CreatePurposeAsync("marketing", new PurposeInput("offers", 1, [2], 2, null, 0), default);
        IdentifierInput[] ada = [new(2, "ada@example.com")];
        var query = new CheckQuery("", ada, "purposes/marketing", 2);

        await _consent.RecordAsync(new RecordConsentCommand(ada, "purposes/marketing", 1, [], 1, DateTimeOffset.UtcNow, "", "", "", ""), default);
        var granted = await _consent.CheckAsync(query, -1, default);
        await _consent.WithdrawAsync(new WithdrawConsentCommand("", ada, "purposes/marketing", false, [], 0, null, "", "", "", ""), default);
        var withdrawn = await _consent.CheckAsync(query, -1, default);

        Assert.Equal(DecisionReason.Granted, granted.Decision.Reason);
        Assert.Equal(DecisionReason.Withdrawn, withdrawn.Decision.Reason);
        Assert.Equal(granted.Subject, withdrawn.Subject);
    }

    public void Dispose()
    {
        _directory.Dispose();
        _sqlite.Dispose();
    }
}
