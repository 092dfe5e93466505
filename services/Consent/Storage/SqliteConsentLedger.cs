using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Consent.Storage;

/// <summary>The consent ledger in the service's SQLite file. SQLite's single writer serialises appends, so a chain head never forks.</summary>
internal sealed class SqliteConsentLedger([FromKeyedServices(ConsentModule.Name)] SqliteDatabase db) : IConsentLedger
{
    private const string RecordColumns = "r.seq, r.id, r.subject, r.sequence, r.purpose, r.granted, r.channels, r.policy_version, r.captured_at, r.recorded_at, r.touchpoint, r.form_id, r.ip_hash, r.user_agent, r.proof_digest, r.redacted, r.origin, r.source_record, r.previous_hash, r.hash";

    /// <summary>Whether a subject was merged into <c>$subject</c> by a merge that names its profile, so a split can undo it.</summary>
    private const string OpenMerge = "EXISTS (SELECT 1 FROM subjects WHERE merged_into = $subject AND merged_by IS NOT NULL AND merged_by <> '')";

    private readonly SqliteDatabase _db = db.Migrated(SqliteSchema.Migrations);

    public Task<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            foreach (var identifier in identifiers)
            {
                await using var command = Command(
                    connection,
                    null,
                    "SELECT COALESCE(s.merged_into, s.id) FROM subject_identifiers i JOIN subjects s ON s.id = i.subject WHERE i.kind = $kind AND i.value = $value",
                    ("$kind", (int)identifier.Kind),
                    ("$value", identifier.Value));
                if (await command.ExecuteScalarAsync(ct) is string subject)
                {
                    return (Guid?)Guid.Parse(subject);
                }
            }

            return null;
        }, cancellationToken);

    public Task<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT COALESCE(merged_into, id) FROM subjects WHERE id = $id", ("$id", subject.ToString()));
            return await command.ExecuteScalarAsync(ct) is string found ? (Guid?)Guid.Parse(found) : null;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<SubjectIdentifier, Guid>> FindSubjectsAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyDictionary<SubjectIdentifier, Guid>>(async (connection, ct) =>
        {
            var found = new Dictionary<SubjectIdentifier, Guid>();
            await using var command = Command(connection, null, "SELECT COALESCE(s.merged_into, s.id) FROM subject_identifiers i JOIN subjects s ON s.id = i.subject WHERE i.kind = $kind AND i.value = $value");
            var kind = command.Parameters.Add("$kind", SqliteType.Integer);
            var value = command.Parameters.Add("$value", SqliteType.Text);
            foreach (var identifier in identifiers)
            {
                kind.Value = (int)identifier.Kind;
                value.Value = identifier.Value;
                if (await command.ExecuteScalarAsync(ct) is string subject)
                {
                    found[identifier] = Guid.Parse(subject);
                }
            }

            return found;
        }, cancellationToken);

    public Task<IReadOnlyList<SubjectIdentifier>> GetIdentifiersAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) => await IdentifiersOfAsync(connection, null, subject, ct), cancellationToken);

    public async Task<IReadOnlyList<ConsentRecord>> AppendAsync(LedgerAppend append, CancellationToken cancellationToken)
    {
        try
        {
            return await _db.WriteAsync<IReadOnlyList<ConsentRecord>>(async (connection, tx, ct) =>
            {
                if (append.Inbox is { } inbox && !await SqliteInbox.TryClaimAsync(connection, tx, inbox.Consumer, inbox.EventId, append.Now, ct))
                {
                    return [];
                }

                await SqliteErasureTombstones.ThrowIfBlockedAsync(connection, tx, append.ErasureChecks, ct);
                await SqliteRequestClaims.ClaimAsync(connection, tx, append.Request, ct);
                if (append.CreateSubject)
                {
                    await ExecuteAsync(connection, tx, "INSERT INTO subjects (id, created_at) VALUES ($id, $at)", ct, ("$id", append.Subject.ToString()), ("$at", append.Now.ToUnixTimeMilliseconds()));
                }

                foreach (var identifier in append.LinkIdentifiers)
                {
                    await ExecuteAsync(connection, tx, "INSERT INTO subject_identifiers (kind, value, subject) VALUES ($kind, $value, $subject)", ct,
                        ("$kind", (int)identifier.Kind), ("$value", identifier.Value), ("$subject", append.Subject.ToString()));
                }

                var records = await AppendRecordsAsync(connection, tx, append.Subject, append.Records, ct);
                await RememberViaAsync(connection, tx, append.Subject, append.CreateSubject, records, append.RecordedVia, ct);
                await SqliteOutbox.AppendAsync(connection, tx, append.Events, ct);
                return records;
            }, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            // An identifier (or a new subject id) was taken by a concurrent writer.
            throw new ConcurrencyConflictException("Subject", ConsentNames.Subject(append.Subject));
        }
    }

    public async Task<IReadOnlyList<IReadOnlyList<ConsentRecord>>> AppendBatchAsync(IReadOnlyList<LedgerAppend> appends, RequestClaim? request, CancellationToken cancellationToken)
    {
        try
        {
            return await _db.WriteAsync<IReadOnlyList<IReadOnlyList<ConsentRecord>>>(async (connection, tx, ct) =>
            {
                await SqliteRequestClaims.ClaimAsync(connection, tx, request, ct);
                // One set of prepared statements for the whole batch: preparing per record would cost
                // more than the inserts themselves.
                await using var statements = new AppendStatements(connection, tx);
                var results = new List<IReadOnlyList<ConsentRecord>>(appends.Count);
                var events = new List<OutboxMessage>();
                foreach (var append in appends)
                {
                    if (append.CreateSubject)
                    {
                        await ExecutePreparedAsync(statements.InsertSubject, ct, ("$id", append.Subject.ToString()), ("$at", append.Now.ToUnixTimeMilliseconds()));
                    }

                    foreach (var identifier in append.LinkIdentifiers)
                    {
                        await ExecutePreparedAsync(statements.LinkIdentifier, ct, ("$kind", (int)identifier.Kind), ("$value", identifier.Value), ("$subject", append.Subject.ToString()));
                    }

                    var records = await AppendRecordsAsync(connection, tx, append.Subject, append.Records, ct, statements, append.CreateSubject);
                    await RememberViaAsync(connection, tx, append.Subject, append.CreateSubject, records, append.RecordedVia, ct);
                    results.Add(records);
                    events.AddRange(append.Events);
                }

                await SqliteOutbox.AppendAsync(connection, tx, events, ct);
                return results;
            }, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new ConcurrencyConflictException("Subject", appends.Count == 0 ? "" : ConsentNames.Subject(appends[0].Subject));
        }
    }

    public Task<IReadOnlyDictionary<string, PurposeDecisions>> GetDecisionsAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyDictionary<string, PurposeDecisions>>(async (connection, ct) =>
        {
            var entries = await DecisionRowsAsync(connection, "d.subject = $subject", ct, ("$subject", subject.ToString()));
            return entries.GroupBy(e => e.Purpose).ToDictionary(g => g.Key, g => PurposeDecisions.From(g.Select(e => e.Entry)));
        }, cancellationToken);

    public Task<PurposeDecisions> GetPurposeDecisionsAsync(Guid subject, string purposeId, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            var entries = await DecisionRowsAsync(connection, "d.subject = $subject AND d.purpose = $purpose", ct, ("$subject", subject.ToString()), ("$purpose", purposeId));
            return PurposeDecisions.From(entries.Select(e => e.Entry));
        }, cancellationToken);

    public Task<long> GetChainLengthAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) => (await HeadAsync(connection, null, subject, ct)).Length, cancellationToken);

    public Task<ChainHead> GetChainHeadAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            var (length, hash) = await HeadAsync(connection, null, subject, ct);
            return new ChainHead(length, hash);
        }, cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> GetRecordsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken) =>
        ids.Count == 0
            ? Task.FromResult<IReadOnlyList<ConsentRecord>>([])
            : _db.ReadAsync(async (connection, ct) => await RecordsAsync(connection, "r.id IN (SELECT value FROM json_each($ids))", ct,
                ("$ids", System.Text.Json.JsonSerializer.Serialize(ids.Select(i => i.ToString())))), cancellationToken);

    public Task<StoredRequest?> FindRequestAsync(string requestId, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT fingerprint, outcome FROM consent_requests WHERE request_id = $id", ("$id", requestId));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? new StoredRequest(reader.GetString(0), RequestOutcome.Decode(reader.GetString(1))) : null;
        }, cancellationToken);

    public Task<int> DeleteExpiredRequestsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _db.WriteAsync((connection, tx, ct) => ExecuteAsync(connection, tx,
            "DELETE FROM consent_requests WHERE request_id IN (SELECT request_id FROM consent_requests WHERE expires_at <= $now ORDER BY expires_at LIMIT $limit)", ct,
            ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit)), cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> ListHistoryAsync(Guid subject, long afterSeq, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) => await RecordsAsync(connection,
            "r.subject IN (SELECT $subject UNION ALL SELECT id FROM subjects WHERE merged_into = $subject) AND r.seq > $after ORDER BY r.seq LIMIT $limit", ct,
            ("$subject", subject.ToString()), ("$after", afterSeq), ("$limit", limit)), cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>> ReadChainAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) => await RecordsAsync(connection, "r.subject = $subject ORDER BY r.sequence", ct, ("$subject", subject.ToString())), cancellationToken);

    public Task<IReadOnlyList<ConsentRecord>?> MergeAsync(MergePlan plan, CancellationToken cancellationToken) =>
        _db.WriteAsync<IReadOnlyList<ConsentRecord>?>(async (connection, tx, ct) =>
        {
            if (!await SqliteInbox.TryClaimAsync(connection, tx, plan.Consumer, plan.EventId, plan.Now, ct))
            {
                return null;
            }

            await SqliteErasureTombstones.ThrowIfBlockedAsync(connection, tx, plan.ErasureChecks, ct);
            await ThrowIfHeadsMovedAsync(connection, tx, plan.ExpectedHeads, ct);

            var target = plan.Target.ToString();
            foreach (var source in plan.Sources)
            {
                await ExecuteAsync(connection, tx, "UPDATE subjects SET merged_into = $target WHERE merged_into = $source", ct, ("$target", target), ("$source", source.ToString()));
                await ExecuteAsync(connection, tx, "UPDATE subjects SET merged_into = $target, merged_by = $profile, merged_parent = $target, merged_head = $head WHERE id = $source", ct,
                    ("$target", target), ("$source", source.ToString()), ("$profile", plan.MergedProfile), ("$head", plan.ExpectedHeads.GetValueOrDefault(plan.Target) + plan.CarriedOver.Count));
                await ExecuteAsync(connection, tx, "UPDATE subject_identifiers SET subject = $target WHERE subject = $source", ct, ("$target", target), ("$source", source.ToString()));
            }

            foreach (var identifier in plan.Identifiers)
            {
                await ExecuteAsync(connection, tx, "INSERT OR REPLACE INTO subject_identifiers (kind, value, subject) VALUES ($kind, $value, $subject)", ct,
                    ("$kind", (int)identifier.Kind), ("$value", identifier.Value), ("$subject", target));
            }

            var records = await AppendRecordsAsync(connection, tx, plan.Target, plan.CarriedOver, ct);
            await SqliteOutbox.AppendAsync(connection, tx, plan.Events, ct);
            return records;
        }, cancellationToken);

    public Task<IReadOnlyList<(Guid Subject, long MergedHead)>> MergedByAsync(Guid target, string mergedProfile, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<(Guid Subject, long MergedHead)>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT id, COALESCE(merged_head, 0) FROM subjects WHERE merged_into = $target AND merged_by = $profile ORDER BY id", ("$target", target.ToString()), ("$profile", mergedProfile));
            var subjects = new List<(Guid Subject, long MergedHead)>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                subjects.Add((Guid.Parse(reader.GetString(0)), reader.GetInt64(1)));
            }

            return subjects;
        }, cancellationToken);

    public Task<IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>> GetRecordedViaAsync(Guid subject, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT r.id, v.identifiers FROM recorded_via v JOIN records r ON r.seq = v.record_seq WHERE v.subject = $subject", ("$subject", subject.ToString()));
            var via = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                via[Guid.Parse(reader.GetString(0))] = RecordedVia.Decode(reader.GetString(1));
            }

            return via;
        }, cancellationToken);

    public Task<SplitOutcome?> SplitAsync(SplitPlan plan, CancellationToken cancellationToken) =>
        _db.WriteAsync<SplitOutcome?>(async (connection, tx, ct) =>
        {
            if (!await SqliteInbox.TryClaimAsync(connection, tx, plan.Consumer, plan.EventId, plan.Now, ct))
            {
                return null;
            }

            await SqliteErasureTombstones.ThrowIfBlockedAsync(connection, tx, plan.ErasureChecks, ct);
            await ThrowIfHeadsMovedAsync(connection, tx, plan.ExpectedHeads, ct);

            if (plan.CreateRestored)
            {
                await ExecuteAsync(connection, tx, "INSERT INTO subjects (id, created_at) VALUES ($id, $at)", ct, ("$id", plan.Restored.ToString()), ("$at", plan.Now.ToUnixTimeMilliseconds()));
            }

            var target = plan.Target.ToString();
            var repointed = new List<(Guid Subject, Guid? MergedInto)>();
            foreach (var source in plan.Sources)
            {
                // Subjects merged into the source before the merge being undone follow it again.
                await using (var followers = Command(connection, tx, "SELECT id FROM subjects WHERE merged_into = $target AND merged_parent = $source", ("$target", target), ("$source", source.ToString())))
                await using (var reader = await followers.ExecuteReaderAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                        repointed.Add((Guid.Parse(reader.GetString(0)), source));
                    }
                }

                await ExecuteAsync(connection, tx, "UPDATE subjects SET merged_into = merged_parent WHERE merged_into = $target AND merged_parent = $source", ct, ("$target", target), ("$source", source.ToString()));
                await ExecuteAsync(connection, tx, "UPDATE subjects SET merged_into = NULL, merged_by = NULL, merged_parent = NULL, merged_head = NULL WHERE id = $source", ct, ("$source", source.ToString()));
                repointed.Add((source, null));
            }

            foreach (var identifier in plan.Identifiers)
            {
                await ExecuteAsync(connection, tx, "INSERT OR REPLACE INTO subject_identifiers (kind, value, subject) VALUES ($kind, $value, $subject)", ct,
                    ("$kind", (int)identifier.Kind), ("$value", identifier.Value), ("$subject", plan.Restored.ToString()));
            }

            if (plan.SurvivorMovesTo is var (survivorSubject, leaving))
            {
                await ExecuteAsync(connection, tx, "INSERT INTO subjects (id, created_at) VALUES ($id, $at)", ct, ("$id", survivorSubject.ToString()), ("$at", plan.Now.ToUnixTimeMilliseconds()));
                foreach (var identifier in leaving)
                {
                    await ExecuteAsync(connection, tx, "INSERT OR REPLACE INTO subject_identifiers (kind, value, subject) VALUES ($kind, $value, $subject)", ct,
                        ("$kind", (int)identifier.Kind), ("$value", identifier.Value), ("$subject", survivorSubject.ToString()));
                }
            }

            var restored = await AppendRecordsAsync(connection, tx, plan.Restored, plan.RestoredRecords, ct);
            var kept = await AppendRecordsAsync(connection, tx, plan.Target, plan.TargetRecords, ct);
            await RememberViaAsync(connection, tx, plan.Restored, plan.CreateRestored, restored, plan.RestoredVia, ct);
            foreach (var subject in new[] { plan.Target, plan.Restored })
            {
                // What a record came through is needed only while a merge into its subject can still be undone.
                await ExecuteAsync(connection, tx, $"DELETE FROM recorded_via WHERE subject = $subject AND NOT {OpenMerge}", ct, ("$subject", subject.ToString()));
            }

            await SqliteOutbox.AppendAsync(connection, tx, plan.Events, ct);
            return new SplitOutcome(restored, kept, repointed);
        }, cancellationToken);

    public Task<ErasureOutcome> EraseAsync(ErasurePlan plan, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            await SqliteRequestClaims.ClaimAsync(connection, tx, plan.Request, ct);
            await ExecuteAsync(connection, tx, "INSERT INTO erasures (id, subject, requested_at) VALUES ($id, $subject, $at)", ct,
                ("$id", plan.ErasureId.ToString()), ("$subject", plan.Subject?.ToString()), ("$at", plan.RequestedAt.ToUnixTimeMilliseconds()));
            IReadOnlyList<ConsentRecord> appended = [];
            var removed = new List<SubjectIdentifier>();
            long redacted = 0;
            if (plan.Subject is { } subject)
            {
                appended = await AppendRecordsAsync(connection, tx, subject, plan.Withdrawals, ct);
                const string Family = "(SELECT $subject UNION ALL SELECT id FROM subjects WHERE merged_into = $subject)";
                await using (var select = Command(connection, tx, $"SELECT kind, value FROM subject_identifiers WHERE subject IN {Family}", ("$subject", subject.ToString())))
                await using (var reader = await select.ExecuteReaderAsync(ct))
                {
                    while (await reader.ReadAsync(ct))
                    {
                        removed.Add(new SubjectIdentifier((IdentifierKind)reader.GetInt32(0), reader.GetString(1)));
                    }
                }

                await ExecuteAsync(connection, tx, $"DELETE FROM subject_identifiers WHERE subject IN {Family}", ct, ("$subject", subject.ToString()));
                await ExecuteAsync(connection, tx, $"DELETE FROM recorded_via WHERE subject IN {Family}", ct, ("$subject", subject.ToString()));
                redacted = await ExecuteAsync(connection, tx, $"UPDATE records SET form_id = '', ip_hash = '', user_agent = '', redacted = 1 WHERE subject IN {Family} AND redacted = 0", ct, ("$subject", subject.ToString()));
            }

            var erased = redacted + removed.Count;
            await SqliteErasureTombstones.RememberAsync(connection, tx, plan.TombstonesOf(removed), plan.RequestedAt, ct);
            await SqliteOutbox.AppendAsync(connection, tx, plan.Events(erased), ct);
            _db.RequestScrub();
            return new ErasureOutcome(appended, removed, erased);
        }, cancellationToken);

    public Task<Erasure?> GetErasureAsync(Guid erasureId, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT subject, requested_at FROM erasures WHERE id = $id", ("$id", erasureId.ToString()));
            Guid? subject;
            DateTimeOffset requestedAt;
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct))
                {
                    return null;
                }

                subject = reader.IsDBNull(0) ? null : Guid.Parse(reader.GetString(0));
                requestedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
            }

            var completions = new List<ServiceErasure>();
            await using var list = Command(connection, null, "SELECT service, completed_at, records_erased FROM erasure_completions WHERE erasure = $id", ("$id", erasureId.ToString()));
            await using var rows = await list.ExecuteReaderAsync(ct);
            while (await rows.ReadAsync(ct))
            {
                completions.Add(new ServiceErasure(rows.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(rows.GetInt64(1)), rows.GetInt64(2)));
            }

            return new Erasure(erasureId, subject, requestedAt, completions);
        }, cancellationToken);

    public Task RecordErasureCompletionsAsync(string consumer, IReadOnlyList<ErasureCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            foreach (var completion in completions)
            {
                if (!await SqliteInbox.TryClaimAsync(connection, tx, consumer, completion.EventId, now, ct))
                {
                    continue;
                }

                await using var exists = Command(connection, tx, "SELECT COUNT(*) FROM erasures WHERE id = $id", ("$id", completion.ErasureId.ToString()));
                if ((long)(await exists.ExecuteScalarAsync(ct))! == 0)
                {
                    throw new InvalidArgumentException("erasure", "names no erasure this service requested");
                }

                await ExecuteAsync(connection, tx, "INSERT OR IGNORE INTO erasure_completions (erasure, service, completed_at, records_erased) VALUES ($id, $service, $at, $count)", ct,
                    ("$id", completion.ErasureId.ToString()), ("$service", completion.Completion.Service),
                    ("$at", completion.Completion.CompletedAt.ToUnixTimeMilliseconds()), ("$count", completion.Completion.RecordsErased));
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<ExpiredGrant>> FindUnpublishedExpiriesAsync(string purposeId, DateTimeOffset capturedAtOrBefore, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<ExpiredGrant>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, """
                SELECT d.subject, r.id, r.seq, r.granted, r.channels, r.policy_version, r.captured_at
                FROM decisions d INDEXED BY ix_decisions_pending_expiry JOIN records r ON r.seq = d.seq
                WHERE d.purpose = $purpose AND d.pending_expiry_from IS NOT NULL AND d.pending_expiry_from <= $cutoff
                ORDER BY d.pending_expiry_from LIMIT $limit
                """, ("$purpose", purposeId), ("$cutoff", capturedAtOrBefore.ToUnixTimeMilliseconds()), ("$limit", limit));
            var grants = new List<ExpiredGrant>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                grants.Add(new ExpiredGrant(Guid.Parse(reader.GetString(0)), purposeId, ReadEntry(reader, 1)));
            }

            return grants;
        }, cancellationToken);

    public Task<int> MarkExpiriesPublishedAsync(IReadOnlyList<ExpiryNotice> notices, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            var events = new List<OutboxMessage>(notices.Count);
            await using var mark = Command(connection, tx, "UPDATE decisions SET pending_expiry_from = NULL WHERE subject = $subject AND purpose = $purpose AND seq = $seq AND pending_expiry_from IS NOT NULL");
            foreach (var notice in notices)
            {
                mark.Parameters.Clear();
                Add(mark, ("$subject", notice.Grant.Subject.ToString()), ("$purpose", notice.Grant.PurposeId), ("$seq", notice.Grant.Entry.Seq));
                // Zero rows: another sweep marked it, or a newer record replaced the decision meanwhile.
                if (await mark.ExecuteNonQueryAsync(ct) == 1 && notice.Event is { } message)
                {
                    events.Add(message);
                }
            }

            await SqliteOutbox.AppendAsync(connection, tx, events, ct);
            return events.Count;
        }, cancellationToken);

    public async Task LoadStateAsync(ILedgerStateSink sink, CancellationToken cancellationToken)
    {
        await _db.ReadAsync(async (connection, ct) =>
        {
            await using var count = Command(connection, null, "SELECT (SELECT COUNT(*) FROM subject_identifiers), (SELECT COUNT(*) FROM decisions)");
            await using var reader = await count.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                sink.Expect((int)Math.Min(int.MaxValue, reader.GetInt64(0)), (int)Math.Min(int.MaxValue, reader.GetInt64(1)));
            }

            return 0;
        }, cancellationToken);

        // Identifiers and decisions stream over two connections at once: with a million subjects
        // each pass takes seconds, and the host serves only once both are in.
        var identifiers = _db.ReadAsync(async (connection, ct) =>
        {
            await using (var command = Command(connection, null, "SELECT kind, value, subject FROM subject_identifiers"))
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    sink.Identifier(new SubjectIdentifier((IdentifierKind)reader.GetInt32(0), reader.GetString(1)), Guid.Parse(reader.GetString(2)));
                }
            }

            await using (var command = Command(connection, null, "SELECT id, merged_into FROM subjects WHERE merged_into IS NOT NULL"))
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    sink.Merged(Guid.Parse(reader.GetString(0)), Guid.Parse(reader.GetString(1)));
                }
            }

            return 0;
        }, cancellationToken);
        var decisions = Task.Run(() => _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT d.subject, d.purpose, r.id, r.seq, r.granted, r.channels, r.policy_version, r.captured_at FROM decisions d JOIN records r ON r.seq = d.seq");
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                sink.Decision(Guid.Parse(reader.GetString(0)), reader.GetString(1), ReadEntry(reader, 2));
            }

            return 0;
        }, cancellationToken), cancellationToken);
        await Task.WhenAll(identifiers, decisions);
    }

    private static async Task<IReadOnlyList<ConsentRecord>> AppendRecordsAsync(
        SqliteConnection connection, SqliteTransaction tx, Guid subject, IReadOnlyList<RecordDraft> drafts, CancellationToken ct, AppendStatements? shared = null, bool newSubject = false)
    {
        if (drafts.Count == 0)
        {
            return [];
        }

        var own = shared is null ? new AppendStatements(connection, tx) : null;
        var statements = shared ?? own!;
        try
        {
            var subjectId = subject.ToString();
            var (length, previous) = newSubject ? (0L, "") : await HeadAsync(connection, tx, subject, ct);
            var records = new List<ConsentRecord>(drafts.Count);
            foreach (var draft in drafts)
            {
                var hadDecisions = length > 0;
                length++;
                var sealedRecord = ConsentChain.Seal(0, subject, length, draft, previous);
                await ExecutePreparedAsync(statements.InsertRecord, ct, ("$id", draft.Id.ToString()), ("$subject", subjectId), ("$sequence", length), ("$purpose", draft.PurposeId), ("$granted", draft.Granted ? 1 : 0),
                    ("$channels", draft.Channels.Bits), ("$policy", draft.PolicyVersion), ("$captured", draft.CapturedAt.ToUnixTimeMilliseconds()), ("$recorded", draft.RecordedAt.ToUnixTimeMilliseconds()),
                    ("$touchpoint", draft.Touchpoint), ("$form", draft.Proof.FormId), ("$ip", draft.Proof.IpAddressHash), ("$agent", draft.Proof.UserAgent), ("$digest", draft.Proof.Digest),
                    ("$origin", (int)draft.Origin), ("$source", draft.SourceRecord), ("$previous", previous), ("$hash", sealedRecord.Hash));
                // The rowid of the insert just made on this connection: cheaper than RETURNING, which runs a reader.
                var seq = SQLitePCL.raw.sqlite3_last_insert_rowid(connection.Handle);
                var record = sealedRecord with { Seq = seq };
                records.Add(record);
                previous = record.Hash;

                var mask = draft.Channels.Bits;
                if (hadDecisions)
                {
                    // A subject's first record has nothing to supersede.
                    await ExecutePreparedAsync(statements.DeleteDecisions, ct, ("$subject", subjectId), ("$purpose", draft.PurposeId), ("$mask", mask));
                }

                await ExecutePreparedAsync(statements.InsertDecision, ct, ("$subject", subjectId), ("$purpose", draft.PurposeId), ("$seq", seq), ("$mask", mask),
                    ("$expiry", draft.Granted ? draft.CapturedAt.ToUnixTimeMilliseconds() : null));
            }

            await ExecutePreparedAsync(statements.UpdateHead, ct, ("$length", length), ("$hash", previous), ("$subject", subjectId));
            return records;
        }
        finally
        {
            if (own is not null)
            {
                await own.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Keeps what each of <paramref name="records"/> came through, when a merge into <paramref name="subject"/>
    /// can be undone; a new subject has none.
    /// </summary>
    private static async Task RememberViaAsync(
        SqliteConnection connection, SqliteTransaction tx, Guid subject, bool newSubject, IReadOnlyList<ConsentRecord> records, IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>> via, CancellationToken ct)
    {
        if (newSubject || via.Count == 0 || records.Count == 0)
        {
            return;
        }

        await using (var open = Command(connection, tx, $"SELECT {OpenMerge}", ("$subject", subject.ToString())))
        {
            if (await open.ExecuteScalarAsync(ct) is not 1L)
            {
                return;
            }
        }

        await using var insert = Command(connection, tx, "INSERT OR REPLACE INTO recorded_via (record_seq, subject, identifiers) VALUES ($seq, $subject, $identifiers)");
        foreach (var record in records)
        {
            if (via.TryGetValue(record.Draft.Id, out var identifiers) && identifiers.Count > 0)
            {
                insert.Parameters.Clear();
                Add(insert, ("$seq", record.Seq), ("$subject", subject.ToString()), ("$identifiers", RecordedVia.Encode(identifiers)));
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
    }

    private static async Task<int> ExecutePreparedAsync(SqliteCommand command, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        Bind(command, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static void Bind(SqliteCommand command, (string Name, object? Value)[] parameters)
    {
        // Values are rebound on the same parameter objects, so the prepared statement is reused.
        if (command.Parameters.Count != parameters.Length)
        {
            command.Parameters.Clear();
            Add(command, parameters);
            return;
        }

        for (var i = 0; i < parameters.Length; i++)
        {
            command.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
        }
    }

    /// <summary>Throws a conflict when a subject's chain is no longer the length the plan was made from: another write appended to it since.</summary>
    private static async Task ThrowIfHeadsMovedAsync(SqliteConnection connection, SqliteTransaction? tx, IReadOnlyDictionary<Guid, long> expectedHeads, CancellationToken ct)
    {
        foreach (var (subject, expected) in expectedHeads)
        {
            if ((await HeadAsync(connection, tx, subject, ct)).Length != expected)
            {
                throw new ConcurrencyConflictException("Subject", ConsentNames.Subject(subject));
            }
        }
    }

    private static async Task<(long Length, string Hash)> HeadAsync(SqliteConnection connection, SqliteTransaction? tx, Guid subject, CancellationToken ct)
    {
        await using var command = Command(connection, tx, "SELECT chain_length, head_hash FROM subjects WHERE id = $id", ("$id", subject.ToString()));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetString(1)) : throw new NotFoundException("Subject", ConsentNames.Subject(subject));
    }

    private static async Task<IReadOnlyList<SubjectIdentifier>> IdentifiersOfAsync(SqliteConnection connection, SqliteTransaction? tx, Guid subject, CancellationToken ct)
    {
        await using var command = Command(connection, tx, "SELECT kind, value FROM subject_identifiers WHERE subject = $subject ORDER BY kind, value", ("$subject", subject.ToString()));
        var identifiers = new List<SubjectIdentifier>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            identifiers.Add(new SubjectIdentifier((IdentifierKind)reader.GetInt32(0), reader.GetString(1)));
        }

        return identifiers;
    }

    private static async Task<List<(string Purpose, DecisionEntry Entry)>> DecisionRowsAsync(SqliteConnection connection, string where, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, null, $"SELECT d.purpose, r.id, r.seq, r.granted, r.channels, r.policy_version, r.captured_at FROM decisions d JOIN records r ON r.seq = d.seq WHERE {where}", parameters);
        var rows = new List<(string, DecisionEntry)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add((reader.GetString(0), ReadEntry(reader, 1)));
        }

        return rows;
    }

    private static DecisionEntry ReadEntry(SqliteDataReader reader, int first) => new(
        Guid.Parse(reader.GetString(first)),
        reader.GetInt64(first + 1),
        reader.GetInt32(first + 2) == 1,
        new ChannelMask(reader.GetInt32(first + 3)),
        reader.GetInt32(first + 4),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 5)));

    private static async Task<IReadOnlyList<ConsentRecord>> RecordsAsync(SqliteConnection connection, string whereAndOrder, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, null, $"SELECT {RecordColumns} FROM records r WHERE {whereAndOrder}", parameters);
        var records = new List<ConsentRecord>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var proof = new ConsentProof(reader.GetString(11), reader.GetString(12), reader.GetString(13), reader.GetString(14), reader.GetInt32(15) == 1);
            var draft = new RecordDraft(
                Guid.Parse(reader.GetString(1)), reader.GetString(4), reader.GetInt32(5) == 1, new ChannelMask(reader.GetInt32(6)), reader.GetInt32(7),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)), reader.GetString(10),
                proof, (RecordOrigin)reader.GetInt32(16), reader.GetString(17));
            records.Add(new ConsentRecord(reader.GetInt64(0), Guid.Parse(reader.GetString(2)), reader.GetInt64(3), draft, reader.GetString(18), reader.GetString(19)));
        }

        return records;
    }

    private static void Add(SqliteCommand command, params (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }

    /// <summary>The statements of an append, prepared once per transaction.</summary>
    private sealed class AppendStatements(SqliteConnection connection, SqliteTransaction tx) : IAsyncDisposable
    {
        public SqliteCommand InsertSubject { get; } = Command(connection, tx, "INSERT INTO subjects (id, created_at) VALUES ($id, $at)");

        public SqliteCommand LinkIdentifier { get; } = Command(connection, tx, "INSERT INTO subject_identifiers (kind, value, subject) VALUES ($kind, $value, $subject)");

        public SqliteCommand InsertRecord { get; } = Command(connection, tx, """
            INSERT INTO records (id, subject, sequence, purpose, granted, channels, policy_version, captured_at, recorded_at, touchpoint, form_id, ip_hash, user_agent, proof_digest, redacted, origin, source_record, previous_hash, hash)
            VALUES ($id, $subject, $sequence, $purpose, $granted, $channels, $policy, $captured, $recorded, $touchpoint, $form, $ip, $agent, $digest, 0, $origin, $source, $previous, $hash)
            """);

        public SqliteCommand DeleteDecisions { get; } = Command(connection, tx, "DELETE FROM decisions WHERE subject = $subject AND purpose = $purpose AND ($mask = 0 OR (channels <> 0 AND (channels & ~$mask) = 0))");

        public SqliteCommand InsertDecision { get; } = Command(connection, tx, "INSERT INTO decisions (subject, purpose, seq, channels, pending_expiry_from) VALUES ($subject, $purpose, $seq, $mask, $expiry)");

        public SqliteCommand UpdateHead { get; } = Command(connection, tx, "UPDATE subjects SET chain_length = $length, head_hash = $hash WHERE id = $subject");

        public async ValueTask DisposeAsync()
        {
            await InsertSubject.DisposeAsync();
            await LinkIdentifier.DisposeAsync();
            await InsertRecord.DisposeAsync();
            await DeleteDecisions.DisposeAsync();
            await InsertDecision.DisposeAsync();
            await UpdateHead.DisposeAsync();
        }
    }
}
