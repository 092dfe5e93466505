using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;
using static Journey.Touchpoint.Storage.MongoInteractionLog;

namespace Journey.Touchpoint.Storage;

/// <summary>Reads of the aggregates <see cref="MongoInteractionLog"/> maintains; each query reads aggregate documents of the period only.</summary>
internal sealed class MongoJourneyAggregates([FromKeyedServices(TouchpointModule.Name)] MongoStore store) : IJourneyAggregates
{
    private readonly IMongoDatabase _db = store.Database;

    public Task<TouchpointTotals> TouchpointTotalsAsync(string touchpointId, int fromDay, int toDay, TimeSpan purchaseWindow, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var filter = new BsonDocument { ["touchpoint_id"] = touchpointId, ["day"] = new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay } };
            var days = await _db.GetCollection<BsonDocument>(TouchpointDays).Find(filter).ToListAsync(ct);
            var rows = await _db.GetCollection<BsonDocument>(TouchpointDayPeople).Find(filter).ToListAsync(ct);
            var people = rows.GroupBy(r => r["person_id"].ToInt64()).ToDictionary(g => g.Key, g => g.Select(r => (First: r["first_at"].ToInt64(), Last: r["last_at"].ToInt64())).ToList());
            var purchases = await _db.GetCollection<BsonDocument>(Purchases)
                .Find(new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people.Keys)))).ToListAsync(ct);
            var window = (long)purchaseWindow.TotalMilliseconds;
            var purchasers = purchases.GroupBy(p => p["person_id"].ToInt64())
                .Count(g => g.Any(p => people[g.Key].Any(v => p["at"].ToInt64() >= v.First && p["at"].ToInt64() <= v.Last + window)));
            return new TouchpointTotals(
                days.Sum(d => d["interactions"].ToInt64()), days.Sum(d => d["rating_sum"].ToInt64()), days.Sum(d => d["rating_count"].ToInt64()),
                people.Count, purchasers);
        }, cancellationToken);

    public Task<FunnelTotals> FunnelTotalsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var rows = await _db.GetCollection<BsonDocument>(PersonStageDays)
                .Find(new BsonDocument("day", new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay })).ToListAsync(ct);
            var masks = rows.GroupBy(r => r["person_id"].ToInt64()).Select(g => g.Aggregate(0, (m, r) => m | r["stage_mask"].ToInt32())).ToList();
            var perStage = Enumerable.Range(0, 6).Select(i => (long)masks.Count(m => (m & (1 << i)) != 0)).ToList();
            var both = Enumerable.Range(0, 5).Select(i => (long)masks.Count(m => (m & (1 << i)) != 0 && (m & (1 << (i + 1))) != 0)).ToList();
            return new FunnelTotals(perStage, both);
        }, cancellationToken);

    public Task<IReadOnlyList<long>> TouchpointsBeforePurchaseAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync<IReadOnlyList<long>>(async (_, ct) =>
        {
            var purchases = await _db.GetCollection<BsonDocument>(Purchases)
                .Find(new BsonDocument("day", new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay })).ToListAsync(ct);
            var counts = new List<long>();
            foreach (var first in purchases.GroupBy(p => p["person_id"].ToInt64()).Select(g => (Person: g.Key, At: g.Min(p => p["at"].ToInt64()))))
            {
                counts.Add(await _db.GetCollection<BsonDocument>(PersonTouchpoints)
                    .CountDocumentsAsync(new BsonDocument { ["person_id"] = first.Person, ["first_at"] = new BsonDocument("$lt", first.At) }, cancellationToken: ct));
            }

            return counts;
        }, cancellationToken);

    public Task<DropOffTotals> DropOffsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int limit, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var silent = new BsonDocument
            {
                ["last_at"] = new BsonDocument { ["$gte"] = from.ToUnixTimeMilliseconds(), ["$lt"] = toExclusive.ToUnixTimeMilliseconds() },
                ["last_purchase_at"] = new BsonDocument("$exists", false),
            };
            var people = _db.GetCollection<BsonDocument>(PersonState);
            var rows = await people.Aggregate()
                .Match(silent)
                .Group(new BsonDocument { ["_id"] = "$last_touchpoint_id", ["people"] = new BsonDocument("$sum", 1L) })
                .Sort(new BsonDocument { ["people"] = -1, ["_id"] = 1 })
                .Limit(limit)
                .ToListAsync(ct);
            var total = await people.CountDocumentsAsync(silent, cancellationToken: ct);
            return new DropOffTotals(total, rows.Select(r => (r["_id"].AsString, r["people"].ToInt64())).ToList());
        }, cancellationToken);

    public Task<IReadOnlyList<RatingTotals>> RatingsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync<IReadOnlyList<RatingTotals>>(async (_, ct) =>
        {
            var rows = await _db.GetCollection<BsonDocument>(TouchpointDays).Aggregate()
                .Match(new BsonDocument { ["day"] = new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay }, ["rating_count"] = new BsonDocument("$gt", 0L) })
                .Group(new BsonDocument { ["_id"] = "$touchpoint_id", ["sum"] = new BsonDocument("$sum", "$rating_sum"), ["count"] = new BsonDocument("$sum", "$rating_count") })
                .ToListAsync(ct);
            return rows.Select(r => new RatingTotals(r["_id"].AsString, r["sum"].ToInt64(), r["count"].ToInt64())).ToList();
        }, cancellationToken);
}
