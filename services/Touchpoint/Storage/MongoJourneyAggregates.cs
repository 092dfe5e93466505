using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;
using static Journey.Touchpoint.Storage.MongoInteractionLog;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// Reads of the aggregates <see cref="MongoInteractionLog"/> maintains, each one aggregation the server
/// runs (<see cref="AggregatePipelines"/>); only the figures come back.
/// </summary>
internal sealed class MongoJourneyAggregates([FromKeyedServices(TouchpointModule.Name)] MongoStore store) : IJourneyAggregates
{
    // A period's groups (one per person) may outgrow the 100 MB a stage may hold in memory.
    private static readonly AggregateOptions Spill = new() { AllowDiskUse = true };

    private readonly IMongoDatabase _db = store.Database;

    public Task<TouchpointTotals> TouchpointTotalsAsync(string touchpointId, int fromDay, int toDay, TimeSpan purchaseWindow, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var counts = await OneAsync(TouchpointDays, AggregatePipelines.TouchpointCounts(touchpointId, fromDay, toDay), ct);
            var reach = await OneAsync(TouchpointDayPeople, AggregatePipelines.TouchpointReach(touchpointId, fromDay, toDay, (long)purchaseWindow.TotalMilliseconds), ct);
            return new TouchpointTotals(
                Long(counts, "interactions"), Long(counts, "rating_sum"), Long(counts, "rating_count"), Long(reach, "people"), Long(reach, "purchasers"));
        }, cancellationToken);

    public Task<FunnelTotals> FunnelTotalsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var totals = await OneAsync(PersonStageDays, AggregatePipelines.Funnel(fromDay, toDay), ct);
            return new FunnelTotals(
                Enumerable.Range(0, AggregatePipelines.Stages).Select(i => Long(totals, $"s{i}")).ToList(),
                Enumerable.Range(0, AggregatePipelines.Stages - 1).Select(i => Long(totals, $"b{i}")).ToList());
        }, cancellationToken);

    public Task<IReadOnlyList<long>> TouchpointsBeforePurchaseAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync<IReadOnlyList<long>>(async (_, ct) =>
        {
            var counts = new List<long>();
            using var cursor = await _db.GetCollection<BsonDocument>(Purchases).AggregateAsync<BsonDocument>(AggregatePipelines.TouchpointsBeforePurchase(fromDay, toDay), Spill, ct);
            await cursor.ForEachAsync(d => counts.Add(d["before"].ToInt64()), ct);
            return counts;
        }, cancellationToken);

    public Task<DropOffTotals> DropOffsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int limit, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var silent = SilentWithoutPurchase(from, toExclusive);
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

    public Task<PathTotals> PurchasePathsAsync(int fromDay, int toDay, int maxPeople, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var purchases = _db.GetCollection<BsonDocument>(Purchases);
            var sequences = await PathsAsync(purchases, AggregatePipelines.PurchasePaths(fromDay, toDay, maxPeople), ct);
            var people = await OneAsync(Purchases, [
                new("$match", new BsonDocument("day", new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay })),
                new("$group", new BsonDocument("_id", "$person_id")),
                new("$count", "people"),
            ], ct);
            return new PathTotals(Long(people, "people"), sequences);
        }, cancellationToken);

    public Task<PathTotals> DropOffPathsAsync(DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var silent = SilentWithoutPurchase(from, toExclusive);
            var people = _db.GetCollection<BsonDocument>(PersonState);
            var sequences = await PathsAsync(people, AggregatePipelines.DropOffPaths(silent, maxPeople), ct);
            return new PathTotals(await people.CountDocumentsAsync(silent, cancellationToken: ct), sequences);
        }, cancellationToken);

    public Task<PathTotals> TouchpointPathsAsync(string touchpointId, DateTimeOffset from, DateTimeOffset toExclusive, int maxPeople, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var reached = new BsonDocument
            {
                ["touchpoint_id"] = touchpointId,
                ["first_at"] = new BsonDocument { ["$gte"] = from.ToUnixTimeMilliseconds(), ["$lt"] = toExclusive.ToUnixTimeMilliseconds() },
            };
            var met = _db.GetCollection<BsonDocument>(PersonTouchpoints);
            var sequences = await PathsAsync(met, AggregatePipelines.TouchpointPaths(reached, touchpointId, maxPeople), ct);
            return new PathTotals(await met.CountDocumentsAsync(reached, cancellationToken: ct), sequences);
        }, cancellationToken);

    private static async Task<IReadOnlyList<IReadOnlyList<string>>> PathsAsync(IMongoCollection<BsonDocument> collection, BsonDocument[] pipeline, CancellationToken ct)
    {
        var sequences = new List<IReadOnlyList<string>>();
        using var cursor = await collection.AggregateAsync<BsonDocument>(pipeline, Spill, ct);
        await cursor.ForEachAsync(d => sequences.Add(d["path"].AsBsonArray.Select(t => t["touchpoint_id"].AsString).ToList()), ct);
        return sequences;
    }

    public Task<IReadOnlyList<RatingTotals>> RatingsAsync(int fromDay, int toDay, CancellationToken cancellationToken) =>
        store.ReadAsync<IReadOnlyList<RatingTotals>>(async (_, ct) =>
        {
            var rows = await _db.GetCollection<BsonDocument>(TouchpointDays).Aggregate()
                .Match(new BsonDocument { ["day"] = new BsonDocument { ["$gte"] = fromDay, ["$lte"] = toDay }, ["rating_count"] = new BsonDocument("$gt", 0L) })
                .Group(new BsonDocument { ["_id"] = "$touchpoint_id", ["sum"] = new BsonDocument("$sum", "$rating_sum"), ["count"] = new BsonDocument("$sum", "$rating_count") })
                .ToListAsync(ct);
            return rows.Select(r => new RatingTotals(r["_id"].AsString, r["sum"].ToInt64(), r["count"].ToInt64())).ToList();
        }, cancellationToken);

    /// <summary>The one document a totals pipeline returns, or null when nothing matched.</summary>
    // People whose last interaction fell in the period and who never bought: the drop-offs.
    private static BsonDocument SilentWithoutPurchase(DateTimeOffset from, DateTimeOffset toExclusive) => new()
    {
        ["last_at"] = new BsonDocument { ["$gte"] = from.ToUnixTimeMilliseconds(), ["$lt"] = toExclusive.ToUnixTimeMilliseconds() },
        ["last_purchase_at"] = new BsonDocument("$exists", false),
    };

    private async Task<BsonDocument?> OneAsync(string collection, BsonDocument[] pipeline, CancellationToken ct)
    {
        using var cursor = await _db.GetCollection<BsonDocument>(collection).AggregateAsync<BsonDocument>(pipeline, Spill, ct);
        return await cursor.FirstOrDefaultAsync(ct);
    }

    private static long Long(BsonDocument? totals, string field) => totals?.GetValue(field, 0).ToInt64() ?? 0;
}
