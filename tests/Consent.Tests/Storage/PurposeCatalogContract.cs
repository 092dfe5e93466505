using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>The purpose catalog port's contract.</summary>
public abstract class PurposeCatalogContract(ConsentStores stores) : ConsentStoreContract(stores)
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    protected IPurposeCatalog Catalog => Stores.Catalog;

    /// <summary>The ledger over the same store, which reads request ids.</summary>
    protected IConsentLedger Ledger => Stores.Ledger;

    private static Purpose Sample(string id) => new(id, "Offers by e-mail", LegalBasis.LegitimateInterest, ChannelMask.Of([2, 12]), DefaultDecision.Allow, TimeSpan.FromDays(730), 3, 1, Now, Now.AddSeconds(1));

    [ContractFact]
    public async Task GetPurpose_AfterCreate_RoundTripsEveryField()
    {
        await Catalog.CreatePurposeAsync(Sample("marketing-email"), default);

        Assert.Equal(Sample("marketing-email"), await Catalog.GetPurposeAsync("marketing-email", default));
    }

    [ContractFact]
    public async Task CreatePurpose_WhenIdTaken_IsAlreadyExists()
    {
        await Catalog.CreatePurposeAsync(Sample("marketing-email"), default);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Catalog.CreatePurposeAsync(Sample("marketing-email"), default));
    }

    [ContractFact]
    public async Task UpdatePurpose_WhenVersionMoved_IsConflict()
    {
        await Catalog.CreatePurposeAsync(Sample("marketing-email"), default);
        await Catalog.UpdatePurposeAsync(Sample("marketing-email") with { Version = 2, Description = "changed" }, default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Catalog.UpdatePurposeAsync(Sample("marketing-email") with { Version = 2 }, default));
        Assert.Equal("changed", (await Catalog.GetPurposeAsync("marketing-email", default))!.Description);
    }

    [ContractFact]
    public async Task ListPurposes_PagesById()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Catalog.CreatePurposeAsync(Sample(id), default);
        }

        Assert.Equal(["a", "b"], (await Catalog.ListPurposesAsync("", 2, default)).Select(p => p.Id));
        Assert.Equal(["c"], (await Catalog.ListPurposesAsync("b", 2, default)).Select(p => p.Id));
    }

    [ContractFact]
    public async Task CreatePolicyVersion_NumbersVersionsFromOne()
    {
        var first = await Catalog.CreatePolicyVersionAsync("one", "aa", Now, null, default);
        var second = await Catalog.CreatePolicyVersionAsync("two", "bb", Now, null, default);

        Assert.Equal([1, 2], new[] { first.Version, second.Version });
        Assert.Equal(2, await Catalog.LatestPolicyVersionAsync(default));
        Assert.Equal(first, await Catalog.GetPolicyVersionAsync(1, default));
        Assert.Equal([2], (await Catalog.ListPolicyVersionsAsync(1, 10, default)).Select(v => v.Version));
    }

    [ContractFact]
    public async Task CreatePolicyVersion_WithARequestId_StoresItWithTheNumberAndARepeatedIdIsConflictWritingNothing()
    {
        var requestId = Guid.NewGuid().ToString();
        RequestClaim Claim(int version) => new(requestId, "fingerprint", new RequestOutcome([], [], null, version).Encode(), Now, Now.AddDays(1));

        await Catalog.CreatePolicyVersionAsync("one", "aa", Now, Claim, default);

        Assert.Equal(1, (await Ledger.FindRequestAsync(requestId, default))!.Outcome.PolicyVersion);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Catalog.CreatePolicyVersionAsync("one", "aa", Now, Claim, default));
        Assert.Equal(1, await Catalog.LatestPolicyVersionAsync(default));
    }
}

public sealed class SqlitePurposeCatalogTests() : PurposeCatalogContract(ConsentStores.Sqlite());

public sealed class MongoPurposeCatalogTests() : PurposeCatalogContract(ConsentStores.Mongo()), IRequiresMongo;
