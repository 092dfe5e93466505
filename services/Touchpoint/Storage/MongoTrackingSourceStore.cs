using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// Tracking sources in MongoDB. A key's hash is the <c>_id</c> of its own document in
/// <c>tracking_keys</c>, written in the source's transaction, so two sources can never hold one key
/// and a key finds its source by the primary index (a unique multikey index would also refuse two
/// sources that both have no key).
/// </summary>
internal sealed class MongoTrackingSourceStore : ITrackingSourceStore
{
    private const string Sources = "tracking_sources";
    private const string Keys = "tracking_keys";
    private const string Issues = "tracking_issues";
    private const string Identities = "tracking_identities";

    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _sources;
    private readonly IMongoCollection<BsonDocument> _keys;
    private readonly IMongoCollection<BsonDocument> _issues;
    private readonly IMongoCollection<BsonDocument> _identities;

    public MongoTrackingSourceStore([FromKeyedServices(TouchpointModule.Name)] MongoStore store, IOptions<TouchpointOptions> options)
    {
        _store = store;
        _sources = store.Database.GetCollection<BsonDocument>(Sources);
        _keys = store.Database.GetCollection<BsonDocument>(Keys);
        _issues = store.Database.GetCollection<BsonDocument>(Issues);
        _identities = store.Database.GetCollection<BsonDocument>(Identities);
        store.Indexes.Declare(Indexes(options.Value.TrackingIdentityRetention));
    }

    /// <summary>
    /// The issue listing reads one source's counts, most seen first; identity claims expire through a
    /// TTL index on their claim time (<see cref="TouchpointOptions.TrackingIdentityRetention"/>).
    /// </summary>
    internal static IReadOnlyList<MongoIndex> Indexes(TimeSpan identityRetention) =>
    [
        new(Issues, new BsonDocument { ["source"] = 1, ["count"] = -1 }),
        new(Identities, new BsonDocument("claimed_at", 1)) { Name = "retention", ExpireAfter = identityRetention },
    ];

    public async Task CreateAsync(TrackingSource source, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteAsync(async (session, ct) =>
            {
                await _sources.InsertOneAsync(session, ToDocument(source), cancellationToken: ct);
                await InsertKeysAsync(session, source, ct);
                return 0;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new AlreadyExistsException("Source", source.Name);
        }
    }

    public Task<TrackingSource?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.FindOneAsync(_sources, new BsonDocument("_id", id), FromDocument, cancellationToken);

    public async Task<TrackingSource?> FindByKeyHashAsync(string hash, CancellationToken cancellationToken)
    {
        var key = await _store.ReadAsync(async (_, ct) => await _keys.Find(new BsonDocument("_id", hash)).FirstOrDefaultAsync(ct), cancellationToken);
        return key is null ? null : await GetAsync(key["source"].AsString, cancellationToken);
    }

    public async Task UpdateAsync(TrackingSource source, long expectedVersion, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteAsync(async (session, ct) =>
            {
                var filter = new BsonDocument { ["_id"] = source.Id, ["version"] = expectedVersion };
                var result = await _sources.ReplaceOneAsync(session, filter, ToDocument(source), cancellationToken: ct);
                if (result.MatchedCount == 0)
                {
                    throw new ConcurrencyConflictException("Source", source.Name);
                }

                await _keys.DeleteManyAsync(session, new BsonDocument("source", source.Id), cancellationToken: ct);
                await InsertKeysAsync(session, source, ct);
                return 0;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new AlreadyExistsException("Write key", source.Name);
        }
    }

    public Task<IReadOnlyList<TrackingSource>> ListAsync(string? afterId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TrackingSource>>(async (_, ct) =>
        {
            var documents = await _sources.Find(new BsonDocument("_id", new BsonDocument("$gt", afterId ?? "")))
                .Sort(new BsonDocument("_id", 1)).Limit(limit).ToListAsync(ct);
            return documents.Select(FromDocument).ToList();
        }, cancellationToken);

    public async Task CountIssuesAsync(string sourceId, IReadOnlyList<TrackingIssueKey> issues, DateTimeOffset at, int maxDistinct, CancellationToken cancellationToken)
    {
        var when = at.UtcDateTime;
        BsonDocument Update(TrackingIssueKey key, int count) => new()
        {
            ["$inc"] = new BsonDocument("count", (long)count),
            ["$min"] = new BsonDocument("first_at", when),
            ["$max"] = new BsonDocument("last_at", when),
            ["$setOnInsert"] = new BsonDocument { ["source"] = sourceId, ["kind"] = (int)key.Kind, ["name"] = key.Name, ["detail"] = key.Detail },
        };

        // Counters, not state: each update is atomic on its own and needs no transaction.
        await _store.ReadAsync(async (_, ct) =>
        {
            foreach (var group in issues.GroupBy(i => i))
            {
                var known = await _issues.UpdateOneAsync(new BsonDocument("_id", IssueId(sourceId, group.Key)), Update(group.Key, group.Count()), cancellationToken: ct);
                if (known.MatchedCount > 0)
                {
                    continue;
                }

                var distinct = await _issues.CountDocumentsAsync(new BsonDocument("source", sourceId), cancellationToken: ct);
                var key = distinct < maxDistinct ? group.Key : group.Key.Other;
                await _issues.UpdateOneAsync(new BsonDocument("_id", IssueId(sourceId, key)), Update(key, group.Count()), new UpdateOptions { IsUpsert = true }, ct);
            }

            return 0;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<TrackingIssue>> ListIssuesAsync(string sourceId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TrackingIssue>>(async (_, ct) =>
        {
            var documents = await _issues.Find(new BsonDocument("source", sourceId))
                .Sort(new BsonDocument { ["count"] = -1, ["kind"] = 1, ["name"] = 1, ["detail"] = 1 }).Limit(limit).ToListAsync(ct);
            return documents.Select(d => new TrackingIssue(
                new TrackingIssueKey((TrackingIssueKind)d["kind"].AsInt32, d["name"].AsString, d["detail"].AsString),
                d["count"].ToInt64(),
                new DateTimeOffset(d["first_at"].ToUniversalTime(), TimeSpan.Zero),
                new DateTimeOffset(d["last_at"].ToUniversalTime(), TimeSpan.Zero))).ToList();
        }, cancellationToken);

    public async Task<int> AppendIdentitiesAsync(string sourceId, IReadOnlyList<ObservedIdentity> identities, DateTimeOffset at, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _store.WriteAsync(async (session, ct) =>
                {
                    // Read the claims first: a duplicate key inside a transaction aborts all of it.
                    var ids = identities.Select(i => IdentityId(sourceId, i.MessageId)).Distinct().ToList();
                    var claimed = (await _identities.Find(session, new BsonDocument("_id", new BsonDocument("$in", new BsonArray(ids))))
                        .Project(new BsonDocument("_id", 1)).ToListAsync(ct)).Select(d => d["_id"].AsString).ToHashSet(StringComparer.Ordinal);
                    var fresh = new List<ObservedIdentity>();
                    foreach (var identity in identities)
                    {
                        if (claimed.Add(IdentityId(sourceId, identity.MessageId)))
                        {
                            fresh.Add(identity);
                        }
                    }

                    if (fresh.Count > 0)
                    {
                        await _identities.InsertManyAsync(session, fresh.Select(i => new BsonDocument { ["_id"] = IdentityId(sourceId, i.MessageId), ["source"] = sourceId, ["claimed_at"] = at.UtcDateTime }), cancellationToken: ct);
                        await MongoOutbox.AppendAsync(session, _store.Database, fresh.Select(i => i.Event).ToList(), ct);
                    }

                    return fresh.Count;
                }, cancellationToken);
            }
            catch (Exception ex) when (MongoStore.IsDuplicateKey(ex) && attempt < 3)
            {
                // A concurrent request claimed one of these ids between the read and the insert: read again.
            }
        }
    }

    /// <summary>The id of an issue's counter: its parts joined by a separator no name holds.</summary>
    internal static string IssueId(string sourceId, TrackingIssueKey key) => $"{sourceId}\u001f{(int)key.Kind}\u001f{key.Name}\u001f{key.Detail}";

    private static string IdentityId(string sourceId, string messageId) => $"{sourceId}\u001f{messageId}";

    private async Task InsertKeysAsync(IClientSessionHandle session, TrackingSource source, CancellationToken ct)
    {
        if (source.WriteKeys.Count > 0)
        {
            await _keys.InsertManyAsync(session, source.WriteKeys.Select(k => new BsonDocument { ["_id"] = k.Hash, ["source"] = source.Id }), cancellationToken: ct);
        }
    }

    private static BsonDocument ToDocument(TrackingSource source) => new()
    {
        ["_id"] = source.Id,
        ["version"] = source.Version,
        ["data"] = TrackingSourceDocument.Serialize(source),
    };

    private static TrackingSource FromDocument(BsonDocument document) => TrackingSourceDocument.Deserialize(document["data"].AsString);
}
