using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Testing;
using Microsoft.Extensions.Options;
using MongoDB.Bson;

namespace Journey.Recommendation.Tests.Storage;

public sealed class MongoIndexDeclarationTests : IDisposable
{
    private readonly UnreachableMongo _mongo = new("recommendation");

    [Fact]
    public void Constructors_WithNoServerReachable_SendNothingAndDeclareTheirIndexes()
    {
        _ = new MongoContentLibrary(_mongo.Store);
        _ = new MongoExperimentStore(_mongo.Store);
        _ = new MongoAudienceStore(_mongo.Store, Options.Create(new RecommendationOptions()));

        Assert.False(_mongo.Store.Indexes.Ready);
        Assert.Equal(2, _mongo.On("contents").Count);
        Assert.Single(_mongo.On("experiments"));
        Assert.Single(_mongo.On("persons"));
    }

    [Fact]
    public void RecommendationsAndImpressions_ExpireThroughTtlIndexesOnDateFields()
    {
        _ = new MongoAudienceStore(_mongo.Store, Options.Create(new RecommendationOptions { RecommendationRetention = TimeSpan.FromDays(45) }));

        var records = Assert.Single(_mongo.On("recommendations"), i => i.ExpireAfter is not null);
        var impressions = Assert.Single(_mongo.On("impressions"), i => i.ExpireAfter is not null);
        Assert.Equal(new BsonDocument("created_at", 1), records.Keys);
        Assert.Equal(TimeSpan.FromDays(45), records.ExpireAfter);
        Assert.Equal(new BsonDocument("day_start", 1), impressions.Keys);
        // Only today's impressions are read (the frequency cap per UTC day).
        Assert.Equal(TimeSpan.FromDays(2), impressions.ExpireAfter);
    }

    [Fact]
    public void RecommendationRetention_DefaultsToNinetyDaysAndRefusesLessThanADay()
    {
        Assert.Equal(TimeSpan.FromDays(90), new RecommendationOptions().RecommendationRetention);

        var result = new RecommendationOptionsValidator().Validate(null, new RecommendationOptions { RecommendationRetention = TimeSpan.FromHours(1) });

        Assert.True(result.Failed);
        Assert.Contains(nameof(RecommendationOptions.RecommendationRetention), result.FailureMessage, StringComparison.Ordinal);
    }

    public void Dispose() => _mongo.Dispose();
}
