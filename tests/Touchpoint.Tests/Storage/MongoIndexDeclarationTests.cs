using Journey.Testing;
using Journey.Touchpoint.Storage;
using Microsoft.Extensions.Options;
using MongoDB.Bson;

namespace Journey.Touchpoint.Tests.Storage;

public sealed class MongoIndexDeclarationTests : IDisposable
{
    private readonly UnreachableMongo _mongo = new("touchpoint");

    [Fact]
    public void Constructors_WithNoServerReachable_SendNothingAndDeclareTheirIndexes()
    {
        _ = new MongoInteractionLog(_mongo.Store, Options.Create(new TouchpointOptions()));
        _ = new MongoTouchpointCatalogStore(_mongo.Store);

        Assert.False(_mongo.Store.Indexes.Ready);
        Assert.Equal(3, _mongo.On("touchpoints").Count);
        Assert.Equal(2, _mongo.On(MongoInteractionLog.Interactions).Count);
    }

    [Fact]
    public void Indexes_FollowRetentionDays_InTheTtlOfInteractionsAndTheirClaims()
    {
        _ = new MongoInteractionLog(_mongo.Store, Options.Create(new TouchpointOptions { RetentionDays = 30 }));

        var retention = Assert.Single(_mongo.On(MongoInteractionLog.Interactions), i => i.Name == "retention");
        var claims = Assert.Single(_mongo.On(MongoInteractionLog.InteractionIds));
        Assert.Equal(new BsonDocument("occurred_at", 1), retention.Keys);
        Assert.Equal(TimeSpan.FromDays(30), retention.ExpireAfter);
        // The same names as before declarations existed, so a changed retention is a TTL change in place, not a new index.
        Assert.Equal("day_start_1", claims.Name);
        Assert.Equal(TimeSpan.FromDays(31), claims.ExpireAfter);
    }

    [Fact]
    public void Indexes_ExpireTrackingIdentityClaims_AfterTheirRetention()
    {
        _ = new MongoTrackingSourceStore(_mongo.Store, Options.Create(new TouchpointOptions { TrackingIdentityRetention = TimeSpan.FromDays(7) }));

        var retention = Assert.Single(_mongo.On("tracking_identities"));
        Assert.Equal((new BsonDocument("claimed_at", 1), TimeSpan.FromDays(7)), (retention.Keys, retention.ExpireAfter));
    }

    public void Dispose() => _mongo.Dispose();
}
