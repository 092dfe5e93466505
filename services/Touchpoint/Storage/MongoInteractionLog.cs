using Journey.Shared.Events;
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
/// and the event-id claims (pruned by a TTL index on their day) are separate collections.
/// </summary>
internal sealed class MongoInteractionLog : IInteractionLog
{
    internal const string Interactions = "interactions";
    internal const string InteractionIds = "interaction_ids";
    internal const string PersonLinks = "person_links";
    internal const string PersonState = "person_state";
    internal const string ProfilePersons = "profile_persons";
    internal const string PersonProfile = "person_profile";
    internal const string Counters = "counters";
    internal const string TouchpointDays = "touchpoint_days";
    internal const string TouchpointDayPeople = "touchpoint_day_people";
    internal const string PersonStageDays = "person_stage_days";
    internal const string PersonTouchpoints = "person_touchpoints";
    internal const string Purchases = "purchases";
    private const string Consumer = "touchpoint";

    private readonly MongoStore _store;
    private readonly IMongoDatabase _db;

    public MongoInteractionLog([FromKeyedServices(TouchpointModule.Name)] MongoStore store, IOptions<TouchpointOptions> options)
    {
        _store = store;
        _db = store.Database;
        var retention = options.Value.Retention;
        var interactions = _db.GetCollection<BsonDocument>(Interactions);
        interactions.Indexes.CreateMany(
        [
            new CreateIndexModel<BsonDocument>(new BsonDocument("occurred_at", 1), new CreateIndexOptions { ExpireAfter = retention, Name = "retention" }),
            new CreateIndexModel<BsonDocument>(new BsonDocument { ["person_id"] = 1, ["occurred_at"] = -1, ["_id"] = -1 }),
        ]);
        _db.GetCollection<BsonDocument>(InteractionIds).Indexes.CreateOne(
            new CreateIndexModel<BsonDocument>(new BsonDocument("day_start", 1), new CreateIndexOptions { ExpireAfter = retention + TimeSpan.FromDays(1) }));
        _db.GetCollection<BsonDocument>(PersonLinks).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument("person_id", 1)));
        _db.GetCollection<BsonDocument>(PersonState).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument("last_at", 1)));
        _db.GetCollection<BsonDocument>(ProfilePersons).Indexes.CreateMany(
        [
            new CreateIndexModel<BsonDocument>(new BsonDocument("profile_id", 1)),
            new CreateIndexModel<BsonDocument>(new BsonDocument("person_id", 1)),
        ]);
        _db.GetCollection<BsonDocument>(TouchpointDays).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument { ["day"] = 1, ["touchpoint_id"] = 1 }));
        _db.GetCollection<BsonDocument>(TouchpointDayPeople).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument { ["touchpoint_id"] = 1, ["day"] = 1 }));
        _db.GetCollection<BsonDocument>(PersonStageDays).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument("day", 1)));
        _db.GetCollection<BsonDocument>(Purchases).Indexes.CreateMany(
        [
            new CreateIndexModel<BsonDocument>(new BsonDocument("day", 1)),
            new CreateIndexModel<BsonDocument>(new BsonDocument { ["person_id"] = 1, ["at"] = 1 }),
        ]);
        _db.GetCollection<BsonDocument>(PersonTouchpoints).Indexes.CreateOne(new CreateIndexModel<BsonDocument>(new BsonDocument { ["person_id"] = 1, ["first_at"] = 1 }));
    }

    public async Task<IReadOnlyList<bool>> AppendAsync(IReadOnlyList<PendingInteraction> batch, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.WriteAsync((session, ct) => AppendInTransactionAsync(session, batch, ct), cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            // A concurrent batch claimed one of these ids between our read and insert: the retry sees it as a duplicate.
            return await _store.WriteAsync((session, ct) => AppendInTransactionAsync(session, batch, ct), cancellationToken);
        }
    }

    private async Task<IReadOnlyList<bool>> AppendInTransactionAsync(IClientSessionHandle session, IReadOnlyList<PendingInteraction> batch, CancellationToken ct)
    {
        var claims = batch.Select(p => ClaimId(p.Interaction)).ToList();
        var seen = (await _db.GetCollection<BsonDocument>(InteractionIds).Find(session, Builders<BsonDocument>.Filter.In("_id", claims))
            .Project(Builders<BsonDocument>.Projection.Include("_id")).ToListAsync(ct)).Select(d => d["_id"].AsString).ToHashSet(StringComparer.Ordinal);
        var stored = new bool[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            stored[i] = seen.Add(claims[i]);
        }

        var accepted = Enumerable.Range(0, batch.Count).Where(i => stored[i]).Select(i => batch[i]).ToList();
        if (accepted.Count == 0)
        {
            return stored;
        }

        await _db.GetCollection<BsonDocument>(InteractionIds).InsertManyAsync(session,
            accepted.Select(p => new BsonDocument { ["_id"] = ClaimId(p.Interaction), ["day_start"] = DayStart(p.Interaction.OccurredAt) }), cancellationToken: ct);

        var keys = accepted.SelectMany(p => p.Interaction.Identifiers.Select(i => i.Key)).Distinct().ToList();
        var storedLinks = (await _db.GetCollection<BsonDocument>(PersonLinks).Find(session, Builders<BsonDocument>.Filter.In("_id", keys)).ToListAsync(ct))
            .ToDictionary(d => d["_id"].AsString, d => d["person_id"].ToInt64(), StringComparer.Ordinal);
        var links = new Dictionary<string, long>(storedLinks, StringComparer.Ordinal);

        // New people get negative placeholders first, so one counter increment serves the whole batch.
        var people = new long[accepted.Count];
        var placeholders = 0L;
        for (var i = 0; i < accepted.Count; i++)
        {
            var identifiers = accepted[i].Interaction.Identifiers;
            var person = identifiers.Select(x => links.TryGetValue(x.Key, out var p) ? p : (long?)null).FirstOrDefault(p => p is not null) ?? -(++placeholders);
            foreach (var x in identifiers)
            {
                links.TryAdd(x.Key, person);
            }

            people[i] = person;
        }

        if (placeholders > 0)
        {
            var counter = await _db.GetCollection<BsonDocument>(Counters).FindOneAndUpdateAsync(session,
                Builders<BsonDocument>.Filter.Eq("_id", "person"), Builders<BsonDocument>.Update.Inc("value", placeholders),
                new FindOneAndUpdateOptions<BsonDocument> { IsUpsert = true, ReturnDocument = ReturnDocument.After }, ct);
            var first = counter["value"].ToInt64() - placeholders + 1;
            long Real(long id) => id < 0 ? first + (-id - 1) : id;
            for (var i = 0; i < people.Length; i++)
            {
                people[i] = Real(people[i]);
            }

            foreach (var key in links.Keys.ToList())
            {
                links[key] = Real(links[key]);
            }
        }

        var newLinks = links.Where(l => !storedLinks.ContainsKey(l.Key)).Select(l => new BsonDocument { ["_id"] = l.Key, ["person_id"] = l.Value }).ToList();
        if (newLinks.Count > 0)
        {
            await _db.GetCollection<BsonDocument>(PersonLinks).InsertManyAsync(session, newLinks, cancellationToken: ct);
        }

        var documents = accepted.Select((p, i) => ToDocument(p.Interaction, people[i])).ToList();
        await _db.GetCollection<BsonDocument>(Interactions).InsertManyAsync(session, documents, cancellationToken: ct);
        await WriteAggregatesAsync(session, accepted, people, ct);
        await MongoOutbox.AppendAsync(session, _db, accepted.Select(p => p.Event).ToList(), ct);
        return stored;
    }

    private async Task WriteAggregatesAsync(IClientSessionHandle session, List<PendingInteraction> accepted, long[] people, CancellationToken ct)
    {
        var tpDays = new List<WriteModel<BsonDocument>>();
        var dayPeople = new List<WriteModel<BsonDocument>>();
        var stageDays = new List<WriteModel<BsonDocument>>();
        var personTps = new List<WriteModel<BsonDocument>>();
        var purchases = new List<WriteModel<BsonDocument>>();
        var states = new List<WriteModel<BsonDocument>>();
        for (var i = 0; i < accepted.Count; i++)
        {
            var x = accepted[i].Interaction;
            var person = people[i];
            var day = JourneyAnalytics.DayOf(x.OccurredAt);
            var at = x.OccurredAt.ToUnixTimeMilliseconds();
            tpDays.Add(Upsert($"{day}/{x.TouchpointId}", new BsonDocument
            {
                ["$inc"] = new BsonDocument { ["interactions"] = 1L, ["rating_sum"] = (long)x.Rating, ["rating_count"] = x.Rating > 0 ? 1L : 0L },
                ["$setOnInsert"] = new BsonDocument { ["day"] = day, ["touchpoint_id"] = x.TouchpointId },
            }));
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

        await BulkAsync(session, TouchpointDays, tpDays, ct);
        await BulkAsync(session, TouchpointDayPeople, dayPeople, ct);
        await BulkAsync(session, PersonStageDays, stageDays, ct);
        await BulkAsync(session, PersonTouchpoints, personTps, ct);
        await BulkAsync(session, Purchases, purchases, ct);
        await BulkAsync(session, PersonState, states, ct);
    }

    private Task BulkAsync(IClientSessionHandle session, string collection, List<WriteModel<BsonDocument>> models, CancellationToken ct) =>
        models.Count == 0 ? Task.CompletedTask : _db.GetCollection<BsonDocument>(collection).BulkWriteAsync(session, models, new BulkWriteOptions { IsOrdered = true }, ct);

    private static UpdateOneModel<BsonDocument> Upsert(BsonValue id, BsonDocument update) =>
        new(new BsonDocument("_id", id), update) { IsUpsert = true };

    public Task<IReadOnlyList<TimelineEntry>> TimelineAsync(PersonIdentifier identifier, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<TimelineEntry>>(async (_, ct) =>
        {
            var people = await ResolveAsync(null, [identifier], ct);
            if (people.Count == 0)
            {
                return [];
            }

            var filter = new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people)));
            if (after is not null)
            {
                var at = after.OccurredAt.UtcDateTime;
                filter["$or"] = new BsonArray
                {
                    new BsonDocument("occurred_at", new BsonDocument("$lt", at)),
                    new BsonDocument { ["occurred_at"] = at, ["seq"] = new BsonDocument("$lt", after.Sequence) },
                };
            }

            var documents = await _db.GetCollection<BsonDocument>(Interactions).Find(filter)
                .Sort(new BsonDocument { ["occurred_at"] = -1, ["seq"] = -1 }).Limit(limit).ToListAsync(ct);
            var profiles = (await _db.GetCollection<BsonDocument>(PersonProfile)
                    .Find(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(people)))).ToListAsync(ct))
                .ToDictionary(d => d["_id"].ToInt64(), d => d["profile_id"].AsString);
            return documents.Select(d => FromDocument(d, profiles)).ToList();
        }, cancellationToken);

    public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            foreach (var merge in merges)
            {
                if (!await MongoInbox.TryClaimAsync(session, _db, Consumer + "." + Topics.ProfilesMerged, merge.EventId, now, ct))
                {
                    continue;
                }

                var people = await ResolveAsync(session,
                    [.. merge.MovedIdentifiers, new PersonIdentifier(IdentifierKind.ProfileId, merge.Merged), new PersonIdentifier(IdentifierKind.ProfileId, merge.Survivor)], ct);
                var models = people.SelectMany(p => new[] { merge.Survivor, merge.Merged }.Select(profile =>
                    (WriteModel<BsonDocument>)Upsert($"{profile}/{p}", new BsonDocument("$setOnInsert", new BsonDocument { ["profile_id"] = profile, ["person_id"] = p })))).ToList();
                await BulkAsync(session, ProfilePersons, models, ct);

                // Merges arrive in the order the profile service made them, so the last survivor is the person's profile.
                await BulkAsync(session, PersonProfile, people.Select(p =>
                    (WriteModel<BsonDocument>)Upsert(p, new BsonDocument("$set", new BsonDocument("profile_id", merge.Survivor)))).ToList(), ct);
            }

            return 0;
        }, cancellationToken);

    public Task EraseAsync(string eventId, IReadOnlyList<PersonIdentifier> identifiers, Func<long, OutboxMessage> completed, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            if (!await MongoInbox.TryClaimAsync(session, _db, Consumer + "." + Topics.ErasureRequested, eventId, now, ct))
            {
                return 0;
            }

            var people = await ResolveAsync(session, identifiers, ct);
            long erased = 0;
            if (people.Count > 0)
            {
                var filter = new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people)));
                foreach (var collection in new[] { Interactions, PersonLinks, ProfilePersons })
                {
                    erased += (await _db.GetCollection<BsonDocument>(collection).DeleteManyAsync(session, filter, cancellationToken: ct)).DeletedCount;
                }

                await _db.GetCollection<BsonDocument>(PersonProfile).DeleteManyAsync(
                    session, new BsonDocument("_id", new BsonDocument("$in", new BsonArray(people))), cancellationToken: ct);
            }

            await MongoOutbox.AppendAsync(session, _db, [completed(erased)], ct);
            return 0;
        }, cancellationToken);

    public Task<int> SweepAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            // The TTL index does this on its own; an explicit sweep removes what it has not reached yet.
            var ids = await _db.GetCollection<BsonDocument>(Interactions).Find(new BsonDocument("occurred_at", new BsonDocument("$lt", cutoff.UtcDateTime)))
                .Limit(max).Project(new BsonDocument("_id", 1)).ToListAsync(ct);
            var result = await _db.GetCollection<BsonDocument>(Interactions).DeleteManyAsync(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(ids.Select(d => d["_id"])))), ct);
            return (int)result.DeletedCount;
        }, cancellationToken);

    private async Task<List<long>> ResolveAsync(IClientSessionHandle? session, IReadOnlyList<PersonIdentifier> identifiers, CancellationToken ct)
    {
        var people = new HashSet<long>();
        var links = _db.GetCollection<BsonDocument>(PersonLinks);
        var profiles = _db.GetCollection<BsonDocument>(ProfilePersons);
        var keyFilter = new BsonDocument("_id", new BsonDocument("$in", new BsonArray(identifiers.Select(i => i.Key))));
        var profileFilter = new BsonDocument("profile_id", new BsonDocument("$in", new BsonArray(identifiers.Where(i => i.Kind == IdentifierKind.ProfileId).Select(i => i.Value))));
        foreach (var d in await (session is null ? links.Find(keyFilter) : links.Find(session, keyFilter)).ToListAsync(ct))
        {
            people.Add(d["person_id"].ToInt64());
        }

        foreach (var d in await (session is null ? profiles.Find(profileFilter) : profiles.Find(session, profileFilter)).ToListAsync(ct))
        {
            people.Add(d["person_id"].ToInt64());
        }

        if (people.Count > 0)
        {
            var mine = new BsonDocument("person_id", new BsonDocument("$in", new BsonArray(people)));
            var profileIds = (await (session is null ? profiles.Find(mine) : profiles.Find(session, mine)).ToListAsync(ct)).Select(d => d["profile_id"]).Distinct().ToList();
            var siblings = new BsonDocument("profile_id", new BsonDocument("$in", new BsonArray(profileIds)));
            foreach (var d in await (session is null ? profiles.Find(siblings) : profiles.Find(session, siblings)).ToListAsync(ct))
            {
                people.Add(d["person_id"].ToInt64());
            }
        }

        return people.Order().ToList();
    }

    private static string ClaimId(Interaction interaction) => interaction.EventId;

    private static DateTime DayStart(DateTimeOffset at) => DateTime.UnixEpoch.AddDays(JourneyAnalytics.DayOf(at));

    private static BsonDocument ToDocument(Interaction x, long person)
    {
        var properties = new BsonDocument();
        foreach (var (key, value) in x.Properties)
        {
            properties.Add(key, value);
        }

        return new BsonDocument
        {
            // A time-ordered sequence (ticks of the UUIDv7 the outbox uses would do as well): ties on time sort by it.
            ["seq"] = (x.RecordedAt.UtcTicks << 8) | (long)(Random.Shared.Next(256)),
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

    private static TimelineEntry FromDocument(BsonDocument d, Dictionary<long, string> profiles)
    {
        var occurred = new DateTimeOffset(d["occurred_at"].ToUniversalTime(), TimeSpan.Zero);
        var value = d["value"] is BsonDocument v ? new MoneyAmount(v["currency"].AsString, v["units"].ToInt64(), v["nanos"].ToInt32()) : null;
        var interaction = new Interaction(
            d["event_id"].AsString,
            d["touchpoint_id"].AsString,
            occurred,
            d["identifiers"].AsBsonArray.Select(k =>
            {
                var key = k.AsString;
                var colon = key.IndexOf(':', StringComparison.Ordinal);
                return new PersonIdentifier((IdentifierKind)int.Parse(key.AsSpan(0, colon), System.Globalization.CultureInfo.InvariantCulture), key[(colon + 1)..]);
            }).ToList(),
            (InteractionType)d["type"].ToInt32(),
            d["content"].AsString,
            d["recommendation"].AsString,
            d["rating"].ToInt32(),
            d["comment"].AsString,
            value,
            d["properties"].AsBsonDocument.ToDictionary(e => e.Name, e => e.Value.AsString),
            new DateTimeOffset(d["recorded_at"].ToUniversalTime(), TimeSpan.Zero));
        return new TimelineEntry(interaction, new TimelineCursor(occurred, d["seq"].ToInt64()), profiles.GetValueOrDefault(d["person_id"].ToInt64()));
    }
}
