using Journey.Shared.Storage;
using MongoDB.Bson;

namespace Journey.Recommendation.Storage;

/// <summary>
/// How <see cref="MongoAudienceStore"/> keeps its counters that many writers add to at once (an
/// experiment's variant counts, an item's learned counts, how often two items are consumed by the same
/// people) as <see cref="MongoCounterShards"/>, and
/// the pipelines that sum them on the server. Built apart from the driver calls so their shape is
/// tested without a server.
/// </summary>
internal static class CounterPipelines
{
    /// <summary>The item-stats counter of an item at a stage; each shard holds it in <c>key</c>.</summary>
    public static string ItemKey(string contentId, int stage) => $"{contentId}|{stage}";

    /// <summary>The variant-counts counter of an experiment's variant.</summary>
    public static string VariantKey(string experimentId, string variant) => $"{experimentId}|{variant}";

    /// <summary>The co-consumption counter of "people who consumed <paramref name="a"/> also consumed <paramref name="b"/>".</summary>
    public static string PairKey(string a, string b) => $"{a}|{b}";

    /// <summary>
    /// The <paramref name="limit"/> items most often consumed with <paramref name="seed"/>: one document
    /// per item (<c>_id</c> the item, <c>count</c> summed over every shard), most first, ties by item.
    /// The <c>{a: 1, count: -1}</c> index serves the match; the sum has to see every shard of a pair, so
    /// no limit can come before the group.
    /// </summary>
    public static BsonDocument[] AlsoConsumed(string seed, int limit) =>
    [
        new("$match", new BsonDocument("a", seed)),
        new("$group", new BsonDocument { ["_id"] = "$b", ["count"] = new BsonDocument("$sum", "$count") }),
        new("$sort", new BsonDocument { ["count"] = -1, ["_id"] = 1 }),
        new("$limit", limit),
    ];

    /// <summary>
    /// One document per item and stage (<c>content</c>, <c>stage</c>, the three counts, the latest
    /// <c>updated</c>), summed over every shard.
    /// </summary>
    public static BsonDocument[] AllItemStats() =>
    [
        new("$group", ItemGroup(new BsonDocument
        {
            ["impressions"] = new BsonDocument("$sum", "$impressions"),
            ["clicks"] = new BsonDocument("$sum", "$clicks"),
            ["conversions"] = new BsonDocument("$sum", "$conversions"),
        })),
    ];

    /// <summary>
    /// As <see cref="AllItemStats"/>, for the items with a shard written at or after
    /// <paramref name="since"/> (the <c>updated</c> index serves the match): the changed keys' shards
    /// are found by their ids (the <c>_id</c> index serves the join) and summed whole.
    /// </summary>
    public static BsonDocument[] ItemStatsChangedSince(DateTime since) =>
    [
        new("$match", new BsonDocument("updated", new BsonDocument("$gte", since))),
        new("$group", ItemGroup([])),
        new("$addFields", new BsonDocument("shards", new BsonDocument("$map", new BsonDocument
        {
            ["input"] = new BsonDocument("$range", new BsonArray { 0, MongoCounterShards.Count }),
            ["as"] = "shard",
            ["in"] = new BsonDocument("$concat", new BsonArray { "$_id", MongoCounterShards.Separator, new BsonDocument("$toString", "$$shard") }),
        }))),
        new("$lookup", new BsonDocument { ["from"] = MongoAudienceStore.ItemStatsCollection, ["localField"] = "shards", ["foreignField"] = "_id", ["as"] = "whole" }),
        new("$project", new BsonDocument
        {
            ["content"] = 1,
            ["stage"] = 1,
            ["updated"] = 1,
            ["impressions"] = new BsonDocument("$sum", "$whole.impressions"),
            ["clicks"] = new BsonDocument("$sum", "$whole.clicks"),
            ["conversions"] = new BsonDocument("$sum", "$whole.conversions"),
        }),
    ];

    /// <summary>
    /// One document per variant of the experiment (<c>_id</c> the variant), summed over every shard,
    /// by variant. The shards' ids start with the experiment's id, so the <c>_id</c> index serves the match.
    /// </summary>
    public static BsonDocument[] VariantCounts(string experimentId) =>
    [
        new("$match", new BsonDocument
        {
            ["_id"] = new BsonDocument { ["$gte"] = experimentId + "|", ["$lt"] = experimentId + "}" },
            ["experiment"] = experimentId,
        }),
        new("$group", new BsonDocument
        {
            ["_id"] = "$variant",
            ["recommendations"] = new BsonDocument("$sum", "$recommendations"),
            ["impressions"] = new BsonDocument("$sum", "$impressions"),
            ["clicks"] = new BsonDocument("$sum", "$clicks"),
            ["conversions"] = new BsonDocument("$sum", "$conversions"),
        }),
        new("$sort", new BsonDocument("_id", 1)),
    ];

    private static BsonDocument ItemGroup(BsonDocument sums)
    {
        var group = new BsonDocument
        {
            ["_id"] = "$key",
            ["content"] = new BsonDocument("$first", "$content"),
            ["stage"] = new BsonDocument("$first", "$stage"),
            ["updated"] = new BsonDocument("$max", "$updated"),
        };
        group.AddRange(sums);
        return group;
    }
}
