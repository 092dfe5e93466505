using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint.Storage;
using Microsoft.Extensions.Options;
using MongoDB.Bson;

namespace Journey.Touchpoint.Tests.Storage;

public sealed class MongoIndexDeclarationTests() : MongoIndexDeclarationSuite("touchpoint")
{
    protected override void ConstructAdapters(MongoStore store)
    {
        _ = new MongoInteractionLog(store, Options.Create(new TouchpointOptions()));
        _ = new MongoTouchpointCatalogStore(store);
    }

    protected override void AssertDeclared(UnreachableMongo mongo)
    {
        Assert.Equal(3, mongo.On("touchpoints").Count);
        Assert.Equal(2, mongo.On(MongoInteractionLog.Interactions).Count);
    }

    [Fact]
    public void Indexes_FollowRetentionDays_InTheTtlOfInteractionsAndTheirClaims()
    {
        _ = new MongoInteractionLog(Mongo.Store, Options.Create(new TouchpointOptions { RetentionDays = 30 }));

        var retention = Assert.Single(Mongo.On(MongoInteractionLog.Interactions), i => i.Name == "retention");
        var claims = Assert.Single(Mongo.On(MongoInteractionLog.InteractionIds));
        Assert.Equal(new BsonDocument("occurred_at", 1), retention.Keys);
        Assert.Equal(TimeSpan.FromDays(30), retention.ExpireAfter);
        // The same names as before declarations existed, so a changed retention is a TTL change in place, not a new index.
        Assert.Equal("day_start_1", claims.Name);
        Assert.Equal(TimeSpan.FromDays(31), claims.ExpireAfter);
    }

    [Fact]
    public void Indexes_ExpireTrackingIdentityClaims_AfterTheirRetention()
    {
        _ = new MongoTrackingSourceStore(Mongo.Store, Options.Create(new TouchpointOptions { TrackingIdentityRetention = TimeSpan.FromDays(7) }));

        var retention = Assert.Single(Mongo.On("tracking_identities"));
        Assert.Equal((new BsonDocument("claimed_at", 1), TimeSpan.FromDays(7)), (retention.Keys, retention.ExpireAfter));
    }
}
