using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The interaction log in MongoDB: the same tables as SQLite as collections, one multi-document
/// transaction per batch. Raw interactions expire through a TTL index on their time; the aggregates
/// and the event-id claims (pruned by a TTL index on their day) are separate collections. No batch
/// writes a document every batch writes: people get ObjectIds rather than numbers from a counter,
/// interactions keys from <see cref="InteractionKeys"/>, and a touchpoint's day counts are sharded
/// (<see cref="MongoCounterShards"/>): two concurrent batches abort one another (and the driver runs
/// the loser again) only over a person both write or when both picked the same counter shard.
/// </summary>
internal sealed class MongoInteractionLog : IInteractionLog
{
    internal const string Interactions = "interactions";
    internal const string InteractionIds = "interaction_ids";
    internal const string PersonLinks = "person_links";
    internal const string PersonState = "person_state";
    internal const string ProfilePersons = "profile_persons";
    internal const string PersonProfile = "person_profile";
    internal const string PersonOverlaps = "person_overlaps";
    internal const string Profiles = "profiles";
    internal const string TouchpointDays = "touchpoint_days";
    internal const string TouchpointDayPeople = "touchpoint_day_people";
    internal const string PersonStageDays = "person_stage_days";
    internal const string PersonTouchpoints = "person_touchpoints";
    internal const string Purchases = "purchases";
    private const string Consumer = "touchpoint";

    /// <summary>On a <c>profile_persons</c> link: the merged profile whose merge added it; absent on links from before it was kept.</summary>
    private const string MergedProfile = "merged_profile";

    /// <summary>How often a batch is written again after a unique key refused it.</summary>
    private const int DuplicateKeyAttempts = 3;

    /// <summary>The snapshot time of a profile known only from a merge: any snapshot is newer.</summary>
    private static readonly long NeverUpdated = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();

    /// <summary>
    /// 1,000 interactions and 4 MiB of messages: MongoDB aborts a transaction whose changes outgrow
    /// about 15 % of its cache (TransactionTooLargeForCache, not retryable), 37 MB of the smallest
    /// 0.25 GB cache, and each interaction writes its document, its event, its claim and its aggregates,
    /// about three times its size (docs/adr/0015-transaction-sizes-per-store.md).
    /// </summary>
    internal static readonly TransactionBudget Budget = new(1000, 4 * 1024 * 1024);

    private readonly MongoStore _store;
    private readonly IMongoDatabase _db;

    public MongoInteractionLog([FromKeyedServices(TouchpointModule.Name)] MongoStore store, IOptions<TouchpointOptions> options)
    {
        _store = store;
        _db = store.Database;
        store.Indexes.Declare(Indexes(options.Value.Retention));
    }

    public TransactionBudget TransactionBudget => Budget;

    /// <summary>
    /// The log's indexes. Raw interactions and their event-id claims expire through TTL indexes on
    /// their time, so changing <see cref="TouchpointOptions.RetentionDays"/> changes those indexes'
    /// expiry in place (collMod) when the store's indexes are next put in place.
    /// </summary>
    internal static IReadOnlyList<MongoIndex> Indexes(TimeSpan retention) =>
    [
        new(Interactions, new BsonDocument("occurred_at", 1)) { Name = "retention", ExpireAfter = retention },
        new(Interactions, new BsonDocument { ["person_id"] = 1, ["occurred_at"] = -1, ["_id"] = -1 }),
        new(InteractionIds, new BsonDocument("day_start", 1)) { ExpireAfter = retention + TimeSpan.FromDays(1) },
        new(PersonLinks, new BsonDocument("person_id", 1)),
        new(PersonState, new BsonDocument("last_at", 1)),
        new(ProfilePersons, new BsonDocument("profile_id", 1)),
        new(ProfilePersons, new BsonDocument("person_id", 1)),
        new(ProfilePersons, new BsonDocument(MergedProfile, 1)) { Name = "merged_profile_set", PartialFilter = new BsonDocument(MergedProfile, new BsonDocument("$gt", "")) },
        new(TouchpointDays, new BsonDocument { ["day"] = 1, ["touchpoint_id"] = 1 }),
        new(TouchpointDays, new BsonDocument { ["touchpoint_id"] = 1, ["day"] = 1 }),
        new(TouchpointDayPeople, new BsonDocument { ["touchpoint_id"] = 1, ["day"] = 1 }),
        new(PersonStageDays, new BsonDocument("day", 1)),
        new(Purchases, new BsonDocument("day", 1)),
        new(Purchases, new BsonDocument { ["person_id"] = 1, ["at"] = 1 }),
        new(PersonTouchpoints, new BsonDocument { ["person_id"] = 1, ["first_at"] = 1 }),
        new(PersonTouchpoints, new BsonDocument { ["touchpoint_id"] = 1, ["first_at"] = 1 }),
        new(PersonOverlaps, new BsonDocument("person_id", 1)),
        new(PersonOverlaps, new BsonDocument("filed_person_id", 1)),
        new(Profiles, new BsonDocument("identifiers", 1)),
        new(Profiles, new BsonDocument("survivor_id", 1)),
        new(Profiles, new BsonDocument("holdings.identifier", 1)),
        MongoErasureTombstones.Index,
    ];

    public async Task<IReadOnlyList<Appended>> AppendAsync(IReadOnlyList<PendingInteraction> batch, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _store.WriteAsync((session, ct) => AppendInTransactionAsync(session, batch, ct), cancellationToken);
            }
            catch (Exception ex) when (MongoStore.IsDuplicateKey(ex) && attempt < DuplicateKeyAttempts)
            {
                // A concurrent batch claimed one of these ids or identifiers between our read and insert (the
                // next attempt sees it as a duplicate or a link), or another process took one of our keys
                // (the next attempt takes fresh ones).
            }
        }
    }

    private async Task<IReadOnlyList<Appended>> AppendInTransactionAsync(IClientSessionHandle session, IReadOnlyList<PendingInteraction> batch, CancellationToken ct)
    {
        var claims = batch.Select(p => ClaimId(p.Interaction)).ToList();
        var seen = (await _db.GetCollection<BsonDocument>(InteractionIds).Find(session, Builders<BsonDocument>.Filter.In("_id", claims))
            .Project(Builders<BsonDocument>.Projection.Include("_id").Include("fingerprint")).ToListAsync(ct))
            .ToDictionary(d => d["_id"].AsString, d => d.GetValue("fingerprint", "").AsString, StringComparer.Ordinal);
        var stored = AppendDecisions.Decide(claims, [.. batch.Select(p => p.FingerprintHex)], seen);
        var accepted = Enumerable.Range(0, batch.Count).Where(i => stored[i] == Appended.Stored).Select(i => batch[i]).ToList();
        if (accepted.Count == 0)
        {
            return stored;
        }

        await _db.GetCollection<BsonDocument>(InteractionIds).InsertManyAsync(session,
            accepted.Select(p => new BsonDocument { ["_id"] = ClaimId(p.Interaction), ["fingerprint"] = p.FingerprintHex, ["day_start"] = DayStart(p.Interaction.OccurredAt) }), cancellationToken: ct);

        var keys = accepted.SelectMany(p => p.Interaction.Identifiers.Select(i => i.Key)).Distinct().ToList();
        var storedLinks = (await _db.GetCollection<BsonDocument>(PersonLinks).Find(session, Builders<BsonDocument>.Filter.In("_id", keys)).ToListAsync(ct))
            .ToDictionary(d => d["_id"].AsString, d => d["person_id"], StringComparer.Ordinal);
        var links = new Dictionary<string, BsonValue>(storedLinks, StringComparer.Ordinal);

        // A new person gets an ObjectId, unique without a shared counter (a counter document written by
        // every batch that meets someone new would make concurrent batches abort each other). The
        // grouping rule chooses the person (PersonGrouping); an identifier linked to another person
        // records the overlap, so a timeline by identifiers finds it here.
        var people = new BsonValue[accepted.Count];
        var overlaps = new HashSet<(BsonValue Person, BsonValue Filed)>();
        var knownBy = new KnownPeople(_db, session, links);
        for (var i = 0; i < accepted.Count; i++)
        {
            var identifiers = accepted[i].Interaction.Identifiers;
            var chosen = await PersonGrouping.ChooseAsync(identifiers, k => links.ContainsKey(identifiers[k].Key), k => knownBy.OfAsync(links[identifiers[k].Key], ct));
            var person = chosen is { } index ? links[identifiers[index].Key] : ObjectId.GenerateNewId();
            foreach (var x in identifiers)
            {
                if (!links.TryAdd(x.Key, person) && links[x.Key] != person)
                {
                    overlaps.Add((links[x.Key], person));
                }
            }

            people[i] = person;
        }

        await BulkAsync(session, PersonOverlaps, overlaps.Select(o => (WriteModel<BsonDocument>)Upsert($"{o.Person}/{o.Filed}",
            new BsonDocument("$setOnInsert", new BsonDocument { ["person_id"] = o.Person, ["filed_person_id"] = o.Filed }))).ToList(), ct);

        var newLinks = links.Where(l => !storedLinks.ContainsKey(l.Key)).Select(l => new BsonDocument { ["_id"] = l.Key, ["person_id"] = l.Value }).ToList();
        if (newLinks.Count > 0)
        {
            await _db.GetCollection<BsonDocument>(PersonLinks).InsertManyAsync(session, newLinks, cancellationToken: ct);
        }

        var documents = accepted.Select((p, i) => ToDocument(p.Interaction, people[i], InteractionKeys.Shared.Next())).ToList();
        await _db.GetCollection<BsonDocument>(Interactions).InsertManyAsync(session, documents, cancellationToken: ct);
        await WriteAggregatesAsync(session, accepted, people, ct);
        await MongoOutbox.AppendAsync(session, _db, accepted.Select(p => p.Event).ToList(), ct);
        return stored;
    }

    private async Task WriteAggregatesAsync(IClientSessionHandle session, List<PendingInteraction> accepted, BsonValue[] people, CancellationToken ct)
    {
        var dayPeople = new List<WriteModel<BsonDocument>>();
        var stageDays = new List<WriteModel<BsonDocument>>();
        var personTps = new List<WriteModel<BsonDocument>>();
        var purchases = new List<WriteModel<BsonDocument>>();
        var states = new List<WriteModel<BsonDocument>>();
        var tpDays = new Dictionary<(int Day, string Touchpoint), (long Interactions, long RatingSum, long RatingCount)>();
        for (var i = 0; i < accepted.Count; i++)
        {
            var x = accepted[i].Interaction;
            var person = people[i];
            var day = JourneyAnalytics.DayOf(x.OccurredAt);
            var at = x.OccurredAt.ToUnixTimeMilliseconds();
            var tpDay = tpDays.GetValueOrDefault((day, x.TouchpointId));
            tpDays[(day, x.TouchpointId)] = (tpDay.Interactions + 1, tpDay.RatingSum + x.Rating, tpDay.RatingCount + (x.Rating > 0 ? 1 : 0));
            dayPeople.Add(Upsert($"{day}/{x.TouchpointId}/{person}", new BsonDocument
            {
                ["$min"] = new BsonDocument("first_at", at),
                ["$max"] = new BsonDocument("last_at", at),
                ["$setOnInsert"] = new BsonDocument { ["day"] = day, ["touchpoint_id"] = x.TouchpointId, ["person_id"] = person },
            }));
            stageDays.Add(Upsert($"{day}/{person}", new BsonDocument
            {
                ["$bit"] = new BsonDocument("stage_mask", new BsonDocument("or", accepted[i].StageMask)),
                ["$setOnInsert"] = new BsonDocument { ["day"] = day, ["person_id"] = person },
            }));
            personTps.Add(Upsert($"{person}/{x.TouchpointId}", new BsonDocument
            {
                ["$min"] = new BsonDocument("first_at", at),
                ["$setOnInsert"] = new BsonDocument { ["person_id"] = person, ["touchpoint_id"] = x.TouchpointId },
            }));
            var purchase = x.Type == InteractionType.Purchase;
            if (purchase)
            {
                purchases.Add(Upsert($"{person}/{at}", new BsonDocument("$setOnInsert", new BsonDocument { ["person_id"] = person, ["at"] = at, ["day"] = day })));
            }

            // Later interactions win the last touchpoint; an older one arriving late must not overwrite it.
            var update = new BsonDocument
            {
                ["$max"] = purchase ? new BsonDocument { ["last_at"] = at, ["last_purchase_at"] = at } : new BsonDocument("last_at", at),
            };
            states.Add(Upsert(person, update));
            states.Add(new UpdateOneModel<BsonDocument>(
                new BsonDocument { ["_id"] = person, ["last_at"] = at }, new BsonDocument("$set", new BsonDocument("last_touchpoint_id", x.TouchpointId))));
        }

        // Every interaction of a touchpoint's day adds to its counters: one shard per transaction, so
        // concurrent batches of the same day rarely write the same document.
        var shard = MongoCounterShards.Pick();
        var counters = tpDays.Select(d => (WriteModel<BsonDocument>)Upsert(MongoCounterShards.Id($"{d.Key.Day}/{d.Key.Touchpoint}", shard), new BsonDocument
        {
            ["$inc"] = new BsonDocument { ["interactions"] = d.Value.Interactions, ["rating_sum"] = d.Value.RatingSum, ["rating_count"] = d.Value.RatingCount },
            ["$setOnInsert"] = new BsonDocument { ["day"] = d.Key.Day, ["touchpoint_id"] = d.Key.Touchpoint },
        })).ToList();

        await BulkAsync(session, TouchpointDays, counters, ct);
        await BulkAsync(session, TouchpointDayPeople, dayPeople, ct);
        await BulkAsync(session, PersonStageDays, stageDays, ct);
        await BulkAsync(session, PersonTouchpoints, personTps, ct);
        await BulkAsync(session, Purchases, purchases, ct);
        await BulkAsync(session, PersonState, states, ct);
    }

    private Task BulkAsync(IClientSessionHandle session, string collection, List<WriteModel<BsonDocument>> models, CancellationToken ct) =>
        models.Count == 0 ? Task.CompletedTask : _db.GetCollection<BsonDocument>(collection).BulkWriteAsync(session, models, new BulkWriteOptions { IsOrdered = true }, ct);

    /// <summary>
    /// The <c>profile_persons</c> links the merge of <paramref name="merged"/> added, in a form the partial index on
    /// <c>merged_profile</c> serves (docs/adr/0017-mongodb-index-lifecycle.md).
    /// </summary>
    private static BsonDocument LinkedBy(string merged) => new(MergedProfile, new BsonDocument { ["$eq"] = merged, ["$gt"] = "" });

    private static UpdateOneModel<BsonDocument> Upsert(BsonValue id, BsonDocument update) =>
        new(new BsonDocument("_id", id), update) { IsUpsert = true };

    public Task<IReadOnlyList<TimelineEntry>> TimelineAsync(PersonIdentifier identifier, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TimelineEntry>>(async (_, ct) =>
        {
            var people = await ResolveAsync(null, [identifier], ct);
            return people.Count == 0 ? [] : await EntriesAsync(new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people))), after, limit, ct);
        }, cancellationToken);

    public Task<IReadOnlyList<TimelineEntry>> RecordedWithAsync(IReadOnlyList<PersonIdentifier> identifiers, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TimelineEntry>>(async (_, ct) =>
        {
            // Every interaction carrying one of the identifiers is filed under its person or under a
            // person it overlaps; the identifiers each document carries decide.
            var keys = new BsonArray(identifiers.Select(i => i.Key).Distinct(StringComparer.Ordinal));
            var linked = (await _db.GetCollection<BsonDocument>(PersonLinks).Find(new BsonDocument("_id", new BsonDocument("$in", keys))).ToListAsync(ct))
                .Select(d => d["person_id"]).ToHashSet();
            if (linked.Count == 0)
            {
                return [];
            }

            var filed = await _db.GetCollection<BsonDocument>(PersonOverlaps).Find(new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(linked)))).ToListAsync(ct);
            linked.UnionWith(filed.Select(d => d["filed_person_id"]));
            return await EntriesAsync(
                new BsonDocument { ["person_id"] = new BsonDocument("$in", new BsonArray(linked)), ["identifiers"] = new BsonDocument("$in", keys) }, after, limit, ct);
        }, cancellationToken);

    public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var erased = await MongoErasureTombstones.FindAsync(session, _db, merges.SelectMany(m => m.ErasureKeys), ct);
            foreach (var merge in merges)
            {
                if (!await MongoInbox.TryClaimAsync(session, _db, Consumer + "." + TouchpointTopics.ProfilesMerged, merge.EventId, now, ct)
                    || ErasureTombstones.Blocks(erased, merge.ErasureKeys, merge.PublishedAt ?? merge.MergedAt))
                {
                    continue;
                }

                var people = await ResolveAsync(session,
                    [.. merge.MovedIdentifiers, new PersonIdentifier(IdentifierKind.ProfileId, merge.Merged), new PersonIdentifier(IdentifierKind.ProfileId, merge.Survivor)], ct);
                // A link that was there before stays as it was: only those this merge adds name it, and go with its split.
                var models = people.SelectMany(p => new[] { merge.Survivor, merge.Merged }.Select(profile =>
                    (WriteModel<BsonDocument>)Upsert($"{profile}/{p}", new BsonDocument("$setOnInsert", new BsonDocument { ["profile_id"] = profile, ["person_id"] = p, [MergedProfile] = merge.Merged })))).ToList();
                await BulkAsync(session, ProfilePersons, models, ct);
                await MergeProfilesAsync(session, merge, ct);
            }

            return 0;
        }, cancellationToken);

    public Task ApplySplitsAsync(IReadOnlyList<ProfileSplitNotice> splits, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var profiles = _db.GetCollection<BsonDocument>(Profiles);
            var erased = await MongoErasureTombstones.FindAsync(session, _db, splits.SelectMany(s => s.ErasureKeys), ct);
            foreach (var split in splits)
            {
                if (!await MongoInbox.TryClaimAsync(session, _db, Consumer + "." + TouchpointTopics.ProfileSplit, split.EventId, now, ct)
                    || ErasureTombstones.Blocks(erased, split.ErasureKeys, split.PublishedAt))
                {
                    continue;
                }

                var keys = split.RestoredIdentifiers.Select(i => i.Key).Distinct(StringComparer.Ordinal).ToList();
                var merged = split.MergedAt.ToUnixTimeMilliseconds();
                var survivor = await profiles.Find(session, new BsonDocument("_id", split.Survivor)).FirstOrDefaultAsync(ct);
                // The survivor's holdings of what goes back that began with or after the merge become the restored profile's.
                var handed = survivor is null ? [] : HoldingsOf(survivor).Where(h => keys.Contains(h.Key) && h.Since.ToUnixTimeMilliseconds() >= merged).ToList();
                if (survivor is not null)
                {
                    await profiles.UpdateOneAsync(session, new BsonDocument("_id", split.Survivor), new BsonDocument("$pull", new BsonDocument
                    {
                        ["identifiers"] = new BsonDocument("$in", new BsonArray(keys)),
                        ["holdings"] = new BsonDocument { ["identifier"] = new BsonDocument("$in", new BsonArray(keys)), ["since"] = new BsonDocument("$gte", merged) },
                    }), cancellationToken: ct);
                }

                var restore = new BsonDocument
                {
                    ["$set"] = new BsonDocument("survivor_id", BsonNull.Value),
                    ["$addToSet"] = new BsonDocument("identifiers", new BsonDocument("$each", new BsonArray(keys))),
                    ["$setOnInsert"] = new BsonDocument { ["version"] = 0L, ["updated_at"] = NeverUpdated },
                };
                if (handed.Count > 0)
                {
                    restore["$push"] = new BsonDocument("holdings", new BsonDocument("$each", new BsonArray(handed.Select(h => Holding(h.Key, h.Since)))));
                }

                await profiles.UpdateOneAsync(session, new BsonDocument("_id", split.Restored), restore, new UpdateOptions { IsUpsert = true }, ct);
                // The people the merge linked to both profiles are apart again, as they were before it.
                await _db.GetCollection<BsonDocument>(ProfilePersons).DeleteManyAsync(session, LinkedBy(split.Restored), cancellationToken: ct);
                await profiles.UpdateManyAsync(
                    session,
                    new BsonDocument { ["survivor_id"] = split.Survivor, ["_id"] = new BsonDocument("$in", new BsonArray(split.RestoredAliases)) },
                    new BsonDocument("$set", new BsonDocument("survivor_id", split.Restored)),
                    cancellationToken: ct);
            }

            return 0;
        }, cancellationToken);

    public Task ApplyProfilesAsync(IReadOnlyList<ProfileSnapshot> snapshots, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var profiles = _db.GetCollection<BsonDocument>(Profiles);
            var erased = await MongoErasureTombstones.FindAsync(session, _db, snapshots.SelectMany(s => s.ErasureKeys), ct);
            foreach (var profile in snapshots.GroupBy(s => s.ProfileId, StringComparer.Ordinal))
            {
                var (claimed, latest) = await ProfileSnapshotClaims.ClaimAsync(profile, erased, eventId => MongoInbox.TryClaimAsync(session, _db, Consumer + "." + TouchpointTopics.ProfileUpdated, eventId, now, ct));

                var stored = await profiles.Find(session, new BsonDocument("_id", profile.Key)).FirstOrDefaultAsync(ct);
                if (latest is null || (stored is not null && (!SurvivorOf(stored).IsBsonNull || stored["version"].ToInt64() >= latest.Version)))
                {
                    continue;
                }

                var held = stored is null ? [] : IdentifiersOf(stored).ToHashSet(StringComparer.Ordinal);
                var since = Attribution.HeldSince(claimed.Where(c => stored is null || c.Version > stored["version"].ToInt64()), latest);
                var update = new BsonDocument("$set", new BsonDocument
                {
                    ["version"] = latest.Version,
                    ["updated_at"] = latest.UpdatedAt.ToUnixTimeMilliseconds(),
                    ["survivor_id"] = BsonNull.Value,
                    ["identifiers"] = new BsonArray(latest.Identifiers.Select(i => i.Key).Distinct(StringComparer.Ordinal)),
                });
                var gained = since.Where(g => !held.Contains(g.Key)).Select(g => Holding(g.Key, g.Value)).ToList();
                if (gained.Count > 0)
                {
                    update["$push"] = new BsonDocument("holdings", new BsonDocument("$each", new BsonArray(gained)));
                }

                await profiles.UpdateOneAsync(session, new BsonDocument("_id", latest.ProfileId), update, new UpdateOptions { IsUpsert = true }, ct);
            }

            return 0;
        }, cancellationToken);

    public Task<KnownProfile?> ProfileAsync(string profileId, CancellationToken cancellationToken) =>
        _store.ReadAsync<KnownProfile?>(async (_, ct) =>
        {
            var profiles = _db.GetCollection<BsonDocument>(Profiles);
            var live = await LiveAsync(null, profileId, ct);
            var stored = await profiles.Find(new BsonDocument("_id", live)).FirstOrDefaultAsync(ct);
            if (stored is null)
            {
                return null;
            }

            var mergedDocuments = await profiles.Find(new BsonDocument("survivor_id", live)).ToListAsync(ct);
            var merged = mergedDocuments.Select(d => d["_id"].AsString).Order(StringComparer.Ordinal).ToList();
            var held = IdentifiersOf(stored).ToHashSet(StringComparer.Ordinal);
            var former = mergedDocuments.Append(stored).SelectMany(HoldingsOf).Select(h => h.Key).Where(k => !held.Contains(k)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            return new KnownProfile(live, held.Order(StringComparer.Ordinal).Select(ParseKey).ToList(), merged) { FormerIdentifiers = former.Select(ParseKey).ToList() };
        }, cancellationToken);

    public Task<IReadOnlyList<IdentifierHolding>> HoldingsAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<IdentifierHolding>>(async (_, ct) =>
        {
            var profiles = _db.GetCollection<BsonDocument>(Profiles);
            var keys = identifiers.Where(i => i.Kind != IdentifierKind.ProfileId).Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
            var found = new List<(string Key, string Profile, DateTimeOffset Since)>();
            var recorded = new HashSet<(string Key, string Profile)>();
            var documents = keys.Count == 0 ? [] : await profiles.Find(new BsonDocument("$or", new BsonArray
            {
                new BsonDocument("holdings.identifier", new BsonDocument("$in", new BsonArray(keys))),
                new BsonDocument { ["identifiers"] = new BsonDocument("$in", new BsonArray(keys)), ["survivor_id"] = BsonNull.Value },
            })).ToListAsync(ct);
            foreach (var document in documents)
            {
                var id = document["_id"].AsString;
                foreach (var (key, since) in HoldingsOf(document).Where(h => keys.Contains(h.Key)))
                {
                    found.Add((key, id, since));
                    recorded.Add((key, id));
                    if (SurvivorOf(document) is BsonString survivor)
                    {
                        recorded.Add((key, survivor.Value));
                    }
                }
            }

            // A profile holding an identifier since before holdings were recorded holds it from its snapshot on.
            foreach (var document in documents.Where(d => SurvivorOf(d).IsBsonNull))
            {
                var id = document["_id"].AsString;
                var at = DateTimeOffset.FromUnixTimeMilliseconds(document["updated_at"].ToInt64());
                found.AddRange(IdentifiersOf(document).Where(k => keys.Contains(k) && !recorded.Contains((k, id))).Select(k => (k, id, at)));
            }

            found.AddRange(identifiers.Where(i => i.Kind == IdentifierKind.ProfileId).Select(i => (i.Key, i.Value, DateTimeOffset.MinValue)));
            var live = new Dictionary<string, (string Profile, bool Known)?>(StringComparer.Ordinal);
            var holdings = new List<IdentifierHolding>(found.Count);
            foreach (var (key, profile, since) in found)
            {
                if (!live.TryGetValue(profile, out var resolved))
                {
                    var id = await LiveAsync(null, profile, ct);
                    var document = await profiles.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
                    resolved = document is null ? null : (id, IdentifiersOf(document).Any(k => k.StartsWith("1:", StringComparison.Ordinal) || k.StartsWith("2:", StringComparison.Ordinal)));
                    live[profile] = resolved;
                }

                if (resolved is { } holder)
                {
                    holdings.Add(new IdentifierHolding(key, holder.Profile, since, holder.Known));
                }
            }

            return holdings;
        }, cancellationToken);

    public Task<IReadOnlyList<ProfileHolding>> HoldersAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ProfileHolding>>(async (_, ct) =>
        {
            var profiles = _db.GetCollection<BsonDocument>(Profiles);
            var keys = identifiers.Where(i => i.Kind != IdentifierKind.ProfileId).Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
            var holdings = new List<ProfileHolding>();
            var holders = await profiles.Find(new BsonDocument
            {
                ["identifiers"] = new BsonDocument("$in", new BsonArray(keys)),
                ["survivor_id"] = BsonNull.Value,
            }).ToListAsync(ct);
            foreach (var holder in holders)
            {
                var at = DateTimeOffset.FromUnixTimeMilliseconds(holder["updated_at"].ToInt64());
                holdings.AddRange(IdentifiersOf(holder).Where(keys.Contains).Select(key => new ProfileHolding(key, holder["_id"].AsString, at)));
            }

            foreach (var named in identifiers.Where(i => i.Kind == IdentifierKind.ProfileId))
            {
                var live = await LiveAsync(null, named.Value, ct);
                if (await profiles.Find(new BsonDocument("_id", live)).FirstOrDefaultAsync(ct) is { } stored)
                {
                    holdings.Add(new ProfileHolding(named.Key, live, DateTimeOffset.FromUnixTimeMilliseconds(stored["updated_at"].ToInt64())));
                }
            }

            return holdings;
        }, cancellationToken);

    public async Task EraseAsync(
        string eventId,
        IReadOnlyList<PersonIdentifier> identifiers,
        ErasureKeep keep,
        IReadOnlyList<string> profiles,
        IReadOnlyList<ErasureTombstone> tombstones,
        Func<long, OutboxMessage> completed,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        const string consumer = Consumer + "." + Topics.ErasureRequested;
        // A person's interactions can be far more than one transaction may hold (ADR 0015): they go
        // first, a chunk at a time, each chunk on its own; the transaction then removes what arrived
        // meanwhile together with everything else. A redelivered erasure deletes nothing here, so a
        // person who came back after it keeps what they did since.
        var early = await _store.ReadAsync(
            async (_, ct) => await MongoInbox.IsClaimedAsync(_db, consumer, eventId, ct) ? 0 : await DeleteInteractionsInChunksAsync(identifiers, keep, ct), cancellationToken);
        await _store.WriteAsync(async (session, ct) =>
        {
            if (!await MongoInbox.TryClaimAsync(session, _db, consumer, eventId, now, ct))
            {
                return 0;
            }

            var people = await ResolveAsync(session, identifiers, ct);
            var erased = early;
            if (people.Count > 0)
            {
                var filter = new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people)));
                // Another customer's interactions and links stay, with the person documents they are filed under.
                var interactions = ErasedInteractions(people, keep);
                var links = new BsonDocument(filter) { ["_id"] = new BsonDocument("$nin", new BsonArray(keep.LinkKeys)) };
                erased += (await _db.GetCollection<BsonDocument>(Interactions).DeleteManyAsync(session, interactions, cancellationToken: ct)).DeletedCount;
                erased += (await _db.GetCollection<BsonDocument>(PersonLinks).DeleteManyAsync(session, links, cancellationToken: ct)).DeletedCount;
                erased += (await _db.GetCollection<BsonDocument>(ProfilePersons).DeleteManyAsync(session, filter, cancellationToken: ct)).DeletedCount;
                if (keep.EventIds.Count == 0)
                {
                    erased += (await _db.GetCollection<BsonDocument>(PersonOverlaps).DeleteManyAsync(session, new BsonDocument("$or", new BsonArray
                    {
                        filter,
                        new BsonDocument("filed_person_id", new BsonDocument("$in", new BsonArray(people))),
                    }), cancellationToken: ct)).DeletedCount;
                }

                // Person-to-profile documents are no longer written; any still held go with the person.
                await _db.GetCollection<BsonDocument>(PersonProfile).DeleteManyAsync(
                    session, new BsonDocument("_id", new BsonDocument("$in", new BsonArray(people))), cancellationToken: ct);
            }

            // Holdings of the erased identifiers by profiles that stay (a shared cookie) go too; the erased profiles' go with them.
            var erasedKeys = new BsonArray(identifiers.Select(i => i.Key).Distinct(StringComparer.Ordinal));
            erased += (await _db.GetCollection<BsonDocument>(Profiles).UpdateManyAsync(
                session,
                new BsonDocument("holdings.identifier", new BsonDocument("$in", erasedKeys)),
                new BsonDocument("$pull", new BsonDocument("holdings", new BsonDocument("identifier", new BsonDocument("$in", erasedKeys)))),
                cancellationToken: ct)).ModifiedCount;

            if (profiles.Count > 0)
            {
                // The tombstones, not a document naming the profile, keep a snapshot of it still on its way out.
                var collection = _db.GetCollection<BsonDocument>(Profiles);
                var named = new BsonArray(profiles);
                var held = await collection.Find(session, new BsonDocument("_id", new BsonDocument("$in", named))).ToListAsync(ct);
                erased += held.Sum(d => IdentifiersOf(d).Count());
                await collection.DeleteManyAsync(session, new BsonDocument("$or", new BsonArray
                {
                    new BsonDocument("_id", new BsonDocument("$in", named)),
                    new BsonDocument("survivor_id", new BsonDocument("$in", named)),
                }), cancellationToken: ct);
            }

            await MongoErasureTombstones.RememberAsync(session, _db, tombstones, ct);
            await MongoOutbox.AppendAsync(session, _db, [completed(erased)], ct);
            return 0;
        }, cancellationToken);
    }

    /// <summary>The erased people's interactions, but for another customer's that the erasure keeps.</summary>
    private static BsonDocument ErasedInteractions(IEnumerable<BsonValue> people, ErasureKeep keep) => new()
    {
        ["person_id"] = new BsonDocument("$in", new BsonArray(people)),
        ["event_id"] = new BsonDocument("$nin", new BsonArray(keep.EventIds)),
    };

    /// <summary>Deletes the interactions of the people <paramref name="identifiers"/> name, but for those <paramref name="keep"/> names, <see cref="TransactionBudget.Interactions"/> at a time outside any transaction; returns how many went.</summary>
    private async Task<long> DeleteInteractionsInChunksAsync(IReadOnlyList<PersonIdentifier> identifiers, ErasureKeep keep, CancellationToken ct)
    {
        var people = await ResolveAsync(null, identifiers, ct);
        if (people.Count == 0)
        {
            return 0;
        }

        var interactions = _db.GetCollection<BsonDocument>(Interactions);
        var filter = ErasedInteractions(people, keep);
        long deleted = 0;
        while (true)
        {
            var chunk = await interactions.Find(filter).Project(new BsonDocument("_id", 1)).Limit(Budget.Interactions).ToListAsync(ct);
            if (chunk.Count == 0)
            {
                return deleted;
            }

            deleted += (await interactions.DeleteManyAsync(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(chunk.Select(d => d["_id"])))), ct)).DeletedCount;
        }
    }

    public Task<int> SweepAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            // The TTL index does this on its own; an explicit sweep removes what it has not reached yet.
            var ids = await _db.GetCollection<BsonDocument>(Interactions).Find(new BsonDocument("occurred_at", new BsonDocument("$lt", cutoff.UtcDateTime)))
                .Limit(max).Project(new BsonDocument("_id", 1)).ToListAsync(ct);
            var result = await _db.GetCollection<BsonDocument>(Interactions).DeleteManyAsync(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(ids.Select(d => d["_id"])))), ct);
            return (int)result.DeletedCount;
        }, cancellationToken);

    /// <summary>
    /// Hands the merged profile to the survivor: its identifiers (unless the survivor's snapshot was taken
    /// after the merge and holds what is the survivor's now), its id and the ids merged into it before.
    /// </summary>
    private async Task MergeProfilesAsync(IClientSessionHandle session, ProfileMerge merge, CancellationToken ct)
    {
        var profiles = _db.GetCollection<BsonDocument>(Profiles);
        // The survivor may have been merged away itself since: the chain ends at the live profile.
        var survivor = await LiveAsync(session, merge.Survivor, ct);
        if (survivor == merge.Merged)
        {
            return;
        }

        var stored = await profiles.Find(session, new BsonDocument("_id", survivor)).FirstOrDefaultAsync(ct);
        if (stored is null || stored["updated_at"].ToInt64() < merge.MergedAt.ToUnixTimeMilliseconds())
        {
            var mergedDocument = await profiles.Find(session, new BsonDocument("_id", merge.Merged)).FirstOrDefaultAsync(ct);
            var handed = (mergedDocument is null ? [] : IdentifiersOf(mergedDocument)).Concat(merge.MovedIdentifiers.Select(i => i.Key)).Distinct(StringComparer.Ordinal);
            await profiles.UpdateOneAsync(session, new BsonDocument("_id", survivor), new BsonDocument
            {
                ["$addToSet"] = new BsonDocument("identifiers", new BsonDocument("$each", new BsonArray(handed))),
                ["$setOnInsert"] = new BsonDocument { ["version"] = 0L, ["updated_at"] = NeverUpdated, ["survivor_id"] = BsonNull.Value },
            }, new UpdateOptions { IsUpsert = true }, ct);
        }

        // What the merged profile held stays on record as its holdings, which read as the survivor's.
        var mergedProfile = await profiles.Find(session, new BsonDocument("_id", merge.Merged)).FirstOrDefaultAsync(ct);
        var recorded = mergedProfile is null ? [] : HoldingsOf(mergedProfile).Select(h => h.Key).ToHashSet(StringComparer.Ordinal);
        var moved = (mergedProfile is null ? [] : IdentifiersOf(mergedProfile)).Concat(merge.MovedIdentifiers.Select(i => i.Key))
            .Where(recorded.Add).Select(k => Holding(k, merge.MergedAt)).ToList();
        var aliasUpdate = new BsonDocument
        {
            ["$set"] = new BsonDocument { ["survivor_id"] = survivor, ["identifiers"] = new BsonArray() },
            ["$setOnInsert"] = new BsonDocument { ["version"] = 0L, ["updated_at"] = NeverUpdated },
        };
        if (moved.Count > 0)
        {
            aliasUpdate["$push"] = new BsonDocument("holdings", new BsonDocument("$each", new BsonArray(moved)));
        }

        await profiles.UpdateOneAsync(session, new BsonDocument("_id", merge.Merged), aliasUpdate, new UpdateOptions { IsUpsert = true }, ct);
        await profiles.UpdateManyAsync(session, new BsonDocument("survivor_id", merge.Merged), new BsonDocument("$set", new BsonDocument("survivor_id", survivor)), cancellationToken: ct);
    }

    /// <summary>The live profile <paramref name="profileId"/> names: itself, or the survivor it was merged into.</summary>
    private async Task<string> LiveAsync(IClientSessionHandle? session, string profileId, CancellationToken ct)
    {
        var profiles = _db.GetCollection<BsonDocument>(Profiles);
        // Merges re-point the profiles merged before, so one hop is the rule; the bound only guards against a cycle.
        for (var hops = 0; hops < 64; hops++)
        {
            var filter = new BsonDocument("_id", profileId);
            var stored = await (session is null ? profiles.Find(filter) : profiles.Find(session, filter)).FirstOrDefaultAsync(ct);
            if (stored is null || SurvivorOf(stored) is not BsonString survivor)
            {
                break;
            }

            profileId = survivor.Value;
        }

        return profileId;
    }

    private static BsonValue SurvivorOf(BsonDocument profile) => profile.GetValue("survivor_id", BsonNull.Value);

    private static IEnumerable<string> IdentifiersOf(BsonDocument profile) =>
        profile.GetValue("identifiers", new BsonArray()).AsBsonArray.Select(k => k.AsString);

    /// <summary>A profile's holdings: each identifier it came to hold and when (milliseconds, as <c>updated_at</c>).</summary>
    private static IEnumerable<(string Key, DateTimeOffset Since)> HoldingsOf(BsonDocument profile) =>
        profile.GetValue("holdings", new BsonArray()).AsBsonArray.Select(h => (h["identifier"].AsString, DateTimeOffset.FromUnixTimeMilliseconds(h["since"].ToInt64())));

    private static BsonDocument Holding(string key, DateTimeOffset since) =>
        new() { ["identifier"] = key, ["since"] = since.ToUnixTimeMilliseconds() };

    private async Task<IReadOnlyList<TimelineEntry>> EntriesAsync(BsonDocument filter, TimelineCursor? after, int limit, CancellationToken ct)
    {
        if (after is not null)
        {
            var at = after.OccurredAt.UtcDateTime;
            filter["$or"] = new BsonArray
            {
                new BsonDocument("occurred_at", new BsonDocument("$lt", at)),
                new BsonDocument { ["occurred_at"] = at, ["_id"] = new BsonDocument("$lt", after.Sequence) },
            };
        }

        var documents = await _db.GetCollection<BsonDocument>(Interactions).Find(filter)
            .Sort(new BsonDocument { ["occurred_at"] = -1, ["_id"] = -1 }).Limit(limit).ToListAsync(ct);
        return documents.Select(FromDocument).ToList();
    }

    private async Task<List<BsonValue>> ResolveAsync(IClientSessionHandle? session, IReadOnlyList<PersonIdentifier> identifiers, CancellationToken ct)
    {
        var people = new HashSet<BsonValue>();
        var links = _db.GetCollection<BsonDocument>(PersonLinks);
        var profiles = _db.GetCollection<BsonDocument>(ProfilePersons);
        var keyFilter = new BsonDocument("_id", new BsonDocument("$in", new BsonArray(identifiers.Select(i => i.Key))));
        var profileFilter = new BsonDocument("profile_id", new BsonDocument("$in", new BsonArray(identifiers.Where(i => i.Kind == IdentifierKind.ProfileId).Select(i => i.Value))));
        foreach (var d in await (session is null ? links.Find(keyFilter) : links.Find(session, keyFilter)).ToListAsync(ct))
        {
            people.Add(d["person_id"]);
        }

        foreach (var d in await (session is null ? profiles.Find(profileFilter) : profiles.Find(session, profileFilter)).ToListAsync(ct))
        {
            people.Add(d["person_id"]);
        }

        if (people.Count > 0)
        {
            var mine = new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people)));
            var profileIds = (await (session is null ? profiles.Find(mine) : profiles.Find(session, mine)).ToListAsync(ct)).Select(d => d["profile_id"]).Distinct().ToList();
            var siblings = new BsonDocument("profile_id", new BsonDocument("$in", new BsonArray(profileIds)));
            foreach (var d in await (session is null ? profiles.Find(siblings) : profiles.Find(session, siblings)).ToListAsync(ct))
            {
                people.Add(d["person_id"]);
            }
        }

        return people.Order().ToList();
    }

    private static string ClaimId(Interaction interaction) => interaction.EventId;

    private static DateTime DayStart(DateTimeOffset at) => DateTime.UnixEpoch.AddDays(JourneyAnalytics.DayOf(at));

    /// <summary>
    /// What marks the people of one batch as known customers: their stored strong links, read once on
    /// first need (most batches never ask), and the links the batch adds.
    /// </summary>
    private sealed class KnownPeople(IMongoDatabase db, IClientSessionHandle session, Dictionary<string, BsonValue> links)
    {
        private Dictionary<BsonValue, KnownBy>? _stored;

        public async ValueTask<KnownBy> OfAsync(BsonValue person, CancellationToken ct)
        {
            if (_stored is null)
            {
                var people = new BsonArray(links.Values.Distinct());
                var strong = new BsonRegularExpression($"^({(int)IdentifierKind.CustomerId}|{(int)IdentifierKind.Email}):");
                _stored = [];
                var found = await db.GetCollection<BsonDocument>(PersonLinks)
                    .Find(session, new BsonDocument { ["person_id"] = new BsonDocument("$in", people), ["_id"] = strong }).ToListAsync(ct);
                foreach (var link in found)
                {
                    Add(_stored, link["person_id"], link["_id"].AsString);
                }
            }

            var known = _stored.GetValueOrDefault(person);
            foreach (var (key, linked) in links)
            {
                if (linked == person)
                {
                    known |= Marks(key);
                }
            }

            return known;
        }

        private static void Add(Dictionary<BsonValue, KnownBy> known, BsonValue person, string key) =>
            known[person] = known.GetValueOrDefault(person) | Marks(key);

        private static KnownBy Marks(string key) =>
            int.TryParse(key.AsSpan(0, Math.Max(0, key.IndexOf(':'))), out var kind) ? PersonGrouping.Marks((IdentifierKind)kind) : KnownBy.None;
    }

    private static BsonDocument ToDocument(Interaction x, BsonValue person, long id)
    {
        var properties = new BsonDocument();
        foreach (var (key, value) in x.Properties)
        {
            properties.Add(key, value);
        }

        return new BsonDocument
        {
            // Unique, so it breaks ties on time in the timeline's order and cursor.
            ["_id"] = id,
            ["event_id"] = x.EventId,
            ["touchpoint_id"] = x.TouchpointId,
            ["occurred_at"] = x.OccurredAt.UtcDateTime,
            ["recorded_at"] = x.RecordedAt.UtcDateTime,
            ["person_id"] = person,
            ["type"] = (int)x.Type,
            ["identifiers"] = new BsonArray(x.Identifiers.Select(i => i.Key)),
            ["content"] = x.Content,
            ["recommendation"] = x.Recommendation,
            ["rating"] = x.Rating,
            ["comment"] = x.Comment,
            ["value"] = x.Value is { } v ? new BsonDocument { ["currency"] = v.CurrencyCode, ["units"] = v.Units, ["nanos"] = v.Nanos } : BsonNull.Value,
            ["properties"] = properties,
        };
    }

    private static PersonIdentifier ParseKey(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        return new PersonIdentifier((IdentifierKind)int.Parse(key.AsSpan(0, colon), System.Globalization.CultureInfo.InvariantCulture), key[(colon + 1)..]);
    }

    private static TimelineEntry FromDocument(BsonDocument d)
    {
        var occurred = new DateTimeOffset(d["occurred_at"].ToUniversalTime(), TimeSpan.Zero);
        var value = d["value"] is BsonDocument v ? new MoneyAmount(v["currency"].AsString, v["units"].ToInt64(), v["nanos"].ToInt32()) : null;
        var interaction = new Interaction(
            d["event_id"].AsString,
            d["touchpoint_id"].AsString,
            occurred,
            d["identifiers"].AsBsonArray.Select(k => ParseKey(k.AsString)).ToList(),
            (InteractionType)d["type"].ToInt32(),
            d["content"].AsString,
            d["recommendation"].AsString,
            d["rating"].ToInt32(),
            d["comment"].AsString,
            value,
            d["properties"].AsBsonDocument.ToDictionary(e => e.Name, e => e.Value.AsString),
            new DateTimeOffset(d["recorded_at"].ToUniversalTime(), TimeSpan.Zero));
        return new TimelineEntry(interaction, new TimelineCursor(occurred, d["_id"].ToInt64()));
    }
}
