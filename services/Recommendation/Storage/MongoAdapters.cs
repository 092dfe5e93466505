using Journey.Recommendation.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace Journey.Recommendation.Storage;

/// <summary>Class maps of the stored shapes, registered once per process.</summary>
internal static class MongoMaps
{
    private static readonly Lock Gate = new();
    private static bool _registered;

    public static void Register()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            BsonClassMap.RegisterClassMap<PersonDocument>(map =>
            {
                map.AutoMap();
                map.MapIdProperty(d => d.Key);
            });
            _registered = true;
        }
    }
}

internal sealed class MongoContentLibrary : IContentLibrary
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<ContentDocument> _contents;

    public MongoContentLibrary([FromKeyedServices(RecommendationModule.Name)] MongoStore store)
    {
        MongoMaps.Register();
        _store = store;
        _contents = store.Database.GetCollection<ContentDocument>(CollectionName);
        store.Indexes.Declare(Indexes);
    }

    private const string CollectionName = "contents";

    /// <summary>The library's indexes (field names as <see cref="ContentDocument"/> stores them).</summary>
    internal static IReadOnlyList<MongoIndex> Indexes { get; } =
    [
        new(CollectionName, new BsonDocument { ["Retired"] = 1, ["_id"] = 1 }),
        new(CollectionName, new BsonDocument { ["Channels"] = 1, ["_id"] = 1 }),
    ];

    public Task SaveAsync(ContentItem item, long storedVersion, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var document = ContentDocument.From(item);
            if (storedVersion == 0)
            {
                try
                {
                    await _contents.InsertOneAsync(session, document, cancellationToken: ct);
                }
                catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
                {
                    throw new ConcurrencyConflictException("Content", item.Name);
                }
            }
            else if ((await _contents.ReplaceOneAsync(session, d => d.Id == item.Id && d.Version == storedVersion, document, cancellationToken: ct)).MatchedCount == 0)
            {
                throw new ConcurrencyConflictException("Content", item.Name);
            }

            return 0;
        }, cancellationToken);

    public Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await _contents.Find(d => d.Id == id).FirstOrDefaultAsync(ct))?.ToDomain(), cancellationToken);

    public Task<IReadOnlyList<ContentItem>> ListAsync(ContentFilter filter, string afterId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ContentItem>>(async (_, ct) =>
        {
            var f = Builders<ContentDocument>.Filter;
            var query = f.Gt(d => d.Id, afterId);
            if (!filter.IncludeRetired)
            {
                query &= f.Eq(d => d.Retired, false);
            }

            if (filter.Kind != ContentKind.Unspecified)
            {
                query &= f.Eq(d => d.Kind, (int)filter.Kind);
            }

            if (filter.Channel != ChannelKind.Unspecified)
            {
                query &= f.AnyEq(d => d.Channels, (int)filter.Channel);
            }

            if (filter.Stage != Stage.Unspecified)
            {
                query &= f.ElemMatch(d => d.Stages, s => s.Stage == (int)filter.Stage);
            }

            if (filter.Topic.Length > 0)
            {
                query &= f.AnyEq(d => d.Topics, filter.Topic);
            }

            var documents = await _contents.Find(query).SortBy(d => d.Id).Limit(limit).ToListAsync(ct);
            return documents.Select(d => d.ToDomain()).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<ContentItem>> ReadActiveAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ContentItem>>(async (_, ct) =>
            (await _contents.Find(d => !d.Retired).ToListAsync(ct)).Select(d => d.ToDomain()).ToList(), cancellationToken);
}

internal sealed class MongoExperimentStore : IExperimentStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<ExperimentDocument> _experiments;

    public MongoExperimentStore([FromKeyedServices(RecommendationModule.Name)] MongoStore store)
    {
        _store = store;
        _experiments = store.Database.GetCollection<ExperimentDocument>(CollectionName);
        store.Indexes.Declare(Indexes);
    }

    private const string CollectionName = "experiments";

    /// <summary>Newest first, as the list pages (field names as <see cref="ExperimentDocument"/> stores them).</summary>
    internal static IReadOnlyList<MongoIndex> Indexes { get; } = [new(CollectionName, new BsonDocument { ["CreatedAt"] = -1, ["_id"] = -1 })];

    public Task CreateAsync(Experiment experiment, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            try
            {
                await _experiments.InsertOneAsync(session, ExperimentDocument.From(experiment), cancellationToken: ct);
            }
            catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
            {
                throw new AlreadyExistsException("Experiment", experiment.Name);
            }

            return 0;
        }, cancellationToken);

    public Task UpdateAsync(Experiment experiment, long storedVersion, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
            (await _experiments.ReplaceOneAsync(session, d => d.Id == experiment.Id && d.Version == storedVersion, ExperimentDocument.From(experiment), cancellationToken: ct)).MatchedCount == 0
                ? throw new ConcurrencyConflictException("Experiment", experiment.Name)
                : 0, cancellationToken);

    public Task<Experiment?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await _experiments.Find(d => d.Id == id).FirstOrDefaultAsync(ct))?.ToDomain(), cancellationToken);

    public Task<IReadOnlyList<Experiment>> ListAsync((DateTimeOffset CreatedAt, string Id)? before, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<Experiment>>(async (_, ct) =>
        {
            var f = Builders<ExperimentDocument>.Filter;
            var query = f.Empty;
            if (before is { } cursor)
            {
                // The page token carries milliseconds; compare on the same grain.
                var at = cursor.CreatedAt.UtcTicks;
                var next = at + TimeSpan.TicksPerMillisecond;
                query = f.Lt(d => d.CreatedAt, at) | (f.Gte(d => d.CreatedAt, at) & f.Lt(d => d.CreatedAt, next) & f.Lt(d => d.Id, cursor.Id));
            }

            var documents = await _experiments.Find(query).SortByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Limit(limit).ToListAsync(ct);
            return documents.Select(d => d.ToDomain()).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<Experiment>> ListRunningAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<Experiment>>(async (_, ct) =>
            (await _experiments.Find(d => d.StoppedAt == null).SortBy(d => d.CreatedAt).ToListAsync(ct)).Select(d => d.ToDomain()).ToList(), cancellationToken);
}

internal sealed class MongoAudienceStore : IAudienceStore
{
    private readonly MongoStore _store;
    private readonly Collections _c;

    public MongoAudienceStore([FromKeyedServices(RecommendationModule.Name)] MongoStore store, IOptions<RecommendationOptions>? options = null)
    {
        MongoMaps.Register();
        _store = store;
        _c = new Collections(store.Database);
        store.Indexes.Declare(Indexes((options?.Value ?? new RecommendationOptions()).RecommendationRetention));
    }

    /// <summary>
    /// Impressions are read only for the current UTC day (the frequency cap), so each day's counts
    /// go two days after the day began, which leaves the whole of the day and a margin for clocks.
    /// </summary>
    internal static readonly TimeSpan ImpressionRetention = TimeSpan.FromDays(2);

    /// <summary>
    /// The audience's indexes. Recommendation records expire <paramref name="recommendationRetention"/>
    /// after they were made (<see cref="RecommendationOptions.RecommendationRetention"/>), impressions
    /// <see cref="ImpressionRetention"/> after their day began; both through TTL indexes on date
    /// fields written for them (<c>created_at</c>, <c>day_start</c>).
    /// </summary>
    internal static IReadOnlyList<MongoIndex> Indexes(TimeSpan recommendationRetention) =>
    [
        new("persons", new BsonDocument("Ids", 1)),
        new("recommendations", new BsonDocument("person", 1)),
        new("recommendations", new BsonDocument("created_at", 1)) { ExpireAfter = recommendationRetention },
        new("impressions", new BsonDocument { ["person"] = 1, ["day"] = 1 }),
        new("impressions", new BsonDocument("day_start", 1)) { ExpireAfter = ImpressionRetention },
        new("co_consumption", new BsonDocument { ["a"] = 1, ["count"] = -1 }),
        new("item_stats", new BsonDocument("updated", 1)),
        MongoErasureTombstones.Index,
    ];

    /// <summary>
    /// How far back a changed-counts read looks before its cursor. Transactions stamp <c>updated</c>
    /// when they write, not when they commit, and commit in any order; none lives longer than
    /// MongoDB's transaction lifetime limit (60 s by default).
    /// </summary>
    internal static readonly TimeSpan CommitLag = TimeSpan.FromSeconds(60);

    /// <summary>The learned counts: sharded (<see cref="CounterPipelines"/>), since every feedback on an item writes its counter.</summary>
    internal const string ItemStatsCollection = "item_stats";

    // The first read of every learned count groups every shard; let that spill to disk rather than fail.
    private static readonly AggregateOptions Spill = new() { AllowDiskUse = true };

    public Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var touchpoint = await Session.ReadTouchpointAsync(_c, null, touchpointId, ct);
            var person = await Session.ReadPersonAsync(_c, null, identifierKeys, ct);
            var impressions = new Dictionary<string, int>(StringComparer.Ordinal);
            var personKey = person?.Key ?? (identifierKeys.Count > 0 ? identifierKeys[0] : null);
            if (personKey is not null)
            {
                var filter = new BsonDocument { ["person"] = personKey, ["day"] = day.DayNumber };
                foreach (var row in await _c.Impressions.Find(filter).ToListAsync(ct))
                {
                    impressions[row["content"].AsString] = row["count"].ToInt32();
                }
            }

            return new AudienceContext(touchpoint, person, impressions);
        }, cancellationToken);

    public Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<AlsoConsumed>>(async (_, ct) =>
        {
            var rows = new List<AlsoConsumed>();
            foreach (var seed in seedIds)
            {
                using var found = await _c.CoConsumption.AggregateAsync<BsonDocument>(CounterPipelines.AlsoConsumed(seed, perSeed), cancellationToken: ct);
                await found.ForEachAsync(d => rows.Add(new AlsoConsumed(seed, d["_id"].AsString, d["count"].ToInt64())), ct);
            }

            return rows;
        }, cancellationToken);

    public Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            await _c.Recommendations.InsertManyAsync(session, records.Select(record => new BsonDocument
            {
                ["_id"] = record.Id,
                ["person"] = record.PersonKey,
                ["stage"] = (int)record.Stage,
                ["experiment"] = record.ExperimentId,
                ["variant"] = record.Variant,
                ["contents"] = new BsonArray(record.ContentIds),
                ["at"] = record.CreatedAt.UtcTicks,
                ["created_at"] = record.CreatedAt.UtcDateTime,
            }), cancellationToken: ct);

            // Every call ranked under the experiment counts here: a sharded counter, so concurrent batches rarely abort each other.
            var counters = new Session(_c, session);
            foreach (var counts in IssuedCounts.Of(records))
            {
                await counters.AddVariantCountsAsync(counts.Experiment, counts.Counts, ct);
            }

            return 0;
        }, cancellationToken);

    public Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var d = await _c.Recommendations.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
            return d is null
                ? null
                : new RecommendationRecord(id, d["person"].AsString, (Stage)d["stage"].ToInt32(), d["experiment"].AsString, d["variant"].AsString,
                    d["contents"].AsBsonArray.Select(v => v.AsString).ToList(), new DateTimeOffset(d["at"].ToInt64(), TimeSpan.Zero));
        }, cancellationToken);

    public Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var pipeline = cursor == 0
                ? CounterPipelines.AllItemStats()
                : CounterPipelines.ItemStatsChangedSince(new DateTime(Math.Max(0, cursor - CommitLag.Ticks), DateTimeKind.Utc));
            var rows = new List<ItemStats>();
            var next = cursor;
            using var found = await _c.ItemStats.AggregateAsync<BsonDocument>(pipeline, Spill, ct);
            await found.ForEachAsync(d =>
            {
                rows.Add(new ItemStats(d["content"].AsString, (Stage)d["stage"].ToInt32(), d["impressions"].ToInt64(), d["clicks"].ToInt64(), d["conversions"].ToInt64()));
                if (d.TryGetValue("updated", out var updated) && updated.IsValidDateTime)
                {
                    next = Math.Max(next, updated.ToUniversalTime().Ticks);
                }
            }, ct);

            return new ItemStatsChanges(rows, next);
        }, cancellationToken);

    public Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<VariantCounts>>(async (_, ct) =>
            (await (await _c.VariantCounts.AggregateAsync<BsonDocument>(CounterPipelines.VariantCounts(experimentId), cancellationToken: ct)).ToListAsync(ct))
                .Select(d => new VariantCounts(d["_id"].AsString, d["recommendations"].ToInt64(), d["impressions"].ToInt64(), d["clicks"].ToInt64(), d["conversions"].ToInt64())).ToList(), cancellationToken);

    public Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        _store.WriteAsync((session, ct) => work(new Session(_c, session), ct), cancellationToken);

    private sealed class Collections(IMongoDatabase database)
    {
        public IMongoDatabase Database { get; } = database;
        public IMongoCollection<PersonDocument> Persons { get; } = database.GetCollection<PersonDocument>("persons");
        public IMongoCollection<BsonDocument> Touchpoints { get; } = database.GetCollection<BsonDocument>("touchpoints");
        public IMongoCollection<BsonDocument> Recommendations { get; } = database.GetCollection<BsonDocument>("recommendations");
        public IMongoCollection<BsonDocument> Impressions { get; } = database.GetCollection<BsonDocument>("impressions");
        public IMongoCollection<BsonDocument> ItemStats { get; } = database.GetCollection<BsonDocument>(ItemStatsCollection);
        public IMongoCollection<BsonDocument> VariantCounts { get; } = database.GetCollection<BsonDocument>("variant_counts");
        public IMongoCollection<BsonDocument> CoConsumption { get; } = database.GetCollection<BsonDocument>("co_consumption");
    }

    private sealed class Session(Collections c, IClientSessionHandle session) : IAudienceSession
    {
        private static readonly UpdateOptions Upsert = new() { IsUpsert = true };

        public Task<bool> TryClaimAsync(string consumer, string eventId, DateTimeOffset now, CancellationToken cancellationToken) =>
            MongoInbox.TryClaimAsync(session, c.Database, consumer, eventId, now, cancellationToken);

        public Task<PersonState?> FindPersonAsync(IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken) =>
            ReadPersonAsync(c, session, identifierKeys, cancellationToken);

        public async Task SavePersonAsync(PersonState person, CancellationToken cancellationToken)
        {
            var document = PersonDocument.From(person);
            document.Ids = person.IdentifierKeys.Append(person.Key).Distinct(StringComparer.Ordinal).ToList();
            // An identifier belongs to one person: take it away from anyone else first.
            await c.Persons.UpdateManyAsync(session, Builders<PersonDocument>.Filter.AnyIn(d => d.Ids, document.Ids) & Builders<PersonDocument>.Filter.Ne(d => d.Key, person.Key),
                Builders<PersonDocument>.Update.PullAll(d => d.Ids, document.Ids), cancellationToken: cancellationToken);
            await c.Persons.ReplaceOneAsync(session, d => d.Key == person.Key, document, new ReplaceOptions { IsUpsert = true }, cancellationToken);
        }

        public Task<IReadOnlyDictionary<string, DateTimeOffset>> FindErasedAsync(IReadOnlyList<string> tombstoneKeys, CancellationToken cancellationToken) =>
            MongoErasureTombstones.FindAsync(session, c.Database, tombstoneKeys, cancellationToken);

        public Task RememberErasureAsync(IReadOnlyList<ErasureTombstone> tombstones, DateTimeOffset now, CancellationToken cancellationToken) =>
            MongoErasureTombstones.RememberAsync(session, c.Database, tombstones, cancellationToken);

        public async Task<long> DeletePersonAsync(string personKey, CancellationToken cancellationToken)
        {
            long count = (await c.Persons.DeleteManyAsync(session, d => d.Key == personKey, cancellationToken: cancellationToken)).DeletedCount;
            count += (await c.Recommendations.DeleteManyAsync(session, new BsonDocument("person", personKey), cancellationToken: cancellationToken)).DeletedCount;
            count += (await c.Impressions.DeleteManyAsync(session, new BsonDocument("person", personKey), cancellationToken: cancellationToken)).DeletedCount;
            return count;
        }

        public async Task RekeyAsync(string fromKey, string toKey, CancellationToken cancellationToken)
        {
            await c.Recommendations.UpdateManyAsync(session, new BsonDocument("person", fromKey), new BsonDocument("$set", new BsonDocument("person", toKey)), cancellationToken: cancellationToken);
            foreach (var row in await c.Impressions.Find(session, new BsonDocument("person", fromKey)).ToListAsync(cancellationToken))
            {
                await AddImpressionsAsync(toKey, row["content"].AsString, row["day"].ToInt32(), row["count"].ToInt32(), cancellationToken);
            }

            await c.Impressions.DeleteManyAsync(session, new BsonDocument("person", fromKey), cancellationToken: cancellationToken);
        }

        public Task<TouchpointState?> GetTouchpointAsync(string id, CancellationToken cancellationToken) =>
            ReadTouchpointAsync(c, session, id, cancellationToken);

        public Task SaveTouchpointAsync(TouchpointState touchpoint, CancellationToken cancellationToken) =>
            c.Touchpoints.ReplaceOneAsync(session, new BsonDocument("_id", touchpoint.Id), new BsonDocument
            {
                ["_id"] = touchpoint.Id,
                ["channel"] = (int)touchpoint.Channel,
                ["stages"] = new BsonArray(touchpoint.Stages.Select(s => (int)s)),
                ["retired"] = touchpoint.Retired,
                ["version"] = touchpoint.Version,
            }, new ReplaceOptions { IsUpsert = true }, cancellationToken);

        public Task AddImpressionAsync(string personKey, string contentId, DateOnly day, CancellationToken cancellationToken) =>
            AddImpressionsAsync(personKey, contentId, day.DayNumber, 1, cancellationToken);

        public Task AddItemStatsAsync(ItemStats delta, CancellationToken cancellationToken)
        {
            var key = CounterPipelines.ItemKey(delta.ContentId, (int)delta.Stage);
            return c.ItemStats.UpdateOneAsync(session, new BsonDocument("_id", MongoCounterShards.Id(key, MongoCounterShards.Pick())), new BsonDocument
            {
                ["$setOnInsert"] = new BsonDocument { ["key"] = key, ["content"] = delta.ContentId, ["stage"] = (int)delta.Stage },
                ["$inc"] = new BsonDocument { ["impressions"] = delta.Impressions, ["clicks"] = delta.Clicks, ["conversions"] = delta.Conversions },
                ["$currentDate"] = new BsonDocument("updated", new BsonDocument("$type", "date")),
            }, Upsert, cancellationToken);
        }

        public Task AddVariantCountsAsync(string experimentId, VariantCounts delta, CancellationToken cancellationToken) =>
            c.VariantCounts.UpdateOneAsync(session, new BsonDocument("_id", MongoCounterShards.Id(CounterPipelines.VariantKey(experimentId, delta.Variant), MongoCounterShards.Pick())), new BsonDocument
            {
                ["$setOnInsert"] = new BsonDocument { ["experiment"] = experimentId, ["variant"] = delta.Variant },
                ["$inc"] = new BsonDocument { ["recommendations"] = delta.Recommendations, ["impressions"] = delta.Impressions, ["clicks"] = delta.Clicks, ["conversions"] = delta.Conversions },
            }, Upsert, cancellationToken);

        public Task AddCoConsumptionAsync(string a, string b, CancellationToken cancellationToken) =>
            // A popular pair is written by every replica's handler at once: a sharded counter, so their transactions rarely abort each other.
            c.CoConsumption.UpdateOneAsync(session, new BsonDocument("_id", MongoCounterShards.Id(CounterPipelines.PairKey(a, b), MongoCounterShards.Pick())), new BsonDocument
            {
                ["$setOnInsert"] = new BsonDocument { ["a"] = a, ["b"] = b },
                ["$inc"] = new BsonDocument("count", 1L),
            }, Upsert, cancellationToken);

        public Task AppendOutboxAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken) =>
            MongoOutbox.AppendAsync(session, c.Database, messages, cancellationToken);

        private Task<UpdateResult> AddImpressionsAsync(string personKey, string contentId, int day, int count, CancellationToken cancellationToken) =>
            c.Impressions.UpdateOneAsync(session, new BsonDocument("_id", $"{personKey}|{day}|{contentId}"), new BsonDocument
            {
                ["$setOnInsert"] = new BsonDocument { ["person"] = personKey, ["day"] = day, ["content"] = contentId, ["day_start"] = DateOnly.FromDayNumber(day).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) },
                ["$inc"] = new BsonDocument("count", count),
            }, Upsert, cancellationToken);

        public static async Task<TouchpointState?> ReadTouchpointAsync(Collections c, IClientSessionHandle? session, string id, CancellationToken cancellationToken)
        {
            var filter = new BsonDocument("_id", id);
            var d = await (session is null ? c.Touchpoints.Find(filter) : c.Touchpoints.Find(session, filter)).FirstOrDefaultAsync(cancellationToken);
            return d is null
                ? null
                : new TouchpointState(id, (ChannelKind)d["channel"].ToInt32(), d["stages"].AsBsonArray.Select(s => (Stage)s.ToInt32()).ToList(), d["retired"].AsBoolean, d["version"].ToInt64());
        }

        public static async Task<PersonState?> ReadPersonAsync(Collections c, IClientSessionHandle? session, IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken)
        {
            foreach (var key in identifierKeys)
            {
                var filter = Builders<PersonDocument>.Filter.AnyEq(d => d.Ids, key);
                var d = await (session is null ? c.Persons.Find(filter) : c.Persons.Find(session, filter)).FirstOrDefaultAsync(cancellationToken);
                if (d is not null)
                {
                    return d.ToDomain();
                }
            }

            return null;
        }
    }
}
