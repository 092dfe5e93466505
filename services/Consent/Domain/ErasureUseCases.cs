using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>Erasure of a person across the platform, and merges of subjects.</summary>
public sealed class ErasureUseCases(
    IConsentLedger ledger, IDecisionSource decisions, PurposeDirectory purposes, IConsentEvents events, IdentifierHasher hasher, IdentifierPolicy identifierPolicy, ErasureTombstones tombstones, TimeProvider time,
    RequestLog requests)
{
    /// <summary>What the ledger keeps after an erasure, as the status reports it.</summary>
    public const string LedgerRetention =
        "The consent ledger keeps only pseudonymised proof that consent existed and was withdrawn: the records (purpose, decision, " +
        "channels, policy version, times) stay under a random subject id in their hash chain; identifiers are removed and form id, " +
        "IP hash and user agent are deleted (only their digest stays, so the chain still verifies); every grant was withdrawn.";

    private const int MaxConflictRetries = 3;

    /// <summary>Services that must report completion.</summary>
    public static IReadOnlyList<string> Services => ConsentTopics.ErasingServices;

    /// <summary>
    /// Starts an erasure: publishes ErasureRequested and erases this service's part at once. With a
    /// request id seen before, starts nothing and answers with that erasure as it stands now.
    /// </summary>
    public async Task<Erasure> RequestAsync(IReadOnlyList<IdentifierInput> inputs, string requestIdText, CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var validation = new Validation();
        var requestId = RequestIds.Parse(requestIdText, validation);
        var fingerprint = requests.Fingerprint(requestId, () => new RequestFingerprint("RequestErasure").Add(inputs));
        if (await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } replay)
        {
            return await StartedAsync(replay, cancellationToken);
        }

        var identifiers = SubjectIdentifiers.Normalize(inputs, hasher, identifierPolicy, validation, "person.identifiers.identifiers");
        validation.ThrowIfInvalid();
        using var activity = ConsentTelemetry.Source.StartActivity("consent erasure");

        var erasureId = TimeOrderedIds.Next(now);
        var subject = await ledger.FindSubjectAsync(identifiers, cancellationToken);
        var known = subject is { } s ? await ledger.GetIdentifiersAsync(s, cancellationToken) : [];
        var everyIdentifier = identifiers.Concat(known).Distinct().ToList();
        var withdrawals = new List<(Purpose Purpose, RecordDraft Draft)>();
        if (subject is not null)
        {
            var latestPolicy = await purposes.LatestPolicyVersionAsync(cancellationToken);
            foreach (var (purposeId, current) in await ledger.GetDecisionsAsync(subject.Value, cancellationToken))
            {
                var purpose = await purposes.FindByNameAsync(ConsentNames.Purpose(purposeId), cancellationToken);
                var anyGrant = false;
                foreach (var entry in current.Entries)
                {
                    anyGrant |= entry.Granted;
                }

                if (purpose is not null && anyGrant)
                {
                    withdrawals.Add((purpose, new RecordDraft(TimeOrderedIds.Next(now), purposeId, false, ChannelMask.Empty, Math.Max(latestPolicy, current.Newest!.Value.PolicyVersion), now, now, "", ConsentChain.Proof("", "", ""), RecordOrigin.Erasure, "")));
                }
            }
        }

        var plan = new ErasurePlan(erasureId, subject, now, [.. withdrawals.Select(w => w.Draft)], erased =>
        [
            .. withdrawals.Select(w => events.ConsentChanged(subject!.Value, everyIdentifier, w.Purpose, w.Draft, now)),
            events.ErasureRequested(erasureId, everyIdentifier, now),
            events.ErasureCompleted(erasureId, erased, now),
        ], requests.Claim(requestId, fingerprint, new RequestOutcome([], [], erasureId), now))
        {
            TombstonesOf = removed => tombstones.For(everyIdentifier.Concat(removed).Select(TombstoneKey), now),
        };
        ErasureOutcome outcome;
        try
        {
            outcome = await ledger.EraseAsync(plan, cancellationToken);
        }
        catch (ConcurrencyConflictException) when (requestId is not null)
        {
            // Another call with the same request id started the erasure first.
            return await StartedAsync(await requests.FindAsync(requestId, fingerprint, cancellationToken) ?? throw new ConcurrencyConflictException("Request", requestId), cancellationToken);
        }

        decisions.Apply(new LedgerChange([], outcome.Appended, [], outcome.RemovedIdentifiers));
        ConsentTelemetry.ErasuresRequested.Add(1);
        ConsentTelemetry.RecordsAppended.Add(outcome.Appended.Count);
        activity?.SetTag("journey.erasure", ConsentNames.Erasure(erasureId));
        activity?.SetTag("journey.records_pseudonymised", outcome.RecordsPseudonymised);
        return new Erasure(erasureId, subject, now, []);
    }

    private async Task<Erasure> StartedAsync(RequestOutcome outcome, CancellationToken cancellationToken) =>
        outcome.Erasure is { } id && await ledger.GetErasureAsync(id, cancellationToken) is { } erasure
            ? erasure
            : throw new NotFoundException("Erasure", outcome.Erasure is { } missing ? ConsentNames.Erasure(missing) : "");

    /// <summary>An erasure's progress.</summary>
    public async Task<Erasure> GetStatusAsync(string name, CancellationToken cancellationToken)
    {
        var id = ConsentNames.GuidOf(name, "erasures") ?? throw new InvalidArgumentException("name", "must be erasures/{erasure}");
        return await ledger.GetErasureAsync(id, cancellationToken) ?? throw new NotFoundException("Erasure", name);
    }

    /// <summary>Records ErasureCompleted events; the reporting service must be the event's publisher.</summary>
    public Task RecordCompletionsAsync(string consumer, IReadOnlyList<(string EventId, string Source, string Erasure, string Service, DateTimeOffset CompletedAt, long RecordsErased)> reports, CancellationToken cancellationToken)
    {
        var completions = new List<ErasureCompletion>(reports.Count);
        foreach (var report in reports)
        {
            var id = ConsentNames.GuidOf(report.Erasure, "erasures") ?? throw new InvalidArgumentException("erasure", "must be erasures/{erasure}");
            if (!Services.Contains(report.Service) || report.Service != report.Source)
            {
                throw new InvalidArgumentException("service", "must be the publishing service");
            }

            completions.Add(new ErasureCompletion(report.EventId, id, new ServiceErasure(report.Service, Clock.Truncate(report.CompletedAt), Math.Max(0, report.RecordsErased))));
        }

        return ledger.RecordErasureCompletionsAsync(consumer, completions, Clock.Now(time), cancellationToken);
    }

    /// <summary>
    /// Applies a profile merge: every subject known by the merged profile or its identifiers joins
    /// the survivor's subject. Per purpose the newer decision wins: a source's decisions captured
    /// after the target's newest are appended to the target's chain (origin merge, pointing at the
    /// source record). Both histories stay. A merge stamped (<paramref name="publishedAt"/>) before
    /// an erasure of one of its profiles or identifiers settled is dropped: it would link an erased
    /// person's identifiers to a subject again.
    /// </summary>
    public async Task MergeAsync(string consumer, string eventId, string survivorName, string mergedName, IReadOnlyList<SubjectIdentifier> moved, DateTimeOffset publishedAt, CancellationToken cancellationToken)
    {
        var survivor = ConsentNames.IdOf(survivorName, "profiles") ?? throw new InvalidArgumentException("survivor", "must be profiles/{profile}");
        var merged = ConsentNames.IdOf(mergedName, "profiles") ?? throw new InvalidArgumentException("merged", "must be profiles/{profile}");
        var survivorId = new SubjectIdentifier(IdentifierKind.ProfileId, survivor);
        var mergedId = new SubjectIdentifier(IdentifierKind.ProfileId, merged);
        using var activity = ConsentTelemetry.Source.StartActivity("consent merge");
        for (var attempt = 1; ; attempt++)
        {
            var now = Clock.Now(time);
            var target = await ledger.FindSubjectAsync([survivorId], cancellationToken);
            var sources = new List<Guid>();
            foreach (var identifier in moved.Prepend(mergedId))
            {
                if (await ledger.FindSubjectAsync([identifier], cancellationToken) is { } found && found != target && !sources.Contains(found))
                {
                    sources.Add(found);
                }
            }

            if (target is null)
            {
                if (sources.Count == 0)
                {
                    return;
                }

                target = sources[0];
                sources.RemoveAt(0);
            }

            var heads = new Dictionary<Guid, long> { [target.Value] = await ledger.GetChainLengthAsync(target.Value, cancellationToken) };
            var identifiers = new List<SubjectIdentifier> { survivorId, mergedId };
            identifiers.AddRange(moved);
            var newestByPurpose = (await ledger.GetDecisionsAsync(target.Value, cancellationToken))
                .ToDictionary(d => d.Key, d => d.Value.Newest?.CapturedAt ?? DateTimeOffset.MinValue);
            var carried = new List<(Purpose Purpose, RecordDraft Draft)>();
            foreach (var source in sources)
            {
                heads[source] = await ledger.GetChainLengthAsync(source, cancellationToken);
                identifiers.AddRange(await ledger.GetIdentifiersAsync(source, cancellationToken));
                foreach (var (purposeId, current) in await ledger.GetDecisionsAsync(source, cancellationToken))
                {
                    var purpose = await purposes.FindByNameAsync(ConsentNames.Purpose(purposeId), cancellationToken);
                    var newest = newestByPurpose.GetValueOrDefault(purposeId, DateTimeOffset.MinValue);
                    var newer = current.Entries.ToArray().Where(e => e.CapturedAt > newest).OrderBy(e => e.CapturedAt).ToList();
                    if (purpose is null || newer.Count == 0)
                    {
                        continue;
                    }

                    foreach (var entry in newer)
                    {
                        carried.Add((purpose, new RecordDraft(TimeOrderedIds.Next(now), purposeId, entry.Granted, entry.Channels, entry.PolicyVersion, entry.CapturedAt, now, "",
                            ConsentChain.Proof("", "", ""), RecordOrigin.Merge, ConsentNames.Record(source, entry.RecordId))));
                    }

                    newestByPurpose[purposeId] = newer[^1].CapturedAt;
                }
            }

            identifiers = [.. identifiers.Distinct()];
            var everyIdentifier = identifiers;
            var plan = new MergePlan(consumer, eventId, target.Value, sources, identifiers, heads, [.. carried.Select(c => c.Draft)],
                [.. carried.Select(c => events.ConsentChanged(target.Value, everyIdentifier, c.Purpose, c.Draft, now))], now)
            {
                ErasureChecks = [.. moved.Append(survivorId).Append(mergedId).Select(i => new ErasureCheck(TombstoneKey(i), publishedAt))],
                MergedProfile = merged,
            };
            try
            {
                var appended = await ledger.MergeAsync(plan, cancellationToken);
                if (appended is not null)
                {
                    decisions.Apply(new LedgerChange([.. identifiers.Select(i => (i, target.Value))], appended, [.. sources.Select(s => (s, target.Value))], []));
                    ConsentTelemetry.SubjectsMerged.Add(sources.Count);
                    ConsentTelemetry.RecordsAppended.Add(appended.Count);
                    activity?.SetTag("journey.records_carried_over", appended.Count);
                }

                return;
            }
            catch (ErasedIdentifiersException)
            {
                // The merge names an erased person: nothing was written, and nothing will be.
                return;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
            {
                // A decision was recorded while the merge was planned: plan again.
            }
        }
    }

    /// <summary>
    /// Undoes a profile merge: the subjects that merge joined to the survivor's stand alone again and
    /// are named by the restored profile's identifiers (a new subject when the ledger never knew the
    /// restored profile apart). Both histories stay where they are, as chains are append-only; what
    /// changes is appended, chained and published like any record (origin merge, pointing at the
    /// record it copies): each decision the survivor's subject took while merged goes to the side of the
    /// surest identifier it came through that either side holds (copied to the restored subject when
    /// that is the restored person's); one that came through none stays with the survivor, and a
    /// withdrawal among those is copied to the restored subject too, as it may have been that person's;
    /// and where the survivor's newest record on a purpose is the restored person's, the survivor's own
    /// last decision is appended again, or a withdrawal when it had none. The restored subject's deciding
    /// records are published again, so read models learn what it holds. A split naming an erased profile
    /// or identifier stamped before the erasure settled is dropped.
    /// </summary>
    public async Task SplitAsync(string consumer, string eventId, string survivorName, string restoredName, IReadOnlyList<string> aliasNames, IReadOnlyList<SubjectIdentifier> restoredIdentifiers, DateTimeOffset mergedAt, DateTimeOffset publishedAt, CancellationToken cancellationToken)
    {
        var survivor = ConsentNames.IdOf(survivorName, "profiles") ?? throw new InvalidArgumentException("survivor", "must be profiles/{profile}");
        var restored = ConsentNames.IdOf(restoredName, "profiles") ?? throw new InvalidArgumentException("restored", "must be profiles/{profile}");
        var aliases = aliasNames.Select(a => ConsentNames.IdOf(a, "profiles") ?? throw new InvalidArgumentException("restored_aliases", "must hold profiles/{profile} names")).ToList();
        var side = restoredIdentifiers
            .Append(new SubjectIdentifier(IdentifierKind.ProfileId, restored))
            .Concat(aliases.Select(a => new SubjectIdentifier(IdentifierKind.ProfileId, a)))
            .Distinct().ToList();
        using var activity = ConsentTelemetry.Source.StartActivity("consent split");
        for (var attempt = 1; ; attempt++)
        {
            var now = Clock.Now(time);
            if (await ledger.FindSubjectAsync([new SubjectIdentifier(IdentifierKind.ProfileId, survivor)], cancellationToken) is not { } target)
            {
                // The ledger never joined anyone to the survivor: there is nothing to undo.
                return;
            }

            var merges = await ledger.MergedByAsync(target, restored, cancellationToken);
            var sources = merges.Select(m => m.Subject).ToList();
            var targetIdentifierList = await ledger.GetIdentifiersAsync(target, cancellationToken);
            if (sources.Count == 0 && targetIdentifierList.Any(i => side.Contains(i) && i.Kind != IdentifierKind.ProfileId))
            {
                // The ledger knew only the restored side: the merge gave the survivor's profile id to that
                // side's subject. It stays the restored person's; the survivor's own identifiers leave it.
                var leaving = targetIdentifierList.Except(side).ToList();
                var adopted = new SplitPlan(consumer, eventId, target, target, false, [], side, new Dictionary<Guid, long> { [target] = await ledger.GetChainLengthAsync(target, cancellationToken) }, [], [],
                    await AnnounceAsync([target], target, side, now, cancellationToken), now)
                {
                    ErasureChecks = [.. side.Select(i => new ErasureCheck(TombstoneKey(i), publishedAt))],
                    SurvivorMovesTo = (TimeOrderedIds.Next(now), leaving),
                };
                try
                {
                    if (await ledger.SplitAsync(adopted, cancellationToken) is not null)
                    {
                        decisions.Apply(new LedgerChange([.. leaving.Select(i => (i, adopted.SurvivorMovesTo.Value.Subject)), .. side.Select(i => (i, target))], [], [], []));
                    }

                    return;
                }
                catch (ErasedIdentifiersException)
                {
                    return;
                }
                catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
                {
                    continue;
                }
            }

            // Records after the target's chain length at the merge came while merged; without a source, by time.
            bool WhileMerged(ConsentRecord record) => merges.Count > 0 ? record.Sequence > merges.Min(m => m.MergedHead) : record.Draft.RecordedAt >= mergedAt;
            var restoredSubject = sources.Count > 0 ? sources[0] : TimeOrderedIds.Next(now);
            var heads = new Dictionary<Guid, long> { [target] = await ledger.GetChainLengthAsync(target, cancellationToken) };
            foreach (var source in sources)
            {
                heads[source] = await ledger.GetChainLengthAsync(source, cancellationToken);
            }

            var chain = await ledger.ReadChainAsync(target, cancellationToken);
            var sourceNames = sources.Select(ConsentNames.Subject).ToList();
            bool CarriedFromRestored(RecordDraft draft) =>
                draft.Origin == RecordOrigin.Merge && sourceNames.Any(n => draft.SourceRecord.StartsWith(n + "/", StringComparison.Ordinal));

            // A record taken while merged goes to the side of the surest identifier it came through that
            // either side holds, as the profile service hands back its journal. One that came through none
            // (a subject name, or identifiers neither side holds now) stays with the survivor, and a
            // withdrawal among those, which may have been the restored person's, holds for the restored
            // subject too. A grant is never extended to the other person.
            var via = await ledger.GetRecordedViaAsync(target, cancellationToken);
            var restoredSide = side.ToHashSet();
            var survivorSide = targetIdentifierList.Except(side).Append(new SubjectIdentifier(IdentifierKind.ProfileId, survivor)).ToHashSet();
            SplitSide? OwnerOf(ConsentRecord record) =>
                via.TryGetValue(record.Draft.Id, out var identifiers) ? Surest(identifiers, restoredSide, survivorSide) : null;

            var restoredDrafts = new List<(Purpose Purpose, RecordDraft Draft)>();
            var restoredVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>>();
            foreach (var record in chain.Where(r => WhileMerged(r) && !CarriedFromRestored(r.Draft)))
            {
                var owner = OwnerOf(record);
                if ((owner == SplitSide.Restored || (owner is null && !record.Draft.Granted))
                    && await purposes.FindByNameAsync(ConsentNames.Purpose(record.Draft.PurposeId), cancellationToken) is { } purpose)
                {
                    var copy = Copy(record.Draft, ConsentNames.Record(target, record.Draft.Id), now);
                    restoredDrafts.Add((purpose, copy));
                    if (via.TryGetValue(record.Draft.Id, out var identifiers))
                    {
                        restoredVia[copy.Id] = identifiers;
                    }
                }
            }

            // Where the survivor's newest record on a purpose is the restored person's (carried over by the
            // merge, or taken while merged through their identifiers), the survivor's own last decision is
            // appended again, or a withdrawal when it had none.
            bool Survivors(ConsentRecord record) => !CarriedFromRestored(record.Draft) && (!WhileMerged(record) || OwnerOf(record) != SplitSide.Restored);
            var targetDrafts = new List<(Purpose Purpose, RecordDraft Draft)>();
            foreach (var byPurpose in chain.GroupBy(r => r.Draft.PurposeId, StringComparer.Ordinal))
            {
                var newest = byPurpose.MaxBy(r => r.Sequence)!;
                if (Survivors(newest) || await purposes.FindByNameAsync(ConsentNames.Purpose(byPurpose.Key), cancellationToken) is not { } purpose)
                {
                    continue;
                }

                var own = byPurpose.Where(Survivors).MaxBy(r => r.Sequence);
                targetDrafts.Add((purpose, own is not null
                    ? Copy(own.Draft, ConsentNames.Record(target, own.Draft.Id), now)
                    : Copy(newest.Draft with { Granted = false }, ConsentNames.Record(target, newest.Draft.Id), now)));
            }

            var targetIdentifiers = targetIdentifierList.Except(side).ToList();
            var announced = await AnnounceAsync(sources, restoredSubject, side, now, cancellationToken);

            var plan = new SplitPlan(consumer, eventId, target, restoredSubject, sources.Count == 0, sources, side, heads,
                [.. restoredDrafts.Select(d => d.Draft)], [.. targetDrafts.Select(d => d.Draft)],
                [
                    .. announced,
                    .. restoredDrafts.Select(d => events.ConsentChanged(restoredSubject, side, d.Purpose, d.Draft, now)),
                    .. targetDrafts.Select(d => events.ConsentChanged(target, targetIdentifiers, d.Purpose, d.Draft, now)),
                ],
                now)
            {
                ErasureChecks = [.. side.Select(i => new ErasureCheck(TombstoneKey(i), publishedAt))],
                RestoredVia = restoredVia,
            };
            try
            {
                if (await ledger.SplitAsync(plan, cancellationToken) is { } outcome)
                {
                    decisions.Apply(new LedgerChange([.. side.Select(i => (i, restoredSubject))], [.. outcome.RestoredRecords, .. outcome.TargetRecords], [], []) { Unmerged = outcome.Repointed });
                    ConsentTelemetry.RecordsAppended.Add(outcome.RestoredRecords.Count + outcome.TargetRecords.Count);
                    activity?.SetTag("journey.records_carried_over", outcome.RestoredRecords.Count + outcome.TargetRecords.Count);
                }

                return;
            }
            catch (ErasedIdentifiersException)
            {
                // The split names an erased person: nothing was written, and nothing will be.
                return;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
            {
                // A decision was recorded while the split was planned: plan again.
            }
        }
    }

    /// <summary>
    /// ConsentChanged again for every record that decides a purpose of <paramref name="subjects"/>, as the
    /// decisions of <paramref name="restored"/> named by <paramref name="identifiers"/>: read models that
    /// rebuild the restored person learn what it holds.
    /// </summary>
    private async Task<List<OutboxMessage>> AnnounceAsync(IReadOnlyList<Guid> subjects, Guid restored, IReadOnlyList<SubjectIdentifier> identifiers, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var announced = new List<OutboxMessage>();
        foreach (var subject in subjects)
        {
            foreach (var (purposeId, current) in await ledger.GetDecisionsAsync(subject, cancellationToken))
            {
                if (await purposes.FindByNameAsync(ConsentNames.Purpose(purposeId), cancellationToken) is not { } purpose)
                {
                    continue;
                }

                foreach (var record in (await ledger.GetRecordsAsync([.. current.Entries.ToArray().Select(e => e.RecordId)], cancellationToken)).OrderBy(r => r.Seq))
                {
                    announced.Add(events.ConsentChanged(restored, identifiers, purpose, record.Draft, now));
                }
            }
        }

        return announced;
    }

    /// <summary>
    /// The side of the surest of <paramref name="identifiers"/> that either side holds, in the order identity
    /// resolution trusts them (profile id, customer id, e-mail, phone, anonymous, device, ad-click id; at
    /// the same rank, the first given); null when neither holds any.
    /// </summary>
    private static SplitSide? Surest(IReadOnlyList<SubjectIdentifier> identifiers, HashSet<SubjectIdentifier> restored, HashSet<SubjectIdentifier> survivor)
    {
        foreach (var identifier in identifiers.OrderBy(i => i.Kind == IdentifierKind.ProfileId ? 0 : (int)i.Kind))
        {
            if (restored.Contains(identifier))
            {
                return SplitSide.Restored;
            }

            if (survivor.Contains(identifier))
            {
                return SplitSide.Survivor;
            }
        }

        return null;
    }

    /// <summary>A copy of <paramref name="draft"/> for another chain (or again for the same one), pointing at the record it copies; proof stays with the original.</summary>
    private static RecordDraft Copy(RecordDraft draft, string source, DateTimeOffset now) =>
        new(TimeOrderedIds.Next(now), draft.PurposeId, draft.Granted, draft.Channels, draft.PolicyVersion, draft.CapturedAt, now, "", ConsentChain.Proof("", "", ""), RecordOrigin.Merge, source);

    private string TombstoneKey(SubjectIdentifier identifier) => tombstones.Key((int)identifier.Kind, identifier.Value);
}

/// <summary>The two people a split gives back.</summary>
internal enum SplitSide
{
    /// <summary>The profile the merge went into.</summary>
    Survivor,

    /// <summary>The profile that comes back.</summary>
    Restored,
}
