using MongoDB.Bson;
using static Journey.Touchpoint.Storage.MongoInteractionLog;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The aggregation pipelines <see cref="MongoJourneyAggregates"/> runs: every figure is computed by
/// the server, which returns one small document (or one number per purchaser), so no query pulls a
/// period's rows into the process or sends a list of people back (a <c>$in</c> of a million people is
/// past MongoDB's 16 MB command limit). Each pipeline starts with a <c>$match</c> an index serves, and
/// joins on <c>person_id</c> through <c>localField</c>/<c>foreignField</c>, which the joined
/// collection's <c>person_id</c> index serves. Built here, apart from the driver calls, so their shape
/// is tested without a server; the figures equal the SQLite adapter's (the shared contract suite).
/// </summary>
internal static class AggregatePipelines
{
    /// <summary>The journey stages a stage mask holds (bits 0 to 5).</summary>
    public const int Stages = 6;

    /// <summary>
    /// One document: a touchpoint's interactions, rating sum and rating count over the days, summed
    /// over the counter shards of each day (<see cref="TouchpointDays"/>).
    /// </summary>
    public static BsonDocument[] TouchpointCounts(string touchpointId, int fromDay, int toDay) =>
    [
        new("$match", new BsonDocument { ["touchpoint_id"] = touchpointId, ["day"] = Days(fromDay, toDay) }),
        new("$group", new BsonDocument
        {
            ["_id"] = BsonNull.Value,
            ["interactions"] = new BsonDocument("$sum", "$interactions"),
            ["rating_sum"] = new BsonDocument("$sum", "$rating_sum"),
            ["rating_count"] = new BsonDocument("$sum", "$rating_count"),
        }),
    ];

    /// <summary>
    /// One document: the people who met a touchpoint on the days (<see cref="TouchpointDayPeople"/>),
    /// and how many of them purchased within <paramref name="purchaseWindowMillis"/> after one of those
    /// days' visits (from its first interaction of the day to the window after its last).
    /// </summary>
    public static BsonDocument[] TouchpointReach(string touchpointId, int fromDay, int toDay, long purchaseWindowMillis) =>
    [
        new("$match", new BsonDocument { ["touchpoint_id"] = touchpointId, ["day"] = Days(fromDay, toDay) }),
        new("$group", new BsonDocument
        {
            ["_id"] = "$person_id",
            ["visits"] = new BsonDocument("$push", new BsonDocument { ["first"] = "$first_at", ["last"] = "$last_at" }),
            ["first"] = new BsonDocument("$min", "$first_at"),
            ["last"] = new BsonDocument("$max", "$last_at"),
        }),
        // Only the person's purchases between their first visit and the window after their last.
        new("$lookup", new BsonDocument
        {
            ["from"] = Purchases,
            ["localField"] = "_id",
            ["foreignField"] = "person_id",
            ["let"] = new BsonDocument { ["since"] = "$first", ["until"] = new BsonDocument("$add", new BsonArray { "$last", purchaseWindowMillis }) },
            ["pipeline"] = new BsonArray
            {
                new BsonDocument("$match", new BsonDocument("$expr", new BsonDocument("$and", new BsonArray
                {
                    new BsonDocument("$gte", new BsonArray { "$at", "$$since" }),
                    new BsonDocument("$lte", new BsonArray { "$at", "$$until" }),
                }))),
                new BsonDocument("$project", new BsonDocument { ["_id"] = 0, ["at"] = 1 }),
            },
            ["as"] = "purchases",
        }),
        new("$project", new BsonDocument("purchaser", AnyElement("$purchases", "purchase", AnyElement("$visits", "visit", new BsonDocument("$and", new BsonArray
        {
            new BsonDocument("$gte", new BsonArray { "$$purchase.at", "$$visit.first" }),
            new BsonDocument("$lte", new BsonArray { "$$purchase.at", new BsonDocument("$add", new BsonArray { "$$visit.last", purchaseWindowMillis }) }),
        }))))),
        new("$group", new BsonDocument
        {
            ["_id"] = BsonNull.Value,
            ["people"] = new BsonDocument("$sum", 1),
            ["purchasers"] = new BsonDocument("$sum", new BsonDocument("$cond", new BsonArray { "$purchaser", 1, 0 })),
        }),
    ];

    /// <summary>
    /// One document: per stage <c>s{i}</c>, the people who reached it on the days, and per pair of
    /// neighbouring stages <c>b{i}</c>, those who reached both stage i and i + 1 (<see cref="PersonStageDays"/>).
    /// </summary>
    public static BsonDocument[] Funnel(int fromDay, int toDay)
    {
        var perPerson = new BsonDocument("_id", "$person_id");
        var totals = new BsonDocument("_id", BsonNull.Value);
        for (var i = 0; i < Stages; i++)
        {
            perPerson[$"s{i}"] = new BsonDocument("$max", new BsonDocument("$cond", new BsonArray
            {
                new BsonDocument("$ne", new BsonArray { new BsonDocument("$bitAnd", new BsonArray { "$stage_mask", 1 << i }), 0 }),
                1,
                0,
            }));
            totals[$"s{i}"] = new BsonDocument("$sum", $"$s{i}");
        }

        for (var i = 0; i < Stages - 1; i++)
        {
            totals[$"b{i}"] = new BsonDocument("$sum", new BsonDocument("$multiply", new BsonArray { $"$s{i}", $"$s{i + 1}" }));
        }

        return
        [
            new("$match", new BsonDocument("day", Days(fromDay, toDay))),
            new("$group", perPerson),
            new("$group", totals),
        ];
    }

    /// <summary>
    /// One document <c>{ before }</c> per person whose first purchase in the days falls there
    /// (<see cref="Purchases"/>): the distinct touchpoints they met before it (<see cref="PersonTouchpoints"/>).
    /// </summary>
    public static BsonDocument[] TouchpointsBeforePurchase(int fromDay, int toDay) =>
    [
        new("$match", new BsonDocument("day", Days(fromDay, toDay))),
        new("$group", new BsonDocument { ["_id"] = "$person_id", ["at"] = new BsonDocument("$min", "$at") }),
        new("$lookup", new BsonDocument
        {
            ["from"] = PersonTouchpoints,
            ["localField"] = "_id",
            ["foreignField"] = "person_id",
            ["let"] = new BsonDocument("at", "$at"),
            ["pipeline"] = new BsonArray
            {
                new BsonDocument("$match", new BsonDocument("$expr", new BsonDocument("$lt", new BsonArray { "$first_at", "$$at" }))),
                new BsonDocument("$count", "touchpoints"),
            },
            ["as"] = "met",
        }),
        new("$project", new BsonDocument
        {
            ["_id"] = 0,
            ["before"] = new BsonDocument("$ifNull", new BsonArray { new BsonDocument("$first", "$met.touchpoints"), 0 }),
        }),
    ];

    /// <summary>
    /// One document <c>{ _id: person, at, path: [touchpoint ids] }</c> per person whose first purchase in the
    /// days falls there (<see cref="Purchases"/>), the most recent <paramref name="maxPeople"/>: the
    /// touchpoints met at or before it (<see cref="PersonTouchpoints"/>), first met first, ties by id.
    /// </summary>
    public static BsonDocument[] PurchasePaths(int fromDay, int toDay, int maxPeople) =>
    [
        new("$match", new BsonDocument("day", Days(fromDay, toDay))),
        new("$group", new BsonDocument { ["_id"] = "$person_id", ["at"] = new BsonDocument("$min", "$at") }),
        new("$sort", new BsonDocument { ["at"] = -1, ["_id"] = 1 }),
        new("$limit", maxPeople),
        MetTouchpoints(new BsonDocument("$lte", new BsonArray { "$first_at", "$$at" })),
    ];

    /// <summary>
    /// One document <c>{ _id: person, path: [touchpoint ids] }</c> per person of <see cref="PersonState"/>
    /// matching <paramref name="silent"/>, the most recently silent <paramref name="maxPeople"/>: every
    /// touchpoint they met, first met first, ties by id.
    /// </summary>
    public static BsonDocument[] DropOffPaths(BsonDocument silent, int maxPeople) =>
    [
        new("$match", silent),
        new("$sort", new BsonDocument { ["last_at"] = -1, ["_id"] = 1 }),
        new("$limit", maxPeople),
        new("$project", new BsonDocument { ["at"] = "$last_at" }),
        MetTouchpoints(new BsonDocument("$lte", new BsonArray { "$first_at", "$$at" })),
    ];

    /// <summary>
    /// One document <c>{ _id: person, path: [touchpoint ids] }</c> per person of <see cref="PersonTouchpoints"/>
    /// whose first meeting with <paramref name="touchpointId"/> matches <paramref name="reached"/>, the
    /// most recent <paramref name="maxPeople"/>: the other touchpoints they first met at or before it,
    /// first met first, ties by id.
    /// </summary>
    public static BsonDocument[] TouchpointPaths(BsonDocument reached, string touchpointId, int maxPeople) =>
    [
        new("$match", reached),
        new("$sort", new BsonDocument { ["first_at"] = -1, ["person_id"] = 1 }),
        new("$limit", maxPeople),
        new("$project", new BsonDocument { ["_id"] = "$person_id", ["at"] = "$first_at" }),
        MetTouchpoints(new BsonDocument("$and", new BsonArray
        {
            new BsonDocument("$lte", new BsonArray { "$first_at", "$$at" }),
            new BsonDocument("$ne", new BsonArray { "$touchpoint_id", touchpointId }),
        })),
    ];

    /// <summary>Adds <c>path</c>: the ids of the person's touchpoints matching <paramref name="condition"/> (with <c>$$at</c>), in the order first met.</summary>
    private static BsonDocument MetTouchpoints(BsonDocument condition) => new("$lookup", new BsonDocument
    {
        ["from"] = PersonTouchpoints,
        ["localField"] = "_id",
        ["foreignField"] = "person_id",
        ["let"] = new BsonDocument("at", "$at"),
        ["pipeline"] = new BsonArray
        {
            new BsonDocument("$match", new BsonDocument("$expr", condition)),
            new BsonDocument("$sort", new BsonDocument { ["first_at"] = 1, ["touchpoint_id"] = 1 }),
            new BsonDocument("$project", new BsonDocument { ["_id"] = 0, ["touchpoint_id"] = 1 }),
        },
        ["as"] = "path",
    });

    private static BsonDocument Days(int fromDay, int toDay) => new() { ["$gte"] = fromDay, ["$lte"] = toDay };

    /// <summary>True when <paramref name="condition"/> holds for any element of the array <paramref name="input"/>, named <paramref name="name"/> in it.</summary>
    private static BsonDocument AnyElement(string input, string name, BsonValue condition) =>
        new("$anyElementTrue", new BsonArray { new BsonDocument("$map", new BsonDocument { ["input"] = input, ["as"] = name, ["in"] = condition }) });
}
