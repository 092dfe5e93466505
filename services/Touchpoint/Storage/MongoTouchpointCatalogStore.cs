using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;

namespace Journey.Touchpoint.Storage;

/// <summary>The catalog in MongoDB; listing walks the index of its most selective filter in id order.</summary>
internal sealed class MongoTouchpointCatalogStore : ITouchpointCatalogStore
{
    private const string CollectionName = "touchpoints";

    private readonly MongoStore _store;
    private readonly IMongoCollection<TouchpointDocument> _collection;

    public MongoTouchpointCatalogStore([FromKeyedServices(TouchpointModule.Name)] MongoStore store)
    {
        _store = store;
        _collection = store.Database.GetCollection<TouchpointDocument>(CollectionName);
        store.Indexes.Declare(Indexes);
    }

    /// <summary>One index per list filter, each ending in the id the listing pages by.</summary>
    internal static IReadOnlyList<MongoIndex> Indexes { get; } =
    [
        new(CollectionName, new BsonDocument { ["stages"] = 1, ["_id"] = 1 }),
        new(CollectionName, new BsonDocument { ["channel"] = 1, ["_id"] = 1 }),
        new(CollectionName, new BsonDocument { ["ownership"] = 1, ["_id"] = 1 }),
    ];

    public async Task CreateAsync(TouchpointDefinition touchpoint, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteAsync(async (session, ct) =>
            {
                await _collection.InsertOneAsync(session, ToDocument(touchpoint), cancellationToken: ct);
                await MongoOutbox.AppendAsync(session, _store.Database, events, ct);
                return 0;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new AlreadyExistsException("Touchpoint", touchpoint.Name);
        }
    }

    public Task<TouchpointDefinition?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.FindOneAsync(_collection, Builders<TouchpointDocument>.Filter.Where(d => d.Id == id), FromDocument, cancellationToken);

    public Task<IReadOnlyDictionary<string, TouchpointDefinition>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyDictionary<string, TouchpointDefinition>>(async (_, ct) =>
        {
            var list = ids.ToList();
            var documents = await _collection.Find(d => list.Contains(d.Id)).ToListAsync(ct);
            return documents.Select(FromDocument).ToDictionary(t => t.Id, StringComparer.Ordinal);
        }, cancellationToken);

    public Task UpdateAsync(TouchpointDefinition touchpoint, long expectedVersion, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var result = await _collection.ReplaceOneAsync(session, d => d.Id == touchpoint.Id && d.Version == expectedVersion, ToDocument(touchpoint), cancellationToken: ct);
            if (result.MatchedCount == 0)
            {
                throw new ConcurrencyConflictException("Touchpoint", touchpoint.Name);
            }

            await MongoOutbox.AppendAsync(session, _store.Database, events, ct);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<TouchpointDefinition>> ListAsync(TouchpointFilter filter, string? afterId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TouchpointDefinition>>(async (_, ct) =>
        {
            var builder = Builders<TouchpointDocument>.Filter;
            var filters = new List<FilterDefinition<TouchpointDocument>> { builder.Gt(d => d.Id, afterId ?? "") };
            if (filter.Stage != JourneyStage.Unspecified)
            {
                filters.Add(builder.AnyEq(d => d.Stages, (int)filter.Stage));
            }

            if (filter.Channel != Channel.Unspecified)
            {
                filters.Add(builder.Eq(d => d.Channel, (int)filter.Channel));
            }

            if (filter.Ownership != Ownership.Unspecified)
            {
                filters.Add(builder.Eq(d => d.Ownership, (int)filter.Ownership));
            }

            if (filter.MinCriticality > 0)
            {
                filters.Add(builder.Gte(d => d.Criticality, filter.MinCriticality));
            }

            if (!filter.IncludeRetired)
            {
                filters.Add(builder.Eq(d => d.Retired, false));
            }

            var documents = await _collection.Find(builder.And(filters)).SortBy(d => d.Id).Limit(limit).ToListAsync(ct);
            return documents.Select(FromDocument).ToList();
        }, cancellationToken);

    private static TouchpointDocument ToDocument(TouchpointDefinition t) => new()
    {
        Id = t.Id,
        DisplayName = t.DisplayName,
        Channel = (int)t.Channel,
        Ownership = (int)t.Ownership,
        Stages = t.Stages.Select(s => (int)s).ToList(),
        Criticality = t.Criticality,
        Target = t.IntendedExperience.TargetSatisfaction,
        Statement = t.IntendedExperience.Statement,
        OwningTeam = t.OwningTeam,
        Topics = t.Topics.ToList(),
        Retired = t.Retired,
        Version = t.Version,
        CreatedAt = t.CreatedAt.UtcDateTime,
        UpdatedAt = t.UpdatedAt.UtcDateTime,
        RetiredAt = t.RetiredAt?.UtcDateTime,
    };

    private static TouchpointDefinition FromDocument(TouchpointDocument d) => new(
        d.Id, d.DisplayName, (Channel)d.Channel, (Ownership)d.Ownership, d.Stages.Select(s => (JourneyStage)s).ToList(), d.Criticality,
        new IntendedExperience(d.Target, d.Statement), d.OwningTeam, d.Topics, d.Retired, d.Version,
        new DateTimeOffset(d.CreatedAt, TimeSpan.Zero), new DateTimeOffset(d.UpdatedAt, TimeSpan.Zero),
        d.RetiredAt is { } retired ? new DateTimeOffset(retired, TimeSpan.Zero) : null);

    internal sealed class TouchpointDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        [BsonElement("display_name")]
        public string DisplayName { get; set; } = "";

        [BsonElement("channel")]
        public int Channel { get; set; }

        [BsonElement("ownership")]
        public int Ownership { get; set; }

        [BsonElement("stages")]
        public List<int> Stages { get; set; } = [];

        [BsonElement("criticality")]
        public int Criticality { get; set; }

        [BsonElement("target")]
        public double Target { get; set; }

        [BsonElement("statement")]
        public string Statement { get; set; } = "";

        [BsonElement("owning_team")]
        public string OwningTeam { get; set; } = "";

        [BsonElement("topics")]
        public List<string> Topics { get; set; } = [];

        [BsonElement("retired")]
        public bool Retired { get; set; }

        [BsonElement("version")]
        public long Version { get; set; }

        [BsonElement("created_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime CreatedAt { get; set; }

        [BsonElement("updated_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime UpdatedAt { get; set; }

        [BsonElement("retired_at")]
        [BsonDateTimeOptions(Kind = DateTimeKind.Utc)]
        public DateTime? RetiredAt { get; set; }
    }
}
