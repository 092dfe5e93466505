using Journey.Profile.Storage;
using Journey.Shared.Storage;
using Journey.Testing;
using MongoDB.Bson;

namespace Journey.Profile.Tests.Storage;

public sealed class MongoIndexDeclarationTests() : MongoIndexDeclarationSuite("profile")
{
    protected override void ConstructAdapters(MongoStore store)
    {
        _ = new MongoProfileStore(store);
        _ = new MongoSegmentStore(store);
    }

    // Both stores share one schema: it is declared once, whichever store comes first.
    protected override void AssertDeclared(UnreachableMongo mongo)
    {
        Assert.Equal(ProfileMongoSchema.Indexes.Count, mongo.Store.Indexes.Declared.Count(i => i.Collection != "outbox" && i.Collection != "outbox_parked"));
        Assert.Contains(mongo.On(ProfileMongoSchema.Identifiers), i => i.Unique && i.Keys == new BsonDocument { ["kind"] = 1, ["value"] = 1 });
    }

    [Fact]
    public void MergesIndexes_ServeErasureByEitherSideOfTheMerge()
    {
        // Erasure deletes {$or: [{survivor_id: id}, {merged_id: id}]}: each clause needs its own index.
        var merges = ProfileMongoSchema.Indexes.Where(i => i.Collection == ProfileMongoSchema.Merges).Select(i => i.Keys.GetElement(0).Name).ToList();

        Assert.Contains("survivor_id", merges);
        Assert.Contains("merged_id", merges);
    }
}
