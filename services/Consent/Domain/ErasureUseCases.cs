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
    public static IReadOnlyList<string> Services => Topics.Apps.All;

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

    private string TombstoneKey(SubjectIdentifier identifier) => tombstones.Key((int)identifier.Kind, identifier.Value);
}
