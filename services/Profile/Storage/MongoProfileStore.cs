using Journey.Profile.Domain;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson.Serialization.Attributes;
using MongoDB.Driver;

namespace Journey.Profile.Storage;

/// <summary>Profiles in MongoDB. A unique index on (identifiers.kind, identifiers.value) makes an identifier belong to one profile only.</summary>
internal sealed class MongoProfileStore : IProfileStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<ProfileDocument> _profiles;
    private readonly TimeProvider _time;

    public MongoProfileStore([FromKeyedServices(ProfileModule.Name)] MongoStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _profiles = store.Database.GetCollection<ProfileDocument>("profiles");
        _profiles.Indexes.CreateOne(new CreateIndexModel<ProfileDocument>(
            Builders<ProfileDocument>.IndexKeys.Ascending("identifiers.kind").Ascending("identifiers.value"),
            new CreateIndexOptions { Unique = true, Sparse = true }));
    }

    public Task<PersonProfile?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await _profiles.Find(d => d.Id == id).FirstOrDefaultAsync(ct))?.ToProfile(), cancellationToken);

    public Task<PersonProfile?> FindAsync(PersonIdentifier identifier, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await _profiles.Find(ByIdentifier(identifier)).FirstOrDefaultAsync(ct))?.ToProfile(), cancellationToken);

    public Task ApplyAsync(string consumer, IReadOnlyList<string> eventIds, Func<IProfileTransaction, IReadOnlySet<string>, Task> work, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            foreach (var eventId in eventIds)
            {
                if (await MongoInbox.TryClaimAsync(session, _store.Database, consumer, eventId, _time.GetUtcNow(), ct))
                {
                    fresh.Add(eventId);
                }
            }

            var unit = new Transaction(this, session, ct);
            await work(unit, fresh);
            await MongoOutbox.AppendAsync(session, _store.Database, unit.Outgoing, ct);
            return 0;
        }, cancellationToken);

    private static FilterDefinition<ProfileDocument> ByIdentifier(PersonIdentifier identifier) =>
        Builders<ProfileDocument>.Filter.ElemMatch(d => d.Identifiers, i => i.Kind == (int)identifier.Kind && i.Value == identifier.Value);

    private sealed class Transaction(MongoProfileStore owner, IClientSessionHandle session, CancellationToken cancellationToken) : IProfileTransaction
    {
        public List<OutboxMessage> Outgoing { get; } = [];

        public async Task<PersonProfile?> FindAsync(PersonIdentifier identifier) =>
            (await owner._profiles.Find(session, ByIdentifier(identifier)).FirstOrDefaultAsync(cancellationToken))?.ToProfile();

        public async Task SaveAsync(PersonProfile profile)
        {
            // Keep only identifiers no other profile holds, as the SQLite adapter's primary key does.
            var mine = new List<PersonIdentifier>();
            foreach (var identifier in profile.Identifiers)
            {
                var holder = await owner._profiles.Find(session, ByIdentifier(identifier)).Project(d => d.Id).FirstOrDefaultAsync(cancellationToken);
                if (holder is null || holder == profile.Id)
                {
                    mine.Add(identifier);
                }
            }

            await owner._profiles.ReplaceOneAsync(session, d => d.Id == profile.Id, ProfileDocument.From(profile with { Identifiers = mine }), new ReplaceOptions { IsUpsert = true }, cancellationToken);
        }

        public void Publish(OutboxMessage message) => Outgoing.Add(message);
    }

    internal sealed class ProfileDocument
    {
        [BsonId]
        public string Id { get; set; } = "";

        [BsonElement("identifiers")]
        public List<IdentifierDocument> Identifiers { get; set; } = [];

        public int Stage { get; set; }

        public long InteractionCount { get; set; }

        public DateTime FirstAt { get; set; }

        public DateTime LastAt { get; set; }

        public long Version { get; set; }

        public static ProfileDocument From(PersonProfile p) => new()
        {
            Id = p.Id,
            Identifiers = p.Identifiers.Select(i => new IdentifierDocument { Kind = (int)i.Kind, Value = i.Value }).ToList(),
            Stage = (int)p.Stage,
            InteractionCount = p.InteractionCount,
            FirstAt = p.FirstInteractionAt.UtcDateTime,
            LastAt = p.LastInteractionAt.UtcDateTime,
            Version = p.Version,
        };

        public PersonProfile ToProfile() => new(
            Id,
            Identifiers.Select(i => new PersonIdentifier((IdentifierKind)i.Kind, i.Value)).OrderBy(i => i.Kind).ThenBy(i => i.Value, StringComparer.Ordinal).ToList(),
            (JourneyStage)Stage,
            InteractionCount,
            new DateTimeOffset(DateTime.SpecifyKind(FirstAt, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(LastAt, DateTimeKind.Utc)),
            Version);
    }

    internal sealed class IdentifierDocument
    {
        [BsonElement("kind")]
        public int Kind { get; set; }

        [BsonElement("value")]
        public string Value { get; set; } = "";
    }
}
