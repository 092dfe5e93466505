using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;

namespace Journey.Touchpoint.Storage;

/// <summary>The catalog in MongoDB: one document per touchpoint, indexed for every list filter.</summary>
internal sealed class MongoTouchpointStore : ITouchpointStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<TouchpointDocument> _touchpoints;

    public MongoTouchpointStore([FromKeyedServices(TouchpointModule.Name)] MongoStore store)
    {
        _store = store;
        _touchpoints = store.Database.GetCollection<TouchpointDocument>("touchpoints");
        var keys = Builders<TouchpointDocument>.IndexKeys;
        _touchpoints.Indexes.CreateMany(
        [
            new CreateIndexModel<TouchpointDocument>(keys.Ascending(d => d.Channel).Ascending(d => d.Id)),
            new CreateIndexModel<TouchpointDocument>(keys.Ascending(d => d.Ownership).Ascending(d => d.Id)),
            new CreateIndexModel<TouchpointDocument>(keys.Ascending(d => d.Stages).Ascending(d => d.Id)),
        ]);
    }

    public Task InsertAsync(TouchpointEntry entry, OutboxMessage changed, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            if (await _touchpoints.Find(session, d => d.Id == entry.Id).AnyAsync(ct))
            {
                throw new AlreadyExistsException("Touchpoint", $"touchpoints/{entry.Id}");
            }

            await _touchpoints.InsertOneAsync(session, TouchpointDocument.From(entry), cancellationToken: ct);
            await MongoOutbox.AppendAsync(session, _store.Database, [changed], ct);
            return 0;
        }, cancellationToken);

    public Task UpdateAsync(TouchpointEntry entry, long expectedVersion, OutboxMessage changed, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var result = await _touchpoints.ReplaceOneAsync(session, d => d.Id == entry.Id && d.Version == expectedVersion, TouchpointDocument.From(entry), cancellationToken: ct);
            if (result.MatchedCount == 0)
            {
                throw new ConcurrencyConflictException("Touchpoint", $"touchpoints/{entry.Id}");
            }

            await MongoOutbox.AppendAsync(session, _store.Database, [changed], ct);
            return 0;
        }, cancellationToken);

    public Task<TouchpointEntry?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await _touchpoints.Find(d => d.Id == id).FirstOrDefaultAsync(ct))?.ToEntry(), cancellationToken);

    public Task<Page<TouchpointEntry>> ListAsync(TouchpointFilter filter, string? afterId, int max, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var f = Builders<TouchpointDocument>.Filter;
            var query = f.Gt(d => d.Id, afterId ?? "");
            if (filter.Channel is { } channel)
            {
                query &= f.Eq(d => d.Channel, (int)channel);
            }

            if (filter.Ownership is { } ownership)
            {
                query &= f.Eq(d => d.Ownership, (int)ownership);
            }

            if (filter.Stage is { } stage)
            {
                query &= f.AnyEq(d => d.Stages, (int)stage);
            }

            if (filter.MinCriticality > 0)
            {
                query &= f.Gte(d => d.Criticality, filter.MinCriticality);
            }

            if (!filter.IncludeRetired)
            {
                query &= f.Eq(d => d.Retired, false);
            }

            var documents = await _touchpoints.Find(query).SortBy(d => d.Id).Limit(max + 1).ToListAsync(ct);
            var items = documents.Select(d => d.ToEntry()).ToList();
            return items.Count > max ? new Page<TouchpointEntry>(items[..max], items[max - 1].Id) : new Page<TouchpointEntry>(items, null);
        }, cancellationToken);

    internal sealed class TouchpointDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        public string DisplayName { get; set; } = "";

        public int Channel { get; set; }

        public int Ownership { get; set; }

        public List<int> Stages { get; set; } = [];

        public int Criticality { get; set; }

        public double TargetRating { get; set; }

        public string Statement { get; set; } = "";

        public string OwningTeam { get; set; } = "";

        public List<string> Topics { get; set; } = [];

        public bool Retired { get; set; }

        public long Version { get; set; }

        public DateTime CreatedAt { get; set; }

        public DateTime UpdatedAt { get; set; }

        public static TouchpointDocument From(TouchpointEntry e) => new()
        {
            Id = e.Id,
            DisplayName = e.DisplayName,
            Channel = (int)e.Channel,
            Ownership = (int)e.Ownership,
            Stages = e.Stages.Select(s => (int)s).ToList(),
            Criticality = e.Criticality,
            TargetRating = e.IntendedExperience.TargetRating,
            Statement = e.IntendedExperience.Statement,
            OwningTeam = e.OwningTeam,
            Topics = e.Topics.ToList(),
            Retired = e.Retired,
            Version = e.Version,
            CreatedAt = e.CreatedAt.UtcDateTime,
            UpdatedAt = e.UpdatedAt.UtcDateTime,
        };

        public TouchpointEntry ToEntry() => new(
            Id, DisplayName, (Domain.Channel)Channel, (Domain.Ownership)Ownership, Stages.Select(s => (JourneyStage)s).ToList(), Criticality,
            new IntendedExperience(TargetRating, Statement), OwningTeam, Topics, Retired, Version,
            new DateTimeOffset(DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc)), new DateTimeOffset(DateTime.SpecifyKind(UpdatedAt, DateTimeKind.Utc)));
    }
}

/// <summary>Interactions in MongoDB: keyed by the sender's id, so a repeat is found by the primary index.</summary>
internal sealed class MongoInteractionStore : IInteractionStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<InteractionDocument> _interactions;

    public MongoInteractionStore([FromKeyedServices(TouchpointModule.Name)] MongoStore store, IngestRules rules)
    {
        _store = store;
        _interactions = store.Database.GetCollection<InteractionDocument>("interactions");
        // MongoDB removes expired interactions itself; the sweep only catches up after a retention change.
        _interactions.Indexes.CreateOne(new CreateIndexModel<InteractionDocument>(
            Builders<InteractionDocument>.IndexKeys.Ascending(d => d.OccurredAt),
            new CreateIndexOptions { ExpireAfter = rules.Retention, Name = "interactions_retention" }));
    }

    public Task<IReadOnlySet<string>> AppendAsync(IReadOnlyList<(Interaction Interaction, OutboxMessage Recorded)> interactions, CancellationToken cancellationToken) =>
        _store.WriteAsync<IReadOnlySet<string>>(async (session, ct) =>
        {
            var ids = interactions.Select(i => i.Interaction.InteractionId).ToList();
            // Read first: a duplicate-key error would abort the whole transaction.
            var existing = (await _interactions.Find(session, d => ids.Contains(d.Id)).Project(d => d.Id).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
            var fresh = interactions.Where(i => !existing.Contains(i.Interaction.InteractionId)).ToList();
            if (fresh.Count > 0)
            {
                await _interactions.InsertManyAsync(session, fresh.Select(i => InteractionDocument.From(i.Interaction)), cancellationToken: ct);
                await MongoOutbox.AppendAsync(session, _store.Database, fresh.Select(i => i.Recorded).ToList(), ct);
            }

            return existing;
        }, cancellationToken);

    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var ids = await _interactions.Find(d => d.OccurredAt < cutoff.UtcDateTime).SortBy(d => d.OccurredAt).Limit(max).Project(d => d.Id).ToListAsync(ct);
            var result = await _interactions.DeleteManyAsync(d => ids.Contains(d.Id), ct);
            return (int)result.DeletedCount;
        }, cancellationToken);

    public Task<long> CountAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync((_, ct) => _interactions.CountDocumentsAsync(FilterDefinition<InteractionDocument>.Empty, cancellationToken: ct), cancellationToken);

    internal sealed class InteractionDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        public string Touchpoint { get; set; } = "";

        public DateTime OccurredAt { get; set; }

        public int Type { get; set; }

        public string Body { get; set; } = "";

        public static InteractionDocument From(Interaction interaction) => new()
        {
            Id = interaction.InteractionId,
            Touchpoint = interaction.TouchpointId,
            OccurredAt = interaction.OccurredAt!.Value.UtcDateTime,
            Type = (int)interaction.Type,
            Body = System.Text.Json.JsonSerializer.Serialize(InteractionBody.From(interaction)),
        };
    }
}
