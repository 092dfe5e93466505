using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.Options;
using MongoDB.Bson;

namespace Journey.Recommendation.Tests.Storage;

public sealed class MongoIndexDeclarationTests() : MongoIndexDeclarationSuite("recommendation")
{
    protected override void ConstructAdapters(MongoStore store)
    {
        _ = new MongoContentLibrary(store);
        _ = new MongoExperimentStore(store);
        _ = new MongoAudienceStore(store, Options.Create(new RecommendationOptions()));
    }

    protected override void AssertDeclared(UnreachableMongo mongo)
    {
        Assert.Equal(2, mongo.On("contents").Count);
        Assert.Single(mongo.On("experiments"));
        Assert.Single(mongo.On("persons"));
    }

    [Fact]
    public void RecommendationsAndImpressions_ExpireThroughTtlIndexesOnDateFields()
    {
        _ = new MongoAudienceStore(Mongo.Store, Options.Create(new RecommendationOptions { RecommendationRetention = TimeSpan.FromDays(45) }));

        var records = Assert.Single(Mongo.On("recommendations"), i => i.ExpireAfter is not null);
        var impressions = Assert.Single(Mongo.On("impressions"), i => i.ExpireAfter is not null);
        Assert.Equal(new BsonDocument("created_at", 1), records.Keys);
        Assert.Equal(TimeSpan.FromDays(45), records.ExpireAfter);
        Assert.Equal(new BsonDocument("day_start", 1), impressions.Keys);
        // Only today's impressions are read (the frequency cap per UTC day).
        Assert.Equal(TimeSpan.FromDays(2), impressions.ExpireAfter);
    }
}
