using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Identity;
using Journey.Shared.Paging;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace Journey.Profile.Storage;

/// <summary>Collection names and indexes of the profile service's MongoDB database.</summary>
internal static class ProfileMongoSchema
{
    public const string Profiles = "profiles";
    public const string Identifiers = "identifiers";
    public const string Aliases = "profile_aliases";
    public const string Merges = "profile_merges";
    public const string Segments = "segments";
    public const string Members = "segment_members";

    /// <summary>
    /// The database's indexes. The unique (kind, value) index is what makes an identifier belong to
    /// one live profile; <c>merged_id</c> serves erasure, which removes the merges a profile took
    /// part in on either side.
    /// </summary>
    public static IReadOnlyList<MongoIndex> Indexes { get; } =
    [
        new(Identifiers, new BsonDocument { ["kind"] = 1, ["value"] = 1 }) { Unique = true },
        new(Identifiers, new BsonDocument("profile_id", 1)),
        new(Profiles, new BsonDocument("stage", 1)),
        new(Aliases, new BsonDocument("survivor_id", 1)),
        new(Merges, new BsonDocument { ["survivor_id"] = 1, ["seq"] = -1 }),
        new(Merges, new BsonDocument("merged_id", 1)),
        new(Members, new BsonDocument { ["segment_id"] = 1, ["profile_id"] = 1 }) { Unique = true },
        new(Members, new BsonDocument("profile_id", 1)),
        MongoErasureTombstones.Index,
    ];

    public static string IdentifierId(IdentifierKey key) => $"{(int)key.Kind}:{key.Value}";
}

/// <summary>Profiles in the service's MongoDB database; every write is one multi-document transaction.</summary>
internal sealed class MongoProfileStore : IProfileStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _profiles;
    private readonly IMongoCollection<BsonDocument> _identifiers;
    private readonly IMongoCollection<BsonDocument> _aliases;
    private readonly IMongoCollection<BsonDocument> _merges;
    private readonly IMongoCollection<BsonDocument> _members;

    public MongoProfileStore([FromKeyedServices(ProfileModule.Name)] MongoStore store)
    {
        _store = store;
        var db = store.Database;
        _profiles = db.GetCollection<BsonDocument>(ProfileMongoSchema.Profiles);
        _identifiers = db.GetCollection<BsonDocument>(ProfileMongoSchema.Identifiers);
        _aliases = db.GetCollection<BsonDocument>(ProfileMongoSchema.Aliases);
        _merges = db.GetCollection<BsonDocument>(ProfileMongoSchema.Merges);
        _members = db.GetCollection<BsonDocument>(ProfileMongoSchema.Members);
        store.Indexes.Declare(ProfileMongoSchema.Indexes);
    }

    public Task<IdentitySnapshot> LoadAsync(IReadOnlyCollection<IdentifierKey> identifiers, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var owners = new Dictionary<IdentifierKey, string>();
            if (identifiers.Count > 0)
            {
                var ids = identifiers.Select(ProfileMongoSchema.IdentifierId).ToList();
                var byId = identifiers.ToDictionary(ProfileMongoSchema.IdentifierId);
                foreach (var row in await _identifiers.Find(Builders<BsonDocument>.Filter.In("_id", ids)).ToListAsync(ct))
                {
                    owners[byId[row["_id"].AsString]] = row["profile_id"].AsString;
                }
            }

            var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
            if (profileIds.Count > 0)
            {
                foreach (var row in await _aliases.Find(Builders<BsonDocument>.Filter.In("_id", profileIds)).ToListAsync(ct))
                {
                    aliases[row["_id"].AsString] = row["survivor_id"].AsString;
                }
            }

            var wanted = owners.Values.Concat(profileIds.Select(id => aliases.GetValueOrDefault(id, id))).Distinct().ToList();
            return new IdentitySnapshot(owners, await ReadManyAsync(null, wanted, ct), aliases);
        }, cancellationToken);

    public Task<CustomerProfile?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var alias = await _aliases.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
            var target = alias?["survivor_id"].AsString ?? id;
            return (await ReadManyAsync(null, [target], ct)).FirstOrDefault();
        }, cancellationToken);

    public Task<CustomerProfile?> FindAsync(IdentifierKey identifier, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var row = await _identifiers.Find(new BsonDocument("_id", ProfileMongoSchema.IdentifierId(identifier))).FirstOrDefaultAsync(ct);
            return row is null ? null : (await ReadManyAsync(null, [row["profile_id"].AsString], ct)).FirstOrDefault();
        }, cancellationToken);

    public Task<IReadOnlyList<CustomerProfile>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<CustomerProfile>>(async (_, ct) => await ReadManyAsync(null, ids, ct), cancellationToken);

    public Task<IReadOnlyList<CustomerProfile>> ListAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<CustomerProfile>>(async (_, ct) =>
            (await _profiles.Find(new BsonDocument("_id", new BsonDocument("$gt", afterId))).Sort(new BsonDocument("_id", 1)).Limit(limit).ToListAsync(ct)).Select(ToDomain).ToList(), cancellationToken);

    public Task VisitAudienceAsync(string? segmentId, JourneyStage stage, Action<CustomerProfile> visit, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            if (segmentId is null)
            {
                var filter = stage == JourneyStage.Unspecified ? new BsonDocument() : new BsonDocument("stage", (int)stage);
                await _profiles.Find(filter).ForEachAsync(row => visit(ToDomain(row)), ct);
                return 0;
            }

            // Members stream from their index in batches; each batch's profiles are one $in read.
            const int Batch = 500;
            using var cursor = await _members.FindAsync(
                new BsonDocument("segment_id", segmentId),
                new FindOptions<BsonDocument, BsonDocument> { BatchSize = Batch, Projection = new BsonDocument { ["_id"] = 0, ["profile_id"] = 1 } },
                ct);
            while (await cursor.MoveNextAsync(ct))
            {
                var ids = cursor.Current.Select(m => m["profile_id"].AsString).ToList();
                if (ids.Count > 0)
                {
                    foreach (var profile in await ReadManyAsync(null, ids, ct))
                    {
                        visit(profile);
                    }
                }
            }

            return 0;
        }, cancellationToken);

    public Task SaveAsync(ProfileChangeSet changes, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            await MongoErasureTombstones.ThrowIfBlockedAsync(session, _store.Database, changes.ErasureChecks, ct);
            if (changes.Consumer is { } consumer)
            {
                foreach (var eventId in changes.EventIds)
                {
                    if (!await MongoInbox.TryClaimAsync(session, _store.Database, consumer, eventId, DateTimeOffset.UtcNow, ct))
                    {
                        throw new ConcurrencyConflictException("Event", eventId);
                    }
                }
            }

            var mergedAliases = new Dictionary<string, BsonArray>(StringComparer.Ordinal);
            foreach (var merged in changes.Merged)
            {
                mergedAliases[merged.Id] = new BsonArray((await _aliases.Find(session, new BsonDocument("survivor_id", merged.Id)).Sort(new BsonDocument("_id", 1)).ToListAsync(ct)).Select(d => d["_id"]));
                if (merged.ExpectedVersion > 0)
                {
                    var deleted = await _profiles.DeleteOneAsync(session, new BsonDocument { ["_id"] = merged.Id, ["version"] = merged.ExpectedVersion }, cancellationToken: ct);
                    if (deleted.DeletedCount != 1)
                    {
                        throw new ConcurrencyConflictException("Profile", "profiles/" + merged.Id);
                    }

                    await _members.DeleteManyAsync(session, new BsonDocument("profile_id", merged.Id), cancellationToken: ct);
                }

                await _aliases.UpdateManyAsync(session, new BsonDocument("survivor_id", merged.Id), new BsonDocument("$set", new BsonDocument("survivor_id", merged.SurvivorId)), cancellationToken: ct);
                await _merges.UpdateManyAsync(session, new BsonDocument("survivor_id", merged.Id), new BsonDocument("$set", new BsonDocument("survivor_id", merged.SurvivorId)), cancellationToken: ct);
                await _aliases.ReplaceOneAsync(session, new BsonDocument("_id", merged.Id), new BsonDocument { ["_id"] = merged.Id, ["survivor_id"] = merged.SurvivorId }, new ReplaceOptions { IsUpsert = true }, ct);
            }

            foreach (var split in changes.Splits)
            {
                await SplitAsync(session, split, ct);
            }

            await SaveProfilesAsync(session, changes.Saved, ct);
            foreach (var release in changes.Releases)
            {
                var result = await _identifiers.DeleteOneAsync(session, new BsonDocument { ["_id"] = ProfileMongoSchema.IdentifierId(release.Key), ["profile_id"] = release.Owner }, cancellationToken: ct);
                if (result.DeletedCount != 1)
                {
                    throw new ConcurrencyConflictException("Identifier", release.Key.Kind.ToString());
                }
            }

            foreach (var claim in changes.Claims)
            {
                var id = ProfileMongoSchema.IdentifierId(claim.Key);
                if (claim.PreviousOwner is { } previous)
                {
                    var result = await _identifiers.UpdateOneAsync(session, new BsonDocument { ["_id"] = id, ["profile_id"] = previous }, new BsonDocument("$set", new BsonDocument("profile_id", claim.ProfileId)), cancellationToken: ct);
                    if (result.ModifiedCount != 1)
                    {
                        throw new ConcurrencyConflictException("Identifier", claim.Key.Kind.ToString());
                    }

                    continue;
                }

                try
                {
                    await _identifiers.InsertOneAsync(session, new BsonDocument { ["_id"] = id, ["kind"] = (int)claim.Key.Kind, ["value"] = claim.Key.Value, ["profile_id"] = claim.ProfileId }, cancellationToken: ct);
                }
                catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
                {
                    throw new AlreadyExistsException("Identifier", claim.Key.Kind.ToString());
                }
            }

            if (changes.Merges.Count > 0)
            {
                await _merges.InsertManyAsync(session, changes.Merges.Select(m => (Merge: m, Seq: TimeOrderedIds.Next(m.MergedAt).ToString("N"))).Select(x => new BsonDocument
                {
                    ["_id"] = x.Seq,
                    ["seq"] = x.Seq,
                    ["survivor_id"] = x.Merge.SurvivorId,
                    ["merged_id"] = x.Merge.MergedId,
                    ["linked_by"] = (int)x.Merge.LinkedBy,
                    ["merged_at"] = x.Merge.MergedAt.ToUnixTimeMilliseconds(),
                    ["moved"] = SqliteProfileStore.SerializeKeys(x.Merge.MovedIdentifiers),
                    ["undo"] = MergeUndoDocument.ToJson(x.Merge.Undo) is { } undo ? undo : BsonNull.Value,
                    ["merged_aliases"] = mergedAliases.GetValueOrDefault(x.Merge.MergedId) ?? [],
                    ["split_at"] = BsonNull.Value,
                }), cancellationToken: ct);
            }

            foreach (var membership in changes.Memberships)
            {
                var filter = new BsonDocument { ["segment_id"] = membership.SegmentId, ["profile_id"] = membership.ProfileId };
                if (membership.Entered)
                {
                    await _members.ReplaceOneAsync(session, filter, filter, new ReplaceOptions { IsUpsert = true }, ct);
                }
                else
                {
                    await _members.DeleteOneAsync(session, filter, cancellationToken: ct);
                }
            }

            await MongoOutbox.AppendAsync(session, _store.Database, changes.Outbox, ct);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlySet<string>> UnclaimedAsync(string consumer, IReadOnlyList<string> eventIds, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlySet<string>>(async (db, ct) =>
        {
            var ids = eventIds.Select(e => $"{consumer}/{e}").ToList();
            var seen = (await db.GetCollection<BsonDocument>(MongoInbox.CollectionName).Find(Builders<BsonDocument>.Filter.In("_id", ids)).ToListAsync(ct))
                .Select(d => d["_id"].AsString[(consumer.Length + 1)..]).ToHashSet(StringComparer.Ordinal);
            return eventIds.Where(e => !seen.Contains(e)).ToHashSet(StringComparer.Ordinal);
        }, cancellationToken);

    public Task<Page<ProfileMerge>> ListMergesAsync(string survivorId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var before = PageTokens.Decode(pageToken);
        return _store.ReadAsync(async (_, ct) =>
        {
            // A null split_at matches edges written before splits were recorded, which lack the field.
            var filter = new BsonDocument { ["survivor_id"] = survivorId, ["split_at"] = BsonNull.Value };
            if (before.Length > 0)
            {
                filter["seq"] = new BsonDocument("$lt", before);
            }

            var rows = await _merges.Find(filter).Sort(new BsonDocument("seq", -1)).Limit(pageSize + 1).ToListAsync(ct);
            var page = rows.Take(pageSize).ToList();
            return new Page<ProfileMerge>(
                page.Select(r => new ProfileMerge(r["survivor_id"].AsString, r["merged_id"].AsString, (IdentifierKind)r["linked_by"].AsInt32, ProfileDocument.Time(r["merged_at"].ToInt64()), SqliteProfileStore.DeserializeKeys(r["moved"].AsString))).ToList(),
                rows.Count > pageSize ? PageTokens.Encode(page[^1]["seq"].AsString) : "");
        }, cancellationToken);
    }

    public Task<MergeEdge?> LatestMergeAsync(string survivorId, CancellationToken cancellationToken) =>
        ReadEdgeAsync("survivor_id", survivorId, cancellationToken);

    public Task<bool> ErasedAsync(string tombstoneKey, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (db, ct) => (await MongoErasureTombstones.FindAsync(null, db, [tombstoneKey], ct)).Count > 0, cancellationToken);

    public Task<MergeEdge?> MergeOfAsync(string mergedId, CancellationToken cancellationToken) =>
        ReadEdgeAsync("merged_id", mergedId, cancellationToken);

    private Task<MergeEdge?> ReadEdgeAsync(string field, string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            // {survivor_id: 1, seq: -1} serves the survivor's newest; {merged_id: 1} finds a merged profile's few edges.
            var row = await _merges.Find(new BsonDocument { [field] = id, ["split_at"] = BsonNull.Value }).Sort(new BsonDocument("seq", -1)).Limit(1).FirstOrDefaultAsync(ct);
            if (row is null)
            {
                return null;
            }

            var merged = row["merged_id"].AsString;
            var undo = row.GetValue("undo", BsonNull.Value);
            var merge = new ProfileMerge(row["survivor_id"].AsString, merged, (IdentifierKind)row["linked_by"].AsInt32, ProfileDocument.Time(row["merged_at"].ToInt64()), SqliteProfileStore.DeserializeKeys(row["moved"].AsString))
            {
                Undo = MergeUndoDocument.FromJson(undo.IsString ? undo.AsString : null, merged),
            };
            var aliases = row.GetValue("merged_aliases", new BsonArray()).AsBsonArray.Select(a => a.AsString).ToList();
            return (MergeEdge?)new MergeEdge(merge, aliases);
        }, cancellationToken);

    /// <summary>Marks the newest edge of the pair split, drops its undo data, and re-points the restored profile's aliases and their edges back to it.</summary>
    private async Task SplitAsync(IClientSessionHandle session, ProfileSplitRecord split, CancellationToken ct)
    {
        var edge = await _merges.Find(session, new BsonDocument { ["survivor_id"] = split.SurvivorId, ["merged_id"] = split.RestoredId, ["split_at"] = BsonNull.Value })
            .Sort(new BsonDocument("seq", -1)).Limit(1).FirstOrDefaultAsync(ct);
        var marked = edge is null ? null : await _merges.UpdateOneAsync(
            session,
            new BsonDocument { ["_id"] = edge["_id"], ["split_at"] = BsonNull.Value },
            new BsonDocument("$set", new BsonDocument { ["split_at"] = split.SplitAt.ToUnixTimeMilliseconds(), ["undo"] = BsonNull.Value }),
            cancellationToken: ct);
        if (marked?.ModifiedCount != 1)
        {
            throw new ConcurrencyConflictException("Merge", "profiles/" + split.RestoredId);
        }

        var aliases = new BsonArray(split.RestoredAliases);
        await _aliases.DeleteOneAsync(session, new BsonDocument("_id", split.RestoredId), cancellationToken: ct);
        await _aliases.UpdateManyAsync(session, new BsonDocument { ["survivor_id"] = split.SurvivorId, ["_id"] = new BsonDocument("$in", aliases) }, new BsonDocument("$set", new BsonDocument("survivor_id", split.RestoredId)), cancellationToken: ct);
        await _merges.UpdateManyAsync(session, new BsonDocument { ["survivor_id"] = split.SurvivorId, ["merged_id"] = new BsonDocument("$in", aliases) }, new BsonDocument("$set", new BsonDocument("survivor_id", split.RestoredId)), cancellationToken: ct);
    }

    public Task<IReadOnlyList<string>> AliasesOfAsync(string survivorId, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<string>>(async (_, ct) =>
            (await _aliases.Find(new BsonDocument("survivor_id", survivorId)).Sort(new BsonDocument("_id", 1)).ToListAsync(ct)).Select(d => d["_id"].AsString).ToList(), cancellationToken);

    public Task<long> EraseAsync(ProfileErasure erasure, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            if (erasure.Consumer is { } consumer && erasure.EventId is { } eventId
                && !await MongoInbox.TryClaimAsync(session, _store.Database, consumer, eventId, DateTimeOffset.UtcNow, ct))
            {
                throw new ConcurrencyConflictException("Event", eventId);
            }

            long erased = 0;
            foreach (var id in erasure.ProfileIds)
            {
                erased += (await _identifiers.DeleteManyAsync(session, new BsonDocument("profile_id", id), cancellationToken: ct)).DeletedCount;
                erased += (await _aliases.DeleteManyAsync(session, new BsonDocument("survivor_id", id), cancellationToken: ct)).DeletedCount;
                erased += (await _merges.DeleteManyAsync(session, new BsonDocument("$or", new BsonArray { new BsonDocument("survivor_id", id), new BsonDocument("merged_id", id) }), cancellationToken: ct)).DeletedCount;
                erased += (await _members.DeleteManyAsync(session, new BsonDocument("profile_id", id), cancellationToken: ct)).DeletedCount;
                erased += (await _profiles.DeleteOneAsync(session, new BsonDocument("_id", id), cancellationToken: ct)).DeletedCount;
            }

            await MongoErasureTombstones.RememberAsync(session, _store.Database, erasure.Tombstones, ct);
            await SaveProfilesAsync(session, erasure.CleanedProfiles, ct);
            await MongoOutbox.AppendAsync(session, _store.Database, [.. erasure.Outbox, erasure.Completion(erased)], ct);
            return erased;
        }, cancellationToken);

    private async Task SaveProfilesAsync(IClientSessionHandle session, IReadOnlyList<SavedProfile> saved, CancellationToken ct)
    {
        foreach (var (profile, expected) in saved)
        {
            var document = new BsonDocument
            {
                ["_id"] = profile.Id,
                ["version"] = profile.Version,
                ["stage"] = (int)profile.Stage,
                ["doc"] = ProfileDocument.From(profile).ToBsonDocument(),
            };
            if (expected == 0)
            {
                try
                {
                    await _profiles.InsertOneAsync(session, document, cancellationToken: ct);
                }
                catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
                {
                    throw new ConcurrencyConflictException("Profile", "profiles/" + profile.Id);
                }

                continue;
            }

            var result = await _profiles.ReplaceOneAsync(session, new BsonDocument { ["_id"] = profile.Id, ["version"] = expected }, document, cancellationToken: ct);
            if (result.MatchedCount != 1)
            {
                throw new ConcurrencyConflictException("Profile", "profiles/" + profile.Id);
            }
        }
    }

    private async Task<List<CustomerProfile>> ReadManyAsync(IClientSessionHandle? session, IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var filter = Builders<BsonDocument>.Filter.In("_id", ids);
        var rows = session is null ? await _profiles.Find(filter).ToListAsync(ct) : await _profiles.Find(session, filter).ToListAsync(ct);
        return rows.Select(ToDomain).ToList();
    }

    private static CustomerProfile ToDomain(BsonDocument row) =>
        BsonSerializer.Deserialize<ProfileDocument>(row["doc"].AsBsonDocument).ToDomain(row["_id"].AsString, row["version"].ToInt64());
}
