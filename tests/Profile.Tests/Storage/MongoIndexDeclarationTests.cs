using Journey.Profile.Storage;
using Journey.Testing;
using MongoDB.Bson;

namespace Journey.Profile.Tests.Storage;

public sealed class MongoIndexDeclarationTests : IDisposable
{
    private readonly UnreachableMongo _mongo = new("profile");

    [Fact]
    public void Constructors_WithNoServerReachable_SendNothingAndDeclareTheSchemaOnce()
    {
        _ = new MongoProfileStore(_mongo.Store);
        _ = new MongoSegmentStore(_mongo.Store);

        Assert.False(_mongo.Store.Indexes.Ready);
        Assert.Equal(ProfileMongoSchema.Indexes.Count, _mongo.Store.Indexes.Declared.Count(i => i.Collection != "outbox" && i.Collection != "outbox_parked"));
        Assert.Contains(_mongo.On(ProfileMongoSchema.Identifiers), i => i.Unique && i.Keys == new BsonDocument { ["kind"] = 1, ["value"] = 1 });
    }

    [Fact]
    public void MergesIndexes_ServeErasureByEitherSideOfTheMerge()
    {
        // Erasure deletes {$or: [{survivor_id: id}, {merged_id: id}]}: each clause needs its own index.
        var merges = ProfileMongoSchema.Indexes.Where(i => i.Collection == ProfileMongoSchema.Merges).Select(i => i.Keys.GetElement(0).Name).ToList();

        Assert.Contains("survivor_id", merges);
        Assert.Contains("merged_id", merges);
    }

    public void Dispose() => _mongo.Dispose();
}
