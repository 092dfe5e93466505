using Journey.Consent.Storage;
using Journey.Shared.Storage;
using Journey.Testing;
using MongoDB.Bson;

namespace Journey.Consent.Tests.Storage;

public sealed class MongoIndexDeclarationTests() : MongoIndexDeclarationSuite("consent")
{
    protected override void ConstructAdapters(MongoStore store)
    {
        _ = new MongoConsentLedger(store);
        _ = new MongoPurposeCatalog(store);
        _ = new MongoConsentCheckpoints(store);
    }

    protected override void AssertDeclared(UnreachableMongo mongo) =>
        Assert.Contains(mongo.On("records"), i => i.Unique && i.Keys == new BsonDocument { ["subject"] = 1, ["sequence"] = 1 });

    [Fact]
    public void MergedIntoIndex_FiltersOnAComparisonThatEveryMergedIntoQueryCarries()
    {
        _ = new MongoConsentLedger(Mongo.Store);

        var index = Assert.Single(Mongo.On("subjects"));
        // The planner proves an equality or range query implies a comparison filter on the same
        // field, never a $type filter: {merged_into: {$type: "string"}} was never chosen.
        Assert.Equal(BsonDocument.Parse("{ merged_into: { $gt: '' } }"), index.PartialFilter);
        Assert.Equal(new BsonDocument("merged_into", 1), index.Keys);
        Assert.Equal(BsonDocument.Parse("{ merged_into: { $eq: 's-1', $gt: '' } }"), MongoConsentLedger.MergedInto("s-1"));
        Assert.Equal(index.PartialFilter, MongoConsentLedger.MergedFilter);
        Assert.Contains(Mongo.Store.Indexes.Retired, r => r.Collection == "subjects" && r.Name == "merged_into_1");
    }

    [Fact]
    public void Constructors_DeclareTheRequestIdTtlAndTheCoveredHeadsBucketIndex()
    {
        _ = new MongoConsentLedger(Mongo.Store);
        _ = new MongoConsentCheckpoints(Mongo.Store);

        var ttl = Assert.Single(Mongo.On("consent_requests"));
        Assert.Equal((new BsonDocument("expires_at", 1), (TimeSpan?)TimeSpan.Zero), (ttl.Keys, ttl.ExpireAfter));
        Assert.Equal(new BsonDocument("bucket", 1), Assert.Single(Mongo.On("checkpoint_heads")).Keys);
        Assert.False(Mongo.Store.Indexes.Ready);
    }
}
