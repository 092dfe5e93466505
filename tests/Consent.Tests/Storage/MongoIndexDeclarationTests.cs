using Journey.Consent.Storage;
using Journey.Testing;
using MongoDB.Bson;

namespace Journey.Consent.Tests.Storage;

public sealed class MongoIndexDeclarationTests : IDisposable
{
    private readonly UnreachableMongo _mongo = new("consent");

    [Fact]
    public void Constructor_WithNoServerReachable_SendsNothingAndDeclaresItsIndexes()
    {
        _ = new MongoConsentLedger(_mongo.Store);
        _ = new MongoPurposeCatalog(_mongo.Store);

        Assert.False(_mongo.Store.Indexes.Ready);
        Assert.Contains(_mongo.On("records"), i => i.Unique && i.Keys == new BsonDocument { ["subject"] = 1, ["sequence"] = 1 });
    }

    [Fact]
    public void MergedIntoIndex_FiltersOnAComparisonThatEveryMergedIntoQueryCarries()
    {
        _ = new MongoConsentLedger(_mongo.Store);

        var index = Assert.Single(_mongo.On("subjects"));
        // The planner proves an equality or range query implies a comparison filter on the same
        // field, never a $type filter: {merged_into: {$type: "string"}} was never chosen.
        Assert.Equal(BsonDocument.Parse("{ merged_into: { $gt: '' } }"), index.PartialFilter);
        Assert.Equal(new BsonDocument("merged_into", 1), index.Keys);
        Assert.Equal(BsonDocument.Parse("{ merged_into: { $eq: 's-1', $gt: '' } }"), MongoConsentLedger.MergedInto("s-1"));
        Assert.Equal(index.PartialFilter, MongoConsentLedger.MergedFilter);
        Assert.Contains(_mongo.Store.Indexes.Retired, r => r.Collection == "subjects" && r.Name == "merged_into_1");
    }

    [Fact]
    public void Constructors_DeclareTheRequestIdTtlAndTheCoveredHeadsBucketIndex()
    {
        _ = new MongoConsentLedger(_mongo.Store);
        _ = new MongoConsentCheckpoints(_mongo.Store);

        var ttl = Assert.Single(_mongo.On("consent_requests"));
        Assert.Equal((new BsonDocument("expires_at", 1), (TimeSpan?)TimeSpan.Zero), (ttl.Keys, ttl.ExpireAfter));
        Assert.Equal(new BsonDocument("bucket", 1), Assert.Single(_mongo.On("checkpoint_heads")).Keys);
        Assert.False(_mongo.Store.Indexes.Ready);
    }

    public void Dispose() => _mongo.Dispose();
}
