using Journey.Recommendation.Storage;
using Journey.Shared.Storage;
using MongoDB.Bson;

namespace Journey.Recommendation.Tests.Storage;

/// <summary>
/// The MongoDB counters written by concurrent requests are sharded; these pin down that the reads find
/// every shard the writes can pick, through an index. That the sums equal SQLite's counts is the
/// contract suite's part.
/// </summary>
public sealed class CounterPipelinesTests
{
    [Fact]
    public void ItemStatsChangedSince_JoinsEveryShardIdAWriteCanPickThroughTheIdIndex()
    {
        var pipeline = CounterPipelines.ItemStatsChangedSince(new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc));
        var shards = pipeline.Single(s => s.Contains("$addFields"))["$addFields"]["shards"]["$map"].AsBsonDocument;
        var lookup = pipeline.Single(s => s.Contains("$lookup"))["$lookup"].AsBsonDocument;

        Assert.Equal("updated", pipeline[0]["$match"].AsBsonDocument.GetElement(0).Name);
        Assert.Equal(new BsonArray { 0, MongoCounterShards.Count }, shards["input"]["$range"]);
        Assert.Equal(new BsonArray { "$_id", MongoCounterShards.Separator, new BsonDocument("$toString", "$$shard") }, shards["in"]["$concat"]);
        // The ids the pipeline builds are the ids the writes use: key, separator, shard number.
        var key = CounterPipelines.ItemKey("guide", 3);
        Assert.Equal(Enumerable.Range(0, MongoCounterShards.Count).Select(s => $"{key}{MongoCounterShards.Separator}{s}"), MongoCounterShards.Ids(key));
        Assert.Equal(("item_stats", "shards", "_id"), (lookup["from"].AsString, lookup["localField"].AsString, lookup["foreignField"].AsString));
    }

    [Fact]
    public void AllItemStats_SumsEveryShardOfAKey()
    {
        var group = Assert.Single(CounterPipelines.AllItemStats())["$group"].AsBsonDocument;

        Assert.Equal("$key", group["_id"]);
        Assert.All(new[] { "impressions", "clicks", "conversions" }, f => Assert.Equal("$" + f, group[f]["$sum"].AsString));
    }

    [Fact]
    public void VariantCounts_MatchesTheExperimentsShardIdsByAnIdRangeAndNoOthers()
    {
        var match = CounterPipelines.VariantCounts("spring")[0]["$match"].AsBsonDocument;
        var (from, to) = (match["_id"]["$gte"].AsString, match["_id"]["$lt"].AsString);
        bool InRange(string id) => string.CompareOrdinal(id, from) >= 0 && string.CompareOrdinal(id, to) < 0;

        Assert.All(
            new[] { "control", "learned", "a|b", "~" }.SelectMany(v => MongoCounterShards.Ids(CounterPipelines.VariantKey("spring", v))),
            id => Assert.True(InRange(id), id));
        Assert.All(
            new[] { ("spring2", "control"), ("sprin", "g"), ("spring-b", "x") }.SelectMany(e => MongoCounterShards.Ids(CounterPipelines.VariantKey(e.Item1, e.Item2))),
            id => Assert.False(InRange(id), id));
        // An experiment whose id extends this one's with '|' falls in the range; the experiment field tells them apart.
        Assert.Equal("spring", match["experiment"].AsString);
    }

    [Fact]
    public void AlsoConsumed_SumsEveryShardOfAPairBeforeItRanksAndLimits()
    {
        var pipeline = CounterPipelines.AlsoConsumed("video", 5);
        var stages = pipeline.Select(s => s.GetElement(0).Name).ToList();
        var group = pipeline[1]["$group"].AsBsonDocument;

        Assert.Equal(["$match", "$group", "$sort", "$limit"], stages);
        Assert.Equal(new BsonDocument("a", "video"), pipeline[0]["$match"].AsBsonDocument);
        Assert.Equal("$b", group["_id"].AsString);
        Assert.Equal("$count", group["count"]["$sum"].AsString);
        Assert.Equal(new BsonDocument { ["count"] = -1, ["_id"] = 1 }, pipeline[2]["$sort"].AsBsonDocument);
        Assert.Equal(5, pipeline[3]["$limit"].AsInt32);
        // Every shard id a write can pick for the pair starts with the pair's key, and the shard documents carry a and b.
        Assert.All(MongoCounterShards.Ids(CounterPipelines.PairKey("video", "guide")), id => Assert.StartsWith("video|guide" + MongoCounterShards.Separator, id));
    }

    [Fact]
    public void Pick_ReachesEveryShard()
    {
        var picked = Enumerable.Range(0, 2000).Select(_ => MongoCounterShards.Pick()).ToHashSet();

        Assert.Equal(Enumerable.Range(0, MongoCounterShards.Count), picked.Order());
    }
}
