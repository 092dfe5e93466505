using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>The consent ledger port's contract: every adapter must pass it.</summary>
public abstract class ConsentLedgerContract(ConsentStores stores) : ConsentStoreContract(stores)
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly SubjectIdentifier Ada = new(IdentifierKind.Email, new string('a', 64));
    private static readonly SubjectIdentifier Customer = new(IdentifierKind.CustomerId, "C-1");

    protected IConsentLedger Ledger => Stores.Ledger;

    protected IOutboxStore Outbox => Stores.Outbox;

    /// <summary>A new adapter over the same store, as after a restart.</summary>
    protected IConsentLedger Reopen() => Stores.ReopenLedger();

    private static RecordDraft Draft(string purpose, bool granted, int channels = 0, int minutes = 0) => new(
        Guid.CreateVersion7(), purpose, granted, new ChannelMask(channels), 2, Now.AddMinutes(minutes), Now.AddMinutes(minutes), "tp-1",
        ConsentChain.Proof("form-1", new string('f', 64), "Mozilla/5.0"), RecordOrigin.Direct, "");

    private static OutboxMessage Event(string value) =>
        EventEnvelopes.Create(ConsentTopics.ConsentChanged, "consent", new Google.Protobuf.WellKnownTypes.StringValue { Value = value }, Now);

    private async Task<(Guid Subject, IReadOnlyList<ConsentRecord> Records)> NewSubjectAsync(params RecordDraft[] drafts)
    {
        var subject = Guid.CreateVersion7();
        var records = await Ledger.AppendAsync(new LedgerAppend(subject, true, [Ada], drafts, [Event("a")], Now), default);
        return (subject, records);
    }

    [ContractFact]
    public async Task Append_WhenSubjectIsNew_ChainsRecordsRoundTripsThemAndWritesTheOutbox()
    {
        var (subject, records) = await NewSubjectAsync(Draft("marketing", true), Draft("profiling", false, 1 << 2));

        var chain = await Ledger.ReadChainAsync(subject, default);

        Assert.Equal(records, chain);
        Assert.Equal([1L, 2L], chain.Select(r => r.Sequence));
        Assert.Equal(chain[0].Hash, chain[1].PreviousHash);
        Assert.Equal(ChainBreak.None, ConsentChain.Verify(chain).Break);
        Assert.Equal(subject, await Ledger.FindSubjectAsync([Customer, Ada], default));
        Assert.Single(await Outbox.ReadDueAsync(10, Now.AddYears(1), default));
    }

    [ContractFact]
    public async Task Append_WhenIdentifierBelongsToAnotherSubject_IsConflictAndWritesNothing()
    {
        await NewSubjectAsync(Draft("marketing", true));
        var other = Guid.CreateVersion7();

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Ledger.AppendAsync(new LedgerAppend(other, true, [Ada], [Draft("marketing", false)], [Event("b")], Now), default));

        Assert.Null(await Ledger.ResolveSubjectAsync(other, default));
        Assert.Single(await Outbox.ReadDueAsync(10, Now.AddYears(1), default));
    }

    [ContractFact]
    public async Task AppendBatch_ChainsEachSubjectAndWhenAnIdentifierIsTakenWritesNothing()
    {
        var (existing, first) = await NewSubjectAsync(Draft("marketing", true));
        var fresh = Guid.CreateVersion7();
        var results = await Ledger.AppendBatchAsync(
        [
            new LedgerAppend(existing, false, [], [Draft("marketing", false, minutes: 1), Draft("profiling", true, minutes: 1)], [Event("b1"), Event("b2")], Now),
            new LedgerAppend(fresh, true, [Customer], [Draft("marketing", true)], [Event("b3")], Now),
        ], null, default);

        Assert.Equal([2L, 3L], results[0].Select(r => r.Sequence));
        Assert.Equal(first[0].Hash, results[0][0].PreviousHash);
        Assert.Equal(ChainBreak.None, ConsentChain.Verify(await Ledger.ReadChainAsync(existing, default)).Break);
        Assert.Equal(fresh, (await Ledger.FindSubjectsAsync([Customer, new SubjectIdentifier(IdentifierKind.CustomerId, "C-404")], default)).Single(p => p.Key == Customer).Value);
        Assert.False((await Ledger.GetPurposeDecisionsAsync(existing, "marketing", default)).Newest!.Value.Granted);
        Assert.Equal(4, (await Outbox.ReadDueAsync(100, Now.AddYears(1), default)).Count);

        var other = Guid.CreateVersion7();
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Ledger.AppendBatchAsync(
        [
            new LedgerAppend(other, true, [new SubjectIdentifier(IdentifierKind.CustomerId, "C-9")], [Draft("marketing", true)], [Event("c1")], Now),
            new LedgerAppend(Guid.CreateVersion7(), true, [Ada], [Draft("marketing", true)], [Event("c2")], Now),
        ], null, default));
        Assert.Null(await Ledger.ResolveSubjectAsync(other, default));
        Assert.Equal(4, (await Outbox.ReadDueAsync(100, Now.AddYears(1), default)).Count);
    }

    [ContractFact]
    public async Task GetPurposeDecisions_KeepsOnlyRecordsNotCoveredByNewerOnes()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true, 1 << 2, 0), Draft("marketing", true, 1 << 1, 1), Draft("marketing", false, 1 << 2, 2));

        var decisions = await Ledger.GetPurposeDecisionsAsync(subject, "marketing", default);

        Assert.Equal([false, true], decisions.Entries.ToArray().Select(e => e.Granted));
        Assert.True(decisions.TryFind(1, out var web) && web.Granted);
        Assert.True(decisions.TryFind(2, out var email) && !email.Granted);
    }

    [ContractFact]
    public async Task Merge_MovesIdentifiersAppendsCarriedRecordsAndIgnoresARepeatedEvent()
    {
        var (source, _) = await NewSubjectAsync(Draft("marketing", true));
        var target = Guid.CreateVersion7();
        await Ledger.AppendAsync(new LedgerAppend(target, true, [Customer], [Draft("profiling", true)], [], Now), default);
        var plan = new MergePlan("consent.test", "event-1", target, [source], [Ada], new Dictionary<Guid, long> { [target] = 1, [source] = 1 },
            [Draft("marketing", true) with { Origin = RecordOrigin.Merge, SourceRecord = "subjects/x/records/y" }], [], Now);

        var appended = await Ledger.MergeAsync(plan, default);
        var repeated = await Ledger.MergeAsync(plan, default);

        Assert.Single(appended!);
        Assert.Null(repeated);
        Assert.Equal(target, await Ledger.FindSubjectAsync([Ada], default));
        Assert.Equal(target, await Ledger.ResolveSubjectAsync(source, default));
        Assert.Equal(3, (await Ledger.ListHistoryAsync(target, 0, 10, default)).Count);
        Assert.Equal(2, await Ledger.GetChainLengthAsync(target, default));
    }

    [ContractFact]
    public async Task RecordedVia_IsKeptOnlyWhileAMergeIntoTheSubjectCanBeUndone_AndGoesWithItsSplitAndWithAnErasure()
    {
        var (source, _) = await NewSubjectAsync(Draft("marketing", true));
        var target = Guid.CreateVersion7();
        var before = Draft("profiling", true);
        await Ledger.AppendAsync(new LedgerAppend(target, true, [Customer], [before], [], Now) { RecordedVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> { [before.Id] = [Customer] } }, default);
        await Ledger.MergeAsync(new MergePlan("consent.test", "event-v1", target, [source], [Ada], new Dictionary<Guid, long> { [target] = 1, [source] = 1 }, [], [], Now) { MergedProfile = "p-old" }, default);
        var whileMerged = Draft("marketing", false, minutes: 1);
        var batched = Draft("profiling", false, minutes: 2);

        await Ledger.AppendAsync(new LedgerAppend(target, false, [], [whileMerged], [], Now) { RecordedVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> { [whileMerged.Id] = [Ada, Customer] } }, default);
        await Ledger.AppendBatchAsync([new LedgerAppend(target, false, [], [batched], [], Now) { RecordedVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> { [batched.Id] = [Customer] } }], null, default);

        var via = await Reopen().GetRecordedViaAsync(target, default);
        Assert.Equal(new[] { whileMerged.Id, batched.Id }.Order(), via.Keys.Order());
        Assert.Equal([Ada, Customer], via[whileMerged.Id]);
        Assert.Equal([Customer], via[batched.Id]);

        var copy = Draft("marketing", false, minutes: 3) with { Origin = RecordOrigin.Merge, SourceRecord = ConsentNames.Record(target, whileMerged.Id) };
        var split = await Ledger.SplitAsync(new SplitPlan("consent.test", "event-v2", target, source, false, [source], [Ada], new Dictionary<Guid, long> { [target] = 3, [source] = 1 }, [copy], [], [], Now)
        {
            RestoredVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> { [copy.Id] = [Ada] },
        }, default);

        Assert.NotNull(split);
        Assert.Empty(await Ledger.GetRecordedViaAsync(target, default));
        Assert.Empty(await Ledger.GetRecordedViaAsync(source, default));
        Assert.Equal(ChainBreak.None, ConsentChain.Verify(await Ledger.ReadChainAsync(target, default)).Break);
        Assert.Equal(ChainBreak.None, ConsentChain.Verify(await Ledger.ReadChainAsync(source, default)).Break);

        await Ledger.MergeAsync(new MergePlan("consent.test", "event-v3", target, [source], [Ada], new Dictionary<Guid, long> { [target] = 3, [source] = 2 }, [], [], Now) { MergedProfile = "p-old" }, default);
        var again = Draft("marketing", true, minutes: 4);
        await Ledger.AppendAsync(new LedgerAppend(target, false, [], [again], [], Now) { RecordedVia = new Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> { [again.Id] = [Ada] } }, default);
        Assert.Single(await Ledger.GetRecordedViaAsync(target, default));

        await Ledger.EraseAsync(new ErasurePlan(Guid.CreateVersion7(), target, Now, [], _ => []), default);

        Assert.Empty(await Ledger.GetRecordedViaAsync(target, default));
    }

    [ContractFact]
    public async Task Merge_WhenAChainGrewSincePlanning_IsConflict()
    {
        var (source, _) = await NewSubjectAsync(Draft("marketing", true));
        var target = Guid.CreateVersion7();
        await Ledger.AppendAsync(new LedgerAppend(target, true, [Customer], [Draft("profiling", true)], [], Now), default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Ledger.MergeAsync(
            new MergePlan("consent.test", "event-2", target, [source], [], new Dictionary<Guid, long> { [target] = 0 }, [], [], Now), default));
    }

    [ContractFact]
    public async Task ListHistory_PagesInStorageOrder()
    {
        var (subject, records) = await NewSubjectAsync(Draft("a", true), Draft("b", true), Draft("c", true));

        var first = await Ledger.ListHistoryAsync(subject, 0, 2, default);
        var rest = await Ledger.ListHistoryAsync(subject, first[^1].Seq, 2, default);

        Assert.Equal(records.Select(r => r.Draft.Id), first.Concat(rest).Select(r => r.Draft.Id));
    }

    [ContractFact]
    public async Task Erase_RemovesIdentifiersAndProofDetailsYetTheChainVerifies()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true));
        var erasure = Guid.CreateVersion7();

        var outcome = await Ledger.EraseAsync(new ErasurePlan(erasure, subject, Now, [Draft("marketing", false)], erased => [Event($"erased {erased}")]), default);

        Assert.Equal([Ada], outcome.RemovedIdentifiers);
        Assert.Equal(3, outcome.RecordsPseudonymised);
        Assert.Null(await Ledger.FindSubjectAsync([Ada], default));
        var chain = await Ledger.ReadChainAsync(subject, default);
        Assert.All(chain, r => Assert.True(r.Draft.Proof.Redacted && r.Draft.Proof.FormId.Length == 0));
        Assert.Equal(ChainBreak.None, ConsentChain.Verify(chain).Break);
        Assert.Equal(subject, (await Ledger.GetErasureAsync(erasure, default))!.Subject);
    }

    [ContractFact]
    public async Task Append_OfAnEvent_ClaimsItsInboxOnce_AndATombstoneBlocksItWritingNothing()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true));
        await Ledger.EraseAsync(new ErasurePlan(Guid.CreateVersion7(), null, Now, [], _ => [])
        {
            TombstonesOf = _ => [new ErasureTombstone("tomb-customer", Now.AddHours(1), Now.AddDays(30))],
        }, default);
        LedgerAppend Observed(string eventId, params ErasureCheck[] checks) =>
            new LedgerAppend(subject, false, [], [Draft("marketing", false, minutes: 1)], [Event(eventId)], Now) { Inbox = ("consent.test", eventId), ErasureChecks = checks };

        var first = await Ledger.AppendAsync(Observed("event-1"), default);
        var again = await Ledger.AppendAsync(Observed("event-1"), default);
        await Assert.ThrowsAsync<ErasedIdentifiersException>(() => Ledger.AppendAsync(Observed("event-2", new ErasureCheck("tomb-customer", Now)), default));
        var retried = await Ledger.AppendAsync(Observed("event-2"), default);

        Assert.Single(first);
        Assert.Empty(again);
        Assert.Single(retried);
        Assert.Equal(3, (await Ledger.ReadChainAsync(subject, default)).Count);
        Assert.Equal(3, (await Outbox.ReadDueAsync(10, Now.AddYears(1), default)).Count);
    }

    [ContractFact]
    public async Task Erase_LeavesTombstonesOfTheRemovedIdentifiersThatBlockAMergeStampedBeforeTheyEnd()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true));
        var until = Now.AddHours(1);
        IReadOnlyList<SubjectIdentifier> removed = [];
        await Ledger.EraseAsync(new ErasurePlan(Guid.CreateVersion7(), subject, Now, [], _ => [])
        {
            TombstonesOf = identifiers =>
            {
                removed = identifiers;
                return [new ErasureTombstone("tomb-ada", until, until.AddDays(30))];
            },
        }, default);
        var target = Guid.CreateVersion7();
        await Ledger.AppendAsync(new LedgerAppend(target, true, [Customer], [Draft("profiling", true)], [], Now), default);
        MergePlan Merge(string eventId, DateTimeOffset stampedAt) =>
            new MergePlan("consent.test", eventId, target, [], [Ada], new Dictionary<Guid, long> { [target] = 1 }, [], [], Now)
            {
                ErasureChecks = [new ErasureCheck("tomb-ada", stampedAt)],
            };

        var blocked = await Assert.ThrowsAsync<ErasedIdentifiersException>(() => Ledger.MergeAsync(Merge("event-3", until), default));

        Assert.Equal([Ada], removed);
        Assert.Equal(until, blocked.Found["tomb-ada"]);
        Assert.Null(await Ledger.FindSubjectAsync([Ada], default));
        Assert.NotNull(await Ledger.MergeAsync(Merge("event-4", until.AddMilliseconds(1)), default));
        Assert.Equal(target, await Ledger.FindSubjectAsync([Ada], default));
    }

    [ContractFact]
    public async Task RecordErasureCompletions_KeepsTheFirstReportPerServiceAndRefusesUnknownErasures()
    {
        var erasure = Guid.CreateVersion7();
        await Ledger.EraseAsync(new ErasurePlan(erasure, null, Now, [], _ => []), default);

        await Ledger.RecordErasureCompletionsAsync("consent.test", [new ErasureCompletion("e1", erasure, new ServiceErasure("profile", Now, 4))], Now, default);
        await Ledger.RecordErasureCompletionsAsync("consent.test", [new ErasureCompletion("e2", erasure, new ServiceErasure("profile", Now.AddHours(1), 9))], Now, default);

        Assert.Equal([new ServiceErasure("profile", Now, 4)], (await Ledger.GetErasureAsync(erasure, default))!.Completions);
        await Assert.ThrowsAsync<InvalidArgumentException>(() => Ledger.RecordErasureCompletionsAsync(
            "consent.test", [new ErasureCompletion("e3", Guid.CreateVersion7(), new ServiceErasure("profile", Now, 1))], Now, default));
    }

    [ContractFact]
    public async Task FindUnpublishedExpiries_ReturnsOnlyDecidingGrantsCapturedByTheCutoff()
    {
        var (due, dueRecords) = await NewSubjectAsync(Draft("marketing", true), Draft("profiling", true));
        var later = Guid.CreateVersion7();
        await Ledger.AppendAsync(new LedgerAppend(later, true, [Customer], [Draft("marketing", true, minutes: 10)], [], Now), default);
        var withdrawn = Guid.CreateVersion7();
        await Ledger.AppendAsync(new LedgerAppend(withdrawn, true, [new SubjectIdentifier(IdentifierKind.CustomerId, "C-2")], [Draft("marketing", true), Draft("marketing", false, minutes: 1)], [], Now), default);

        var found = await Ledger.FindUnpublishedExpiriesAsync("marketing", Now.AddMinutes(5), 10, default);

        var grant = Assert.Single(found);
        Assert.Equal((due, "marketing", dueRecords[0].Draft.Id), (grant.Subject, grant.PurposeId, grant.Entry.RecordId));
        Assert.True(grant.Entry.Granted);
        Assert.Equal(2, (await Ledger.FindUnpublishedExpiriesAsync("marketing", Now.AddMinutes(10), 10, default)).Count);
        Assert.Single(await Ledger.FindUnpublishedExpiriesAsync("marketing", Now.AddMinutes(10), 1, default));
    }

    [ContractFact]
    public async Task MarkExpiriesPublished_WritesEachEventOnceAndHidesTheGrant()
    {
        await NewSubjectAsync(Draft("marketing", true));
        var grant = Assert.Single(await Ledger.FindUnpublishedExpiriesAsync("marketing", Now, 10, default));
        var before = (await Outbox.ReadDueAsync(10, Now.AddYears(1), default)).Count;

        var first = await Ledger.MarkExpiriesPublishedAsync([new ExpiryNotice(grant, Event("expired"))], default);
        var repeated = await Ledger.MarkExpiriesPublishedAsync([new ExpiryNotice(grant, Event("expired again"))], default);

        Assert.Equal((1, 0), (first, repeated));
        Assert.Equal(before + 1, (await Outbox.ReadDueAsync(10, Now.AddYears(1), default)).Count);
        Assert.Empty(await Ledger.FindUnpublishedExpiriesAsync("marketing", Now.AddYears(1), 10, default));
    }

    [ContractFact]
    public async Task MarkExpiriesPublished_WhenANewerRecordReplacedTheGrant_WritesNothing()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true));
        var grant = Assert.Single(await Ledger.FindUnpublishedExpiriesAsync("marketing", Now, 10, default));
        await Ledger.AppendAsync(new LedgerAppend(subject, false, [], [Draft("marketing", true, minutes: 1)], [], Now), default);
        var before = (await Outbox.ReadDueAsync(10, Now.AddYears(1), default)).Count;

        Assert.Equal(0, await Ledger.MarkExpiriesPublishedAsync([new ExpiryNotice(grant, Event("expired"))], default));

        Assert.Equal(before, (await Outbox.ReadDueAsync(10, Now.AddYears(1), default)).Count);
        Assert.NotEqual(grant.Entry.RecordId, Assert.Single(await Ledger.FindUnpublishedExpiriesAsync("marketing", Now.AddMinutes(1), 10, default)).Entry.RecordId);
    }

    private static RequestClaim Claim(string fingerprint, DateTimeOffset? expiresAt = null) =>
        new(Guid.NewGuid().ToString(), fingerprint, new RequestOutcome([new OutcomeRecord(0, Guid.CreateVersion7(), Guid.CreateVersion7())], [], null).Encode(), Now, expiresAt ?? Now.AddDays(1));

    [ContractFact]
    public async Task Append_WithARequestId_StoresItAndEveryWriteWithTheSameIdIsConflictWritingNothing()
    {
        var subject = Guid.CreateVersion7();
        var claim = Claim("first");
        await Ledger.AppendAsync(new LedgerAppend(subject, true, [Ada], [Draft("marketing", true)], [Event("a")], Now, claim), default);

        var stored = await Ledger.FindRequestAsync(claim.RequestId, default);

        Assert.Equal("first", stored!.Fingerprint);
        Assert.Equal(claim.Outcome, stored.Outcome.Encode());
        var again = claim with { Fingerprint = "second" };
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Ledger.AppendAsync(new LedgerAppend(subject, false, [], [Draft("marketing", false)], [Event("b")], Now, again), default));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Ledger.AppendBatchAsync([new LedgerAppend(subject, false, [], [Draft("marketing", false)], [Event("c")], Now)], again, default));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Ledger.EraseAsync(new ErasurePlan(Guid.CreateVersion7(), subject, Now, [Draft("marketing", false)], _ => [Event("d")], again), default));
        Assert.Single(await Ledger.ReadChainAsync(subject, default));
        Assert.Equal(subject, await Ledger.FindSubjectAsync([Ada], default));
        Assert.Single(await Outbox.ReadDueAsync(10, Now.AddYears(1), default));
        Assert.Equal("first", (await Ledger.FindRequestAsync(claim.RequestId, default))!.Fingerprint);
        Assert.Null(await Ledger.FindRequestAsync(Guid.NewGuid().ToString(), default));
    }

    [ContractFact]
    public async Task AppendBatch_WithARequestIdAndNothingToAppend_StoresTheRequestId()
    {
        var claim = Claim("batch");

        await Ledger.AppendBatchAsync([], claim, default);

        Assert.Equal("batch", (await Ledger.FindRequestAsync(claim.RequestId, default))!.Fingerprint);
        Assert.Empty(await Outbox.ReadDueAsync(10, Now.AddYears(1), default));
    }

    [ContractFact]
    public async Task DeleteExpiredRequests_DeletesThoseExpiredByNowOldestFirstUpToTheLimit()
    {
        var oldest = Claim("oldest", Now.AddHours(1));
        var older = Claim("older", Now.AddHours(2));
        var current = Claim("current", Now.AddDays(2));
        foreach (var claim in new[] { current, older, oldest })
        {
            await Ledger.AppendBatchAsync([], claim, default);
        }

        Assert.Equal(1, await Ledger.DeleteExpiredRequestsAsync(Now.AddHours(3), 1, default));
        Assert.Equal(1, await Ledger.DeleteExpiredRequestsAsync(Now.AddHours(3), 10, default));
        Assert.Equal(0, await Ledger.DeleteExpiredRequestsAsync(Now.AddHours(3), 10, default));

        Assert.Null(await Ledger.FindRequestAsync(oldest.RequestId, default));
        Assert.Null(await Ledger.FindRequestAsync(older.RequestId, default));
        Assert.NotNull(await Ledger.FindRequestAsync(current.RequestId, default));
    }

    [ContractFact]
    public async Task GetRecordsAndChainHead_ReturnTheStoredRecordsAndTheHeadOfTheirChain()
    {
        var (subject, records) = await NewSubjectAsync(Draft("a", true), Draft("b", true));

        var found = await Ledger.GetRecordsAsync([records[1].Draft.Id, Guid.CreateVersion7(), records[0].Draft.Id], default);
        var head = await Ledger.GetChainHeadAsync(subject, default);

        Assert.Equal(records.OrderBy(r => r.Draft.Id), found.OrderBy(r => r.Draft.Id));
        Assert.Equal(new ChainHead(2, records[1].Hash), head);
        await Assert.ThrowsAsync<NotFoundException>(() => Ledger.GetChainHeadAsync(Guid.CreateVersion7(), default));
    }

    [ContractFact]
    public async Task LoadState_StreamsIdentifiersMergesAndDecisions()
    {
        var (subject, _) = await NewSubjectAsync(Draft("marketing", true));
        var index = new DecisionIndex();

        await Ledger.LoadStateAsync(index, default);

        Assert.Equal(subject, await index.FindSubjectAsync([Ada], default));
        Assert.True((await index.GetAsync(subject, "marketing", default)).TryFind(0, out var entry) && entry.Granted);
    }
}

public sealed class SqliteConsentLedgerTests() : ConsentLedgerContract(ConsentStores.Sqlite());

public sealed class MongoConsentLedgerTests() : ConsentLedgerContract(ConsentStores.Mongo()), IRequiresMongo;
