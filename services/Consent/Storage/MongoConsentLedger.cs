using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Consent.Storage;

/// <summary>
/// The consent ledger in the service's MongoDB database. Several replicas may append to one
/// subject at once: the chain head (length, hash, last storage order) lives on the subject document
/// and is updated with its expected length inside the transaction, so only one append wins and the
/// other is retried by the driver or reported as a conflict. The storage order (<c>seq</c>) is
/// milliseconds times 1024, kept above the subject's previous one, so it rises along every chain
/// even when replicas' clocks disagree.
/// </summary>
internal sealed class MongoConsentLedger : IConsentLedger
{
    private const string PendingExpiryFrom = "pending_expiry_from";
    private const string SubjectsCollection = "subjects";
    private const string IdentifiersCollection = "subject_identifiers";
    private const string RecordsCollection = "records";
    private const string DecisionsCollection = "decisions";
    private const string CompletionsCollection = "erasure_completions";
    private const string RecordedViaCollection = "recorded_via";

    private const string RequestsCollection = MongoRequestClaims.Collection;
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _subjects;
    private readonly IMongoCollection<BsonDocument> _identifiers;
    private readonly IMongoCollection<BsonDocument> _records;
    private readonly IMongoCollection<BsonDocument> _decisions;
    private readonly IMongoCollection<BsonDocument> _erasures;
    private readonly IMongoCollection<BsonDocument> _completions;
    private readonly IMongoCollection<BsonDocument> _recordedVia;

    public MongoConsentLedger([FromKeyedServices(ConsentModule.Name)] MongoStore store)
    {
        _store = store;
        var db = store.Database;
        _subjects = db.GetCollection<BsonDocument>(SubjectsCollection);
        _identifiers = db.GetCollection<BsonDocument>(IdentifiersCollection);
        _records = db.GetCollection<BsonDocument>(RecordsCollection);
        _decisions = db.GetCollection<BsonDocument>(DecisionsCollection);
        _erasures = db.GetCollection<BsonDocument>("erasures");
        _completions = db.GetCollection<BsonDocument>(CompletionsCollection);
        _recordedVia = db.GetCollection<BsonDocument>(RecordedViaCollection);
        store.Indexes.Declare(Indexes);
        store.Indexes.Retire(RetiredIndexes);
        store.Indexes.Declare(MongoErasureTombstones.Index);
    }

    /// <summary>
    /// Only subjects merged into another, whose <c>merged_into</c> holds the survivor's id; the others
    /// hold null. A comparison, not <c>{$type: "string"}</c>: the query planner uses a partial index
    /// only when it can prove the query's filter implies the index's, and it proves that for an
    /// equality or range on the same field against a comparison, never against a <c>$type</c>
    /// (docs/adr/0017-mongodb-index-lifecycle.md). Every query on <c>merged_into</c> carries it.
    /// </summary>
    internal static readonly BsonDocument MergedFilter = new("merged_into", new BsonDocument("$gt", ""));

    /// <summary>The ledger's indexes.</summary>
    internal static IReadOnlyList<MongoIndex> Indexes { get; } =
    [
        new(SubjectsCollection, new BsonDocument("merged_into", 1)) { Name = "merged_into_set", PartialFilter = MergedFilter },
        new(IdentifiersCollection, new BsonDocument("subject", 1)),
        new(RecordsCollection, new BsonDocument { ["subject"] = 1, ["sequence"] = 1 }) { Unique = true },
        new(RecordsCollection, new BsonDocument { ["subject"] = 1, ["seq"] = 1 }),
        new(DecisionsCollection, new BsonDocument { ["subject"] = 1, ["purpose"] = 1 }),
        // Holds only grants whose expiry is not yet published, so the expiry sweep never rereads published ones.
        new(DecisionsCollection, new BsonDocument { ["purpose"] = 1, [PendingExpiryFrom] = 1 })
        {
            Name = "pending_expiry",
            PartialFilter = new BsonDocument(PendingExpiryFrom, new BsonDocument("$exists", true)),
        },
        new(CompletionsCollection, new BsonDocument("erasure", 1)),
        new(RecordedViaCollection, new BsonDocument("subject", 1)),
        // Request ids go once the server's clock passes their expiry (its TTL monitor runs about once
        // a minute); the ledger maintenance deletes them by the service's clock as well.
        new(RequestsCollection, new BsonDocument("expires_at", 1)) { Name = "expires_at_ttl", ExpireAfter = TimeSpan.Zero },
    ];

    /// <summary>The <c>merged_into</c> index with the <c>$type</c> filter no query could use, replaced by <c>merged_into_set</c>.</summary>
    internal static IReadOnlyList<RetiredMongoIndex> RetiredIndexes { get; } = [new(SubjectsCollection, "merged_into_1")];

    /// <summary>Subjects merged into <paramref name="subject"/>, in a form the partial index on <c>merged_into</c> serves.</summary>
    internal static BsonDocument MergedInto(string subject) =>
        new("merged_into", new BsonDocument { ["$eq"] = subject, ["$gt"] = "" });

    public Task<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            foreach (var identifier in identifiers)
            {
                var row = await _identifiers.Find(new BsonDocument("_id", IdentifierId(identifier))).FirstOrDefaultAsync(ct);
                if (row is not null)
                {
                    return await ResolveAsync(null, Guid.Parse(row["subject"].AsString), ct);
                }
            }

            return null;
        }, cancellationToken);

    public Task<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync((_, ct) => ResolveAsync(null, subject, ct), cancellationToken);

    public Task<IReadOnlyDictionary<SubjectIdentifier, Guid>> FindSubjectsAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyDictionary<SubjectIdentifier, Guid>>(async (_, ct) =>
        {
            var found = new Dictionary<SubjectIdentifier, Guid>();
            if (identifiers.Count == 0)
            {
                return found;
            }

            var rows = await _identifiers.Find(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(identifiers.Select(IdentifierId))))).ToListAsync(ct);
            foreach (var row in rows)
            {
                if (await ResolveAsync(null, Guid.Parse(row["subject"].AsString), ct) is { } subject)
                {
                    found[new SubjectIdentifier((IdentifierKind)row["kind"].AsInt32, row["value"].AsString)] = subject;
                }
            }

            return found;
        }, cancellationToken);

    public Task<IReadOnlyList<SubjectIdentifier>> GetIdentifiersAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<SubjectIdentifier>>(async (_, ct) =>
        {
            var rows = await _identifiers.Find(new BsonDocument("subject", subject.ToString())).ToListAsync(ct);
            return rows.Select(r => new SubjectIdentifier((IdentifierKind)r["kind"].AsInt32, r["value"].AsString)).OrderBy(i => i.Kind).ThenBy(i => i.Value, StringComparer.Ordinal).ToList();
        }, cancellationToken);

    public async Task<IReadOnlyList<ConsentRecord>> AppendAsync(LedgerAppend append, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.WriteAsync<IReadOnlyList<ConsentRecord>>(async (session, ct) =>
            {
                if (append.Inbox is { } inbox && !await MongoInbox.TryClaimAsync(session, _store.Database, inbox.Consumer, inbox.EventId, append.Now, ct))
                {
                    return [];
                }

                await MongoErasureTombstones.ThrowIfBlockedAsync(session, _store.Database, append.ErasureChecks, ct);
                await MongoRequestClaims.ClaimAsync(session, _store.Database, append.Request, ct);
                if (append.CreateSubject)
                {
                    await _subjects.InsertOneAsync(session, NewSubject(append.Subject, append.Now), cancellationToken: ct);
                }

                if (append.LinkIdentifiers.Count > 0)
                {
                    await _identifiers.InsertManyAsync(session, append.LinkIdentifiers.Select(i => IdentifierDocument(i, append.Subject)), cancellationToken: ct);
                }

                var records = await AppendRecordsAsync(session, append.Subject, append.Records, append.Now, ct);
                await RememberViaAsync(session, append.Subject, append.CreateSubject, records, append.RecordedVia, ct);
                await MongoOutbox.AppendAsync(session, _store.Database, append.Events, ct);
                return records;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new ConcurrencyConflictException("Subject", ConsentNames.Subject(append.Subject));
        }
    }

    public async Task<IReadOnlyList<IReadOnlyList<ConsentRecord>>> AppendBatchAsync(IReadOnlyList<LedgerAppend> appends, RequestClaim? request, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.WriteAsync<IReadOnlyList<IReadOnlyList<ConsentRecord>>>(async (session, ct) =>
            {
                await MongoRequestClaims.ClaimAsync(session, _store.Database, request, ct);
                var created = appends.Where(a => a.CreateSubject).Select(a => NewSubject(a.Subject, a.Now)).ToList();
                if (created.Count > 0)
                {
                    await _subjects.InsertManyAsync(session, created, cancellationToken: ct);
                }

                var links = appends.SelectMany(a => a.LinkIdentifiers.Select(i => IdentifierDocument(i, a.Subject))).ToList();
                if (links.Count > 0)
                {
                    await _identifiers.InsertManyAsync(session, links, cancellationToken: ct);
                }

                var results = new List<IReadOnlyList<ConsentRecord>>(appends.Count);
                foreach (var append in appends)
                {
                    var records = await AppendRecordsAsync(session, append.Subject, append.Records, append.Now, ct);
                    await RememberViaAsync(session, append.Subject, append.CreateSubject, records, append.RecordedVia, ct);
                    results.Add(records);
                }

                await MongoOutbox.AppendAsync(session, _store.Database, [.. appends.SelectMany(a => a.Events)], ct);
                return results;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new ConcurrencyConflictException("Subject", appends.Count == 0 ? "" : ConsentNames.Subject(appends[0].Subject));
        }
    }

    public Task<IReadOnlyDictionary<string, PurposeDecisions>> GetDecisionsAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyDictionary<string, PurposeDecisions>>(async (_, ct) =>
        {
            var entries = await DecisionEntriesAsync(new BsonDocument("subject", subject.ToString()), ct);
            return entries.GroupBy(e => e.Purpose).ToDictionary(g => g.Key, g => PurposeDecisions.From(g.Select(e => e.Entry)));
        }, cancellationToken);

    public Task<PurposeDecisions> GetPurposeDecisionsAsync(Guid subject, string purposeId, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var entries = await DecisionEntriesAsync(new BsonDocument { ["subject"] = subject.ToString(), ["purpose"] = purposeId }, ct);
            return PurposeDecisions.From(entries.Select(e => e.Entry));
        }, cancellationToken);

    public Task<long> GetChainLengthAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) => (await HeadAsync(null, subject, ct)).Length, cancellationToken);

    public Task<ChainHead> GetChainHeadAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var (length, hash, _) = await HeadAsync(null, subject, ct);
            return new ChainHead(length, hash);
        }, cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> GetRecordsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ConsentRecord>>(async (_, ct) =>
        {
            if (ids.Count == 0)
            {
                return [];
            }

            var rows = await _records.Find(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(ids.Select(i => i.ToString()))))).ToListAsync(ct);
            return rows.Select(FromDocument).ToList();
        }, cancellationToken);

    public Task<StoredRequest?> FindRequestAsync(string requestId, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (db, ct) =>
        {
            var row = await db.GetCollection<BsonDocument>(RequestsCollection).Find(new BsonDocument("_id", requestId)).FirstOrDefaultAsync(ct);
            return row is null ? null : new StoredRequest(row["fingerprint"].AsString, RequestOutcome.Decode(row["outcome"].AsString));
        }, cancellationToken);

    public Task<int> DeleteExpiredRequestsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (db, ct) =>
        {
            var requests = db.GetCollection<BsonDocument>(RequestsCollection);
            var due = await requests.Find(new BsonDocument("expires_at", new BsonDocument("$lte", now.UtcDateTime)))
                .Sort(new BsonDocument("expires_at", 1)).Limit(limit).Project(new BsonDocument("_id", 1)).ToListAsync(ct);
            if (due.Count == 0)
            {
                return 0;
            }

            var deleted = await requests.DeleteManyAsync(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(due.Select(d => d["_id"])))), ct);
            return (int)deleted.DeletedCount;
        }, cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> ListHistoryAsync(Guid subject, long afterSeq, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ConsentRecord>>(async (_, ct) =>
        {
            var family = await FamilyAsync(null, subject, ct);
            var filter = new BsonDocument { ["subject"] = new BsonDocument("$in", new BsonArray(family)), ["seq"] = new BsonDocument("$gt", afterSeq) };
            var rows = await _records.Find(filter).Sort(new BsonDocument { ["seq"] = 1, ["_id"] = 1 }).Limit(limit).ToListAsync(ct);
            return rows.Select(FromDocument).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> ReadChainAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ConsentRecord>>(async (_, ct) =>
        {
            var rows = await _records.Find(new BsonDocument("subject", subject.ToString())).Sort(new BsonDocument("sequence", 1)).ToListAsync(ct);
            return rows.Select(FromDocument).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>?> MergeAsync(MergePlan plan, CancellationToken cancellationToken) =>
        _store.WriteAsync<IReadOnlyList<ConsentRecord>?>(async (session, ct) =>
        {
            if (!await MongoInbox.TryClaimAsync(session, _store.Database, plan.Consumer, plan.EventId, plan.Now, ct))
            {
                return null;
            }

            await MongoErasureTombstones.ThrowIfBlockedAsync(session, _store.Database, plan.ErasureChecks, ct);
            await ThrowIfHeadsMovedAsync(session, plan.ExpectedHeads, ct);

            var target = plan.Target.ToString();
            foreach (var source in plan.Sources.Select(s => s.ToString()))
            {
                // Subjects merged into the source keep the parent they were first merged into; the source remembers this merge.
                await _subjects.UpdateManyAsync(session, MergedInto(source), new BsonDocument("$set", new BsonDocument("merged_into", target)), cancellationToken: ct);
                await _subjects.UpdateOneAsync(
                    session,
                    new BsonDocument("_id", source),
                    new BsonDocument("$set", new BsonDocument
                    {
                        ["merged_into"] = target,
                        ["merged_by"] = plan.MergedProfile,
                        ["merged_parent"] = target,
                        ["merged_head"] = plan.ExpectedHeads.GetValueOrDefault(plan.Target) + plan.CarriedOver.Count,
                    }),
                    cancellationToken: ct);
                await _identifiers.UpdateManyAsync(session, new BsonDocument("subject", source), new BsonDocument("$set", new BsonDocument("subject", target)), cancellationToken: ct);
            }

            foreach (var identifier in plan.Identifiers)
            {
                await _identifiers.ReplaceOneAsync(session, new BsonDocument("_id", IdentifierId(identifier)), IdentifierDocument(identifier, plan.Target), new ReplaceOptions { IsUpsert = true }, ct);
            }

            var records = await AppendRecordsAsync(session, plan.Target, plan.CarriedOver, plan.Now, ct);
            await MongoOutbox.AppendAsync(session, _store.Database, plan.Events, ct);
            return records;
        }, cancellationToken);

    public Task<IReadOnlyList<(Guid Subject, long MergedHead)>> MergedByAsync(Guid target, string mergedProfile, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<(Guid Subject, long MergedHead)>>(async (_, ct) =>
        {
            // The partial index on merged_into finds the target's few merged subjects; merged_by picks this merge's.
            var filter = MergedInto(target.ToString());
            filter["merged_by"] = mergedProfile;
            return (await _subjects.Find(filter).Sort(new BsonDocument("_id", 1)).ToListAsync(ct))
                .Select(d => (Guid.Parse(d["_id"].AsString), d.GetValue("merged_head", 0L).ToInt64())).ToList();
        }, cancellationToken);

    public Task<IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>> GetRecordedViaAsync(Guid subject, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>>(async (_, ct) =>
        {
            var rows = await _recordedVia.Find(new BsonDocument("subject", subject.ToString())).ToListAsync(ct);
            return rows.ToDictionary(
                r => Guid.Parse(r["_id"].AsString),
                r => (IReadOnlyList<SubjectIdentifier>)[.. r["identifiers"].AsBsonArray.Select(i => new SubjectIdentifier((IdentifierKind)i["kind"].AsInt32, i["value"].AsString))]);
        }, cancellationToken);

    public Task<SplitOutcome?> SplitAsync(SplitPlan plan, CancellationToken cancellationToken) =>
        _store.WriteAsync<SplitOutcome?>(async (session, ct) =>
        {
            if (!await MongoInbox.TryClaimAsync(session, _store.Database, plan.Consumer, plan.EventId, plan.Now, ct))
            {
                return null;
            }

            await MongoErasureTombstones.ThrowIfBlockedAsync(session, _store.Database, plan.ErasureChecks, ct);
            await ThrowIfHeadsMovedAsync(session, plan.ExpectedHeads, ct);

            if (plan.CreateRestored)
            {
                await _subjects.InsertOneAsync(session, NewSubject(plan.Restored, plan.Now), cancellationToken: ct);
            }

            var target = plan.Target.ToString();
            var repointed = new List<(Guid Subject, Guid? MergedInto)>();
            foreach (var source in plan.Sources.Select(s => s.ToString()))
            {
                var followers = MergedInto(target);
                followers["merged_parent"] = source;
                foreach (var follower in await _subjects.Find(session, followers).ToListAsync(ct))
                {
                    repointed.Add((Guid.Parse(follower["_id"].AsString), Guid.Parse(source)));
                }

                await _subjects.UpdateManyAsync(session, followers, new BsonDocument("$set", new BsonDocument("merged_into", source)), cancellationToken: ct);
                await _subjects.UpdateOneAsync(
                    session,
                    new BsonDocument("_id", source),
                    new BsonDocument("$set", new BsonDocument { ["merged_into"] = BsonNull.Value, ["merged_by"] = BsonNull.Value, ["merged_parent"] = BsonNull.Value, ["merged_head"] = BsonNull.Value }),
                    cancellationToken: ct);
                repointed.Add((Guid.Parse(source), null));
            }

            foreach (var identifier in plan.Identifiers)
            {
                await _identifiers.ReplaceOneAsync(session, new BsonDocument("_id", IdentifierId(identifier)), IdentifierDocument(identifier, plan.Restored), new ReplaceOptions { IsUpsert = true }, ct);
            }

            if (plan.SurvivorMovesTo is var (survivorSubject, leaving))
            {
                await _subjects.InsertOneAsync(session, NewSubject(survivorSubject, plan.Now), cancellationToken: ct);
                foreach (var identifier in leaving)
                {
                    await _identifiers.ReplaceOneAsync(session, new BsonDocument("_id", IdentifierId(identifier)), IdentifierDocument(identifier, survivorSubject), new ReplaceOptions { IsUpsert = true }, ct);
                }
            }

            var restored = await AppendRecordsAsync(session, plan.Restored, plan.RestoredRecords, plan.Now, ct);
            var kept = await AppendRecordsAsync(session, plan.Target, plan.TargetRecords, plan.Now, ct);
            await RememberViaAsync(session, plan.Restored, plan.CreateRestored, restored, plan.RestoredVia, ct);
            foreach (var subject in new[] { plan.Target, plan.Restored })
            {
                // What a record came through is needed only while a merge into its subject can still be undone.
                if (!await HasOpenMergeAsync(session, subject, ct))
                {
                    await _recordedVia.DeleteManyAsync(session, new BsonDocument("subject", subject.ToString()), cancellationToken: ct);
                }
            }

            await MongoOutbox.AppendAsync(session, _store.Database, plan.Events, ct);
            return new SplitOutcome(restored, kept, repointed);
        }, cancellationToken);

    public Task<ErasureOutcome> EraseAsync(ErasurePlan plan, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            await MongoRequestClaims.ClaimAsync(session, _store.Database, plan.Request, ct);
            await _erasures.InsertOneAsync(session, new BsonDocument
            {
                ["_id"] = plan.ErasureId.ToString(),
                ["subject"] = plan.Subject is { } s ? s.ToString() : BsonNull.Value,
                ["requested_at"] = plan.RequestedAt.ToUnixTimeMilliseconds(),
            }, cancellationToken: ct);
            IReadOnlyList<ConsentRecord> appended = [];
            var removed = new List<SubjectIdentifier>();
            long redacted = 0;
            if (plan.Subject is { } subject)
            {
                appended = await AppendRecordsAsync(session, subject, plan.Withdrawals, plan.RequestedAt, ct);
                var family = new BsonDocument("$in", new BsonArray(await FamilyAsync(session, subject, ct)));
                var rows = await _identifiers.Find(session, new BsonDocument("subject", family)).ToListAsync(ct);
                removed.AddRange(rows.Select(r => new SubjectIdentifier((IdentifierKind)r["kind"].AsInt32, r["value"].AsString)));
                await _identifiers.DeleteManyAsync(session, new BsonDocument("subject", family), cancellationToken: ct);
                await _recordedVia.DeleteManyAsync(session, new BsonDocument("subject", family), cancellationToken: ct);
                var update = new BsonDocument("$set", new BsonDocument { ["form_id"] = "", ["ip_hash"] = "", ["user_agent"] = "", ["redacted"] = true });
                redacted = (await _records.UpdateManyAsync(session, new BsonDocument { ["subject"] = family, ["redacted"] = false }, update, cancellationToken: ct)).ModifiedCount;
            }

            var erased = redacted + removed.Count;
            await MongoErasureTombstones.RememberAsync(session, _store.Database, plan.TombstonesOf(removed), ct);
            await MongoOutbox.AppendAsync(session, _store.Database, plan.Events(erased), ct);
            return new ErasureOutcome(appended, removed, erased);
        }, cancellationToken);

    public Task<Erasure?> GetErasureAsync(Guid erasureId, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var erasure = await _erasures.Find(new BsonDocument("_id", erasureId.ToString())).FirstOrDefaultAsync(ct);
            if (erasure is null)
            {
                return null;
            }

            var completions = await _completions.Find(new BsonDocument("erasure", erasureId.ToString())).ToListAsync(ct);
            return new Erasure(
                erasureId,
                erasure["subject"].IsBsonNull ? null : Guid.Parse(erasure["subject"].AsString),
                DateTimeOffset.FromUnixTimeMilliseconds(erasure["requested_at"].AsInt64),
                [.. completions.Select(c => new ServiceErasure(c["service"].AsString, DateTimeOffset.FromUnixTimeMilliseconds(c["completed_at"].AsInt64), c["records_erased"].AsInt64))]);
        }, cancellationToken);

    public Task RecordErasureCompletionsAsync(string consumer, IReadOnlyList<ErasureCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            foreach (var completion in completions)
            {
                if (!await MongoInbox.TryClaimAsync(session, _store.Database, consumer, completion.EventId, now, ct))
                {
                    continue;
                }

                if (!await _erasures.Find(session, new BsonDocument("_id", completion.ErasureId.ToString())).AnyAsync(ct))
                {
                    throw new InvalidArgumentException("erasure", "names no erasure this service requested");
                }

                var id = $"{completion.ErasureId}|{completion.Completion.Service}";
                // Read before insert: a duplicate-key error would abort the whole transaction.
                if (!await _completions.Find(session, new BsonDocument("_id", id)).AnyAsync(ct))
                {
                    await _completions.InsertOneAsync(session, new BsonDocument
                    {
                        ["_id"] = id,
                        ["erasure"] = completion.ErasureId.ToString(),
                        ["service"] = completion.Completion.Service,
                        ["completed_at"] = completion.Completion.CompletedAt.ToUnixTimeMilliseconds(),
                        ["records_erased"] = completion.Completion.RecordsErased,
                    }, cancellationToken: ct);
                }
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<ExpiredGrant>> FindUnpublishedExpiriesAsync(string purposeId, DateTimeOffset capturedAtOrBefore, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<ExpiredGrant>>(async (_, ct) =>
        {
            var filter = new BsonDocument { ["purpose"] = purposeId, [PendingExpiryFrom] = new BsonDocument("$lte", capturedAtOrBefore.ToUnixTimeMilliseconds()) };
            var decisions = await _decisions.Find(filter).Sort(new BsonDocument(PendingExpiryFrom, 1)).Limit(limit).ToListAsync(ct);
            if (decisions.Count == 0)
            {
                return [];
            }

            var records = await _records.Find(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(decisions.Select(d => d["_id"]))))).ToListAsync(ct);
            return [.. records.Select(FromDocument).OrderBy(r => r.Draft.CapturedAt).Select(r => new ExpiredGrant(r.Subject, purposeId, DecisionEntry.Of(r)))];
        }, cancellationToken);

    public Task<int> MarkExpiriesPublishedAsync(IReadOnlyList<ExpiryNotice> notices, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var events = new List<OutboxMessage>(notices.Count);
            var unset = new BsonDocument("$unset", new BsonDocument(PendingExpiryFrom, ""));
            foreach (var notice in notices)
            {
                var filter = new BsonDocument { ["_id"] = notice.Grant.Entry.RecordId.ToString(), [PendingExpiryFrom] = new BsonDocument("$exists", true) };
                // No match: another replica marked it, or a newer record replaced the decision meanwhile.
                if ((await _decisions.UpdateOneAsync(session, filter, unset, cancellationToken: ct)).ModifiedCount == 1 && notice.Event is { } message)
                {
                    events.Add(message);
                }
            }

            await MongoOutbox.AppendAsync(session, _store.Database, events, ct);
            return events.Count;
        }, cancellationToken);

    public Task LoadStateAsync(ILedgerStateSink sink, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            await _identifiers.Find(new BsonDocument()).ForEachAsync(r => sink.Identifier(new SubjectIdentifier((IdentifierKind)r["kind"].AsInt32, r["value"].AsString), Guid.Parse(r["subject"].AsString)), ct);
            await _subjects.Find(MergedFilter).ForEachAsync(s => sink.Merged(Guid.Parse(s["_id"].AsString), Guid.Parse(s["merged_into"].AsString)), ct);
            foreach (var (subject, purpose, entry) in await DecisionEntriesWithSubjectAsync(new BsonDocument(), ct))
            {
                sink.Decision(subject, purpose, entry);
            }

            return 0;
        }, cancellationToken);

    private async Task<IReadOnlyList<ConsentRecord>> AppendRecordsAsync(IClientSessionHandle session, Guid subject, IReadOnlyList<RecordDraft> drafts, DateTimeOffset now, CancellationToken ct)
    {
        if (drafts.Count == 0)
        {
            return [];
        }

        var (length, previous, headSeq) = await HeadAsync(session, subject, ct);
        var expectedLength = length;
        var seq = Math.Max(now.ToUnixTimeMilliseconds() * 1024, headSeq + 1);
        var records = new List<ConsentRecord>(drafts.Count);
        foreach (var draft in drafts)
        {
            length++;
            var record = ConsentChain.Seal(seq, subject, length, draft, previous);
            await _records.InsertOneAsync(session, ToDocument(record), cancellationToken: ct);
            var mask = draft.Channels.Bits;
            var superseded = new BsonDocument { ["subject"] = subject.ToString(), ["purpose"] = draft.PurposeId };
            if (mask != 0)
            {
                superseded["channels"] = new BsonDocument { ["$ne"] = 0, ["$bitsAllClear"] = ~mask & int.MaxValue };
            }

            await _decisions.DeleteManyAsync(session, superseded, cancellationToken: ct);
            var decision = new BsonDocument
            {
                ["_id"] = record.Draft.Id.ToString(),
                ["subject"] = subject.ToString(),
                ["purpose"] = draft.PurposeId,
                ["seq"] = seq,
                ["channels"] = mask,
            };
            if (draft.Granted)
            {
                decision[PendingExpiryFrom] = draft.CapturedAt.ToUnixTimeMilliseconds();
            }

            await _decisions.InsertOneAsync(session, decision, cancellationToken: ct);
            records.Add(record);
            previous = record.Hash;
            seq++;
        }

        var head = await _subjects.UpdateOneAsync(
            session,
            new BsonDocument { ["_id"] = subject.ToString(), ["chain_length"] = expectedLength },
            new BsonDocument("$set", new BsonDocument { ["chain_length"] = length, ["head_hash"] = previous, ["head_seq"] = seq - 1 }),
            cancellationToken: ct);
        if (head.MatchedCount != 1)
        {
            throw new ConcurrencyConflictException("Subject", ConsentNames.Subject(subject));
        }

        return records;
    }

    /// <summary>
    /// Keeps what each of <paramref name="records"/> came through, when a merge into <paramref name="subject"/>
    /// can be undone; a new subject has none.
    /// </summary>
    private async Task RememberViaAsync(
        IClientSessionHandle session, Guid subject, bool newSubject, IReadOnlyList<ConsentRecord> records, IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>> via, CancellationToken ct)
    {
        if (newSubject || via.Count == 0 || records.Count == 0 || !await HasOpenMergeAsync(session, subject, ct))
        {
            return;
        }

        var documents = records
            .Where(r => via.TryGetValue(r.Draft.Id, out var identifiers) && identifiers.Count > 0)
            .Select(r => new BsonDocument
            {
                ["_id"] = r.Draft.Id.ToString(),
                ["subject"] = subject.ToString(),
                ["identifiers"] = new BsonArray(via[r.Draft.Id].Select(i => new BsonDocument { ["kind"] = (int)i.Kind, ["value"] = i.Value })),
            })
            .ToList();
        if (documents.Count > 0)
        {
            await _recordedVia.InsertManyAsync(session, documents, cancellationToken: ct);
        }
    }

    /// <summary>Whether a subject was merged into <paramref name="subject"/> by a merge that names its profile, so a split can undo it.</summary>
    private async Task<bool> HasOpenMergeAsync(IClientSessionHandle session, Guid subject, CancellationToken ct)
    {
        var filter = MergedInto(subject.ToString());
        filter["merged_by"] = new BsonDocument("$gt", "");
        return await _subjects.Find(session, filter).AnyAsync(ct);
    }

    /// <summary>Throws a conflict when a subject's chain is no longer the length the plan was made from: another write appended to it since.</summary>
    private async Task ThrowIfHeadsMovedAsync(IClientSessionHandle? session, IReadOnlyDictionary<Guid, long> expectedHeads, CancellationToken ct)
    {
        foreach (var (subject, expected) in expectedHeads)
        {
            if ((await HeadAsync(session, subject, ct)).Length != expected)
            {
                throw new ConcurrencyConflictException("Subject", ConsentNames.Subject(subject));
            }
        }
    }

    private async Task<(long Length, string Hash, long Seq)> HeadAsync(IClientSessionHandle? session, Guid subject, CancellationToken ct)
    {
        var filter = new BsonDocument("_id", subject.ToString());
        var document = session is null ? await _subjects.Find(filter).FirstOrDefaultAsync(ct) : await _subjects.Find(session, filter).FirstOrDefaultAsync(ct);
        return document is null
            ? throw new NotFoundException("Subject", ConsentNames.Subject(subject))
            : (document["chain_length"].ToInt64(), document["head_hash"].AsString, document["head_seq"].ToInt64());
    }

    private async Task<Guid?> ResolveAsync(IClientSessionHandle? session, Guid subject, CancellationToken ct)
    {
        var filter = new BsonDocument("_id", subject.ToString());
        var document = session is null ? await _subjects.Find(filter).FirstOrDefaultAsync(ct) : await _subjects.Find(session, filter).FirstOrDefaultAsync(ct);
        return document is null ? null : document["merged_into"].IsBsonNull ? subject : Guid.Parse(document["merged_into"].AsString);
    }

    private async Task<List<string>> FamilyAsync(IClientSessionHandle? session, Guid subject, CancellationToken ct)
    {
        var filter = MergedInto(subject.ToString());
        var merged = session is null ? await _subjects.Find(filter).ToListAsync(ct) : await _subjects.Find(session, filter).ToListAsync(ct);
        return [subject.ToString(), .. merged.Select(m => m["_id"].AsString)];
    }

    private async Task<List<(string Purpose, DecisionEntry Entry)>> DecisionEntriesAsync(BsonDocument filter, CancellationToken ct) =>
        [.. (await DecisionEntriesWithSubjectAsync(filter, ct)).Select(e => (e.Purpose, e.Entry))];

    private async Task<List<(Guid Subject, string Purpose, DecisionEntry Entry)>> DecisionEntriesWithSubjectAsync(BsonDocument filter, CancellationToken ct)
    {
        var decisions = await _decisions.Find(filter).ToListAsync(ct);
        if (decisions.Count == 0)
        {
            return [];
        }

        var records = await _records.Find(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(decisions.Select(d => d["_id"]))))).ToListAsync(ct);
        return [.. records.Select(FromDocument).Select(r => (r.Subject, r.Draft.PurposeId, DecisionEntry.Of(r)))];
    }

    private static string IdentifierId(SubjectIdentifier identifier) => $"{(int)identifier.Kind}:{identifier.Value}";

    /// <summary>A subject with an empty chain, not merged into another.</summary>
    private static BsonDocument NewSubject(Guid subject, DateTimeOffset createdAt) => new()
    {
        ["_id"] = subject.ToString(),
        ["created_at"] = createdAt.ToUnixTimeMilliseconds(),
        ["merged_into"] = BsonNull.Value,
        ["chain_length"] = 0L,
        ["head_hash"] = "",
        ["head_seq"] = 0L,
    };

    private static BsonDocument IdentifierDocument(SubjectIdentifier identifier, Guid subject) => new()
    {
        ["_id"] = IdentifierId(identifier),
        ["kind"] = (int)identifier.Kind,
        ["value"] = identifier.Value,
        ["subject"] = subject.ToString(),
    };

    private static BsonDocument ToDocument(ConsentRecord record)
    {
        var draft = record.Draft;
        return new BsonDocument
        {
            ["_id"] = draft.Id.ToString(),
            ["seq"] = record.Seq,
            ["subject"] = record.Subject.ToString(),
            ["sequence"] = record.Sequence,
            ["purpose"] = draft.PurposeId,
            ["granted"] = draft.Granted,
            ["channels"] = draft.Channels.Bits,
            ["policy_version"] = draft.PolicyVersion,
            ["captured_at"] = draft.CapturedAt.ToUnixTimeMilliseconds(),
            ["recorded_at"] = draft.RecordedAt.ToUnixTimeMilliseconds(),
            ["touchpoint"] = draft.Touchpoint,
            ["form_id"] = draft.Proof.FormId,
            ["ip_hash"] = draft.Proof.IpAddressHash,
            ["user_agent"] = draft.Proof.UserAgent,
            ["proof_digest"] = draft.Proof.Digest,
            ["redacted"] = draft.Proof.Redacted,
            ["origin"] = (int)draft.Origin,
            ["source_record"] = draft.SourceRecord,
            ["previous_hash"] = record.PreviousHash,
            ["hash"] = record.Hash,
        };
    }

    private static ConsentRecord FromDocument(BsonDocument d)
    {
        var proof = new ConsentProof(d["form_id"].AsString, d["ip_hash"].AsString, d["user_agent"].AsString, d["proof_digest"].AsString, d["redacted"].AsBoolean);
        var draft = new RecordDraft(
            Guid.Parse(d["_id"].AsString), d["purpose"].AsString, d["granted"].AsBoolean, new ChannelMask(d["channels"].AsInt32), d["policy_version"].AsInt32,
            DateTimeOffset.FromUnixTimeMilliseconds(d["captured_at"].AsInt64), DateTimeOffset.FromUnixTimeMilliseconds(d["recorded_at"].AsInt64),
            d["touchpoint"].AsString, proof, (RecordOrigin)d["origin"].AsInt32, d["source_record"].AsString);
        return new ConsentRecord(d["seq"].AsInt64, Guid.Parse(d["subject"].AsString), d["sequence"].ToInt64(), draft, d["previous_hash"].AsString, d["hash"].AsString);
    }
}
