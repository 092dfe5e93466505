using Journey.Shared.Events;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>Purposes and policy versions.</summary>
public interface IPurposeCatalog
{
    /// <summary>Stores a new purpose; <c>AlreadyExistsException</c> when the id is taken.</summary>
    Task CreatePurposeAsync(Purpose purpose, CancellationToken cancellationToken);

    /// <summary>A purpose, or null.</summary>
    Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> purposes with ids after <paramref name="afterId"/>, by id.</summary>
    Task<IReadOnlyList<Purpose>> ListPurposesAsync(string afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a purpose whose stored version is <c>purpose.Version - 1</c>;
    /// <c>NotFoundException</c> when missing, <c>ConcurrencyConflictException</c> when the version moved.
    /// </summary>
    Task UpdatePurposeAsync(Purpose purpose, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a text as the next version number, and in the same transaction the request id
    /// <paramref name="request"/> makes of that number (when given); one already stored is a
    /// <c>ConcurrencyConflictException</c> and nothing is written.
    /// </summary>
    Task<PolicyVersion> CreatePolicyVersionAsync(string text, string sha256, DateTimeOffset now, Func<int, RequestClaim>? request, CancellationToken cancellationToken);

    /// <summary>A version with its text, or null.</summary>
    Task<PolicyVersion?> GetPolicyVersionAsync(int version, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> versions after <paramref name="afterVersion"/>, oldest first, without text.</summary>
    Task<IReadOnlyList<PolicyVersion>> ListPolicyVersionsAsync(int afterVersion, int limit, CancellationToken cancellationToken);

    /// <summary>The highest version number; 0 when none.</summary>
    Task<int> LatestPolicyVersionAsync(CancellationToken cancellationToken);
}

/// <summary>Records to append to one subject's chain, with the identifiers to link and the events to publish, in one transaction.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="CreateSubject">True when the subject is new.</param>
/// <param name="LinkIdentifiers">Identifiers to link to it; one already linked to another subject is a conflict.</param>
/// <param name="Records">Records in order.</param>
/// <param name="Events">Events for the outbox.</param>
/// <param name="Now">Write time.</param>
/// <param name="Request">The request id to store in the same transaction, or null; one already stored is a <c>ConcurrencyConflictException</c> and nothing is written.</param>
public sealed record LedgerAppend(Guid Subject, bool CreateSubject, IReadOnlyList<SubjectIdentifier> LinkIdentifiers, IReadOnlyList<RecordDraft> Records, IReadOnlyList<OutboxMessage> Events, DateTimeOffset Now, RequestClaim? Request = null)
{
    /// <summary>
    /// For an append an event caused: its inbox consumer and event id, claimed in the same transaction.
    /// An event claimed before appends nothing (<see cref="IConsentLedger.AppendAsync"/> returns no records).
    /// </summary>
    public (string Consumer, string EventId)? Inbox { get; init; }

    /// <summary>The identifiers with the event's stamp: a tombstone that blocks one aborts the append with <see cref="ErasedIdentifiersException"/>.</summary>
    public IReadOnlyList<ErasureCheck> ErasureChecks { get; init; } = [];

    /// <summary>
    /// The identifiers each record (by id) came through. The ledger keeps them only while a merge into
    /// the subject can be undone (see <see cref="IConsentLedger.GetRecordedViaAsync"/>).
    /// </summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>> RecordedVia { get; init; } = NoVia;

    /// <summary>No record's identifiers.</summary>
    public static IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>> NoVia { get; } = System.Collections.ObjectModel.ReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>.Empty;
}

/// <summary>A merge of subjects into one, decided from what was read before.</summary>
/// <param name="Consumer">Inbox consumer name.</param>
/// <param name="EventId">The ProfilesMerged event id, claimed in the same transaction.</param>
/// <param name="Target">The subject that remains.</param>
/// <param name="Sources">Subjects merged into it; their histories stay and list under the target.</param>
/// <param name="Identifiers">Identifiers that now name the target.</param>
/// <param name="ExpectedHeads">Chain length of each subject when the plan was made; a change is a conflict.</param>
/// <param name="CarriedOver">Newer decisions of the sources appended to the target.</param>
/// <param name="Events">Events for the outbox.</param>
/// <param name="Now">Write time.</param>
public sealed record MergePlan(string Consumer, string EventId, Guid Target, IReadOnlyList<Guid> Sources, IReadOnlyList<SubjectIdentifier> Identifiers, IReadOnlyDictionary<Guid, long> ExpectedHeads, IReadOnlyList<RecordDraft> CarriedOver, IReadOnlyList<OutboxMessage> Events, DateTimeOffset Now)
{
    /// <summary>The merge's profiles and identifiers with the event's stamp: a tombstone that blocks one aborts the merge with <see cref="ErasedIdentifiersException"/>.</summary>
    public IReadOnlyList<ErasureCheck> ErasureChecks { get; init; } = [];

    /// <summary>The merged profile (its id): each source remembers it, so a split of that merge finds the subjects to give back.</summary>
    public string MergedProfile { get; init; } = "";
}

/// <summary>A merge undone, decided from what was read before.</summary>
/// <param name="Consumer">Inbox consumer name.</param>
/// <param name="EventId">The ProfileSplit event id, claimed in the same transaction.</param>
/// <param name="Target">The survivor's subject, which stays.</param>
/// <param name="Restored">The restored profile's subject: a source of the merge, or a new one.</param>
/// <param name="CreateRestored">True when <paramref name="Restored"/> is new.</param>
/// <param name="Sources">Subjects the merge joined to the target that come back (their merged_into is cleared, and subjects merged into them first follow them again).</param>
/// <param name="Identifiers">Identifiers that name the restored subject again.</param>
/// <param name="ExpectedHeads">Chain length of each subject when the plan was made; a change is a conflict.</param>
/// <param name="RestoredRecords">Records appended to the restored subject's chain.</param>
/// <param name="TargetRecords">Records appended to the target's chain.</param>
/// <param name="Events">Events for the outbox.</param>
/// <param name="Now">Write time.</param>
public sealed record SplitPlan(
    string Consumer,
    string EventId,
    Guid Target,
    Guid Restored,
    bool CreateRestored,
    IReadOnlyList<Guid> Sources,
    IReadOnlyList<SubjectIdentifier> Identifiers,
    IReadOnlyDictionary<Guid, long> ExpectedHeads,
    IReadOnlyList<RecordDraft> RestoredRecords,
    IReadOnlyList<RecordDraft> TargetRecords,
    IReadOnlyList<OutboxMessage> Events,
    DateTimeOffset Now)
{
    /// <summary>The restored profile's identifiers with the event's stamp: a tombstone that blocks one aborts the split with <see cref="ErasedIdentifiersException"/>.</summary>
    public IReadOnlyList<ErasureCheck> ErasureChecks { get; init; } = [];

    /// <summary>
    /// A new subject for the survivor's own identifiers, when the merge had given the survivor's profile
    /// id to the restored side's subject (the ledger knew only that side): that subject stays the restored
    /// person's, and these identifiers leave it.
    /// </summary>
    public (Guid Subject, IReadOnlyList<SubjectIdentifier> Identifiers)? SurvivorMovesTo { get; init; }

    /// <summary>The identifiers each of <see cref="RestoredRecords"/> (by id) first came through, kept as for an append.</summary>
    public IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>> RestoredVia { get; init; } = LedgerAppend.NoVia;
}

/// <summary>What a split changed in the ledger.</summary>
/// <param name="RestoredRecords">Records appended to the restored subject.</param>
/// <param name="TargetRecords">Records appended to the target.</param>
/// <param name="Repointed">Subjects whose merged_into changed: null when they stand alone again.</param>
public sealed record SplitOutcome(IReadOnlyList<ConsentRecord> RestoredRecords, IReadOnlyList<ConsentRecord> TargetRecords, IReadOnlyList<(Guid Subject, Guid? MergedInto)> Repointed);

/// <summary>An erasure request with this service's own part of it.</summary>
/// <param name="ErasureId">The erasure.</param>
/// <param name="Subject">The person's subject, when the ledger knows one.</param>
/// <param name="RequestedAt">When.</param>
/// <param name="Withdrawals">Withdrawals appended to the subject's chain.</param>
/// <param name="Events">Builds the outbox events from the number of records pseudonymised.</param>
/// <param name="Request">The request id to store in the same transaction, or null; one already stored is a <c>ConcurrencyConflictException</c> and nothing is written.</param>
public sealed record ErasurePlan(Guid ErasureId, Guid? Subject, DateTimeOffset RequestedAt, IReadOnlyList<RecordDraft> Withdrawals, Func<long, IReadOnlyList<OutboxMessage>> Events, RequestClaim? Request = null)
{
    /// <summary>The tombstones to write, given the identifiers the ledger removed (the request's own are added by the plan).</summary>
    public Func<IReadOnlyList<SubjectIdentifier>, IReadOnlyList<ErasureTombstone>> TombstonesOf { get; init; } = _ => [];
}

/// <summary>What an erasure changed in the ledger.</summary>
/// <param name="Appended">Withdrawals appended.</param>
/// <param name="RemovedIdentifiers">Identifiers no longer linked to any subject.</param>
/// <param name="RecordsPseudonymised">Records whose proof details were removed, plus identifiers removed.</param>
public sealed record ErasureOutcome(IReadOnlyList<ConsentRecord> Appended, IReadOnlyList<SubjectIdentifier> RemovedIdentifiers, long RecordsPseudonymised);

/// <summary>A deciding grant whose purpose validity has run out and whose expiry has not been published yet.</summary>
/// <param name="Subject">The subject the decision row belongs to (possibly one merged into another).</param>
/// <param name="PurposeId">The purpose.</param>
/// <param name="Entry">The grant.</param>
public sealed record ExpiredGrant(Guid Subject, string PurposeId, DecisionEntry Entry);

/// <summary>
/// Marks one grant's expiry as published, with its event; the mark and the outbox row are written in
/// one transaction, and a grant already marked writes nothing, so each expiry is published once.
/// </summary>
/// <param name="Grant">The grant.</param>
/// <param name="Event">The event, or null to mark without publishing (a subject merged into another, whose target carries its own grant).</param>
public sealed record ExpiryNotice(ExpiredGrant Grant, OutboxMessage? Event);

/// <summary>
/// Receives the ledger's current state when the decision index is built. <see cref="Expect"/> comes
/// first; the other calls may then arrive from several threads at once.
/// </summary>
public interface ILedgerStateSink
{
    /// <summary>How many identifiers and decisions follow, so the sink can size itself once instead of growing.</summary>
    void Expect(int identifiers, int decisions)
    {
    }

    /// <summary>An identifier names a subject.</summary>
    void Identifier(SubjectIdentifier identifier, Guid subject);

    /// <summary>A subject was merged into another.</summary>
    void Merged(Guid source, Guid target);

    /// <summary>A record still decides a subject's purpose.</summary>
    void Decision(Guid subject, string purposeId, DecisionEntry entry);
}

/// <summary>
/// The consent ledger: subjects and their identifiers, the append-only chained records, the
/// decisions they add up to, merges and erasures. Every write carries its outbox events.
/// </summary>
public interface IConsentLedger
{
    /// <summary>The subject the first resolvable identifier names (after merges), or null.</summary>
    Task<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>The subject itself, or the one it was merged into; null when unknown.</summary>
    Task<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>The subject each known identifier names (after merges); unknown identifiers are absent.</summary>
    Task<IReadOnlyDictionary<SubjectIdentifier, Guid>> FindSubjectsAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>The identifiers that name the subject.</summary>
    Task<IReadOnlyList<SubjectIdentifier>> GetIdentifiersAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>Appends records to the subject's chain; returns them sealed (none when <see cref="LedgerAppend.Inbox"/> names an event claimed before).</summary>
    Task<IReadOnlyList<ConsentRecord>> AppendAsync(LedgerAppend append, CancellationToken cancellationToken);

    /// <summary>
    /// Appends to several subjects' chains in one transaction; returns each append's records sealed,
    /// in the order given. An identifier already linked elsewhere, or a <paramref name="request"/> id
    /// already stored, is a <c>ConcurrencyConflictException</c> and nothing is written. The appends'
    /// own <see cref="LedgerAppend.Request"/> is not used: <paramref name="request"/> covers the batch
    /// and is stored even when there is nothing to append.
    /// </summary>
    Task<IReadOnlyList<IReadOnlyList<ConsentRecord>>> AppendBatchAsync(IReadOnlyList<LedgerAppend> appends, RequestClaim? request, CancellationToken cancellationToken);

    /// <summary>The records that decide the subject's purposes, by purpose id.</summary>
    Task<IReadOnlyDictionary<string, PurposeDecisions>> GetDecisionsAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>The records that decide one purpose of the subject.</summary>
    Task<PurposeDecisions> GetPurposeDecisionsAsync(Guid subject, string purposeId, CancellationToken cancellationToken);

    /// <summary>The number of records in the subject's chain.</summary>
    Task<long> GetChainLengthAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>The head stored with the subject: its chain's length and last hash; <c>NotFoundException</c> when unknown.</summary>
    Task<ChainHead> GetChainHeadAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>The records with these ids, in any order; ids not stored are absent.</summary>
    Task<IReadOnlyList<ConsentRecord>> GetRecordsAsync(IReadOnlyList<Guid> ids, CancellationToken cancellationToken);

    /// <summary>A stored request id (expired ones included until they are deleted), or null.</summary>
    Task<StoredRequest?> FindRequestAsync(string requestId, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="limit"/> request ids that expired at or before <paramref name="now"/>; returns how many.</summary>
    Task<int> DeleteExpiredRequestsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Records of the subject and of subjects merged into it, in storage order, after <paramref name="afterSeq"/>.</summary>
    Task<IReadOnlyList<ConsentRecord>> ListHistoryAsync(Guid subject, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The subject's own chain, in chain order.</summary>
    Task<IReadOnlyList<ConsentRecord>> ReadChainAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>Applies a merge; null when the event was handled before.</summary>
    Task<IReadOnlyList<ConsentRecord>?> MergeAsync(MergePlan plan, CancellationToken cancellationToken);

    /// <summary>
    /// The subjects merged into <paramref name="target"/> by the merge of <paramref name="mergedProfile"/>
    /// (their own merge, not one they followed), each with the target's chain length once that merge was
    /// written: later records were appended while merged.
    /// </summary>
    Task<IReadOnlyList<(Guid Subject, long MergedHead)>> MergedByAsync(Guid target, string mergedProfile, CancellationToken cancellationToken);

    /// <summary>
    /// Undoes a merge; null when the event was handled before. A subject with no undoable merge into it
    /// left forgets the identifiers its records came through.
    /// </summary>
    Task<SplitOutcome?> SplitAsync(SplitPlan plan, CancellationToken cancellationToken);

    /// <summary>
    /// The identifiers the subject's records (by record id) came through, kept for the records appended
    /// while another subject was merged into it by a profile merge that can be undone (one that names
    /// its merged profile): a split hands each to the person it came through. Records without them are
    /// absent. An erasure, and a split that leaves no such merge, removes them.
    /// </summary>
    Task<IReadOnlyDictionary<Guid, IReadOnlyList<SubjectIdentifier>>> GetRecordedViaAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>Stores an erasure request and applies this service's part of it.</summary>
    Task<ErasureOutcome> EraseAsync(ErasurePlan plan, CancellationToken cancellationToken);

    /// <summary>An erasure with the completions reported so far, or null.</summary>
    Task<Erasure?> GetErasureAsync(Guid erasureId, CancellationToken cancellationToken);

    /// <summary>
    /// Records completions, each claimed in the inbox; a repeated report of a service keeps the
    /// first. <c>InvalidArgumentException</c> for an unknown erasure.
    /// </summary>
    Task RecordErasureCompletionsAsync(string consumer, IReadOnlyList<ErasureCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> deciding grants of a purpose captured at or before
    /// <paramref name="capturedAtOrBefore"/> whose expiry was not yet marked published, through an
    /// index that holds only unmarked grants.
    /// </summary>
    Task<IReadOnlyList<ExpiredGrant>> FindUnpublishedExpiriesAsync(string purposeId, DateTimeOffset capturedAtOrBefore, int limit, CancellationToken cancellationToken);

    /// <summary>Marks expiries published and appends their events; returns the number of events appended (grants marked before are skipped).</summary>
    Task<int> MarkExpiriesPublishedAsync(IReadOnlyList<ExpiryNotice> notices, CancellationToken cancellationToken);

    /// <summary>Streams identifiers, merges and current decisions into <paramref name="sink"/>.</summary>
    Task LoadStateAsync(ILedgerStateSink sink, CancellationToken cancellationToken);
}

/// <summary>Builds the integration events of consent changes; implemented in <c>Events/</c>.</summary>
public interface IConsentEvents
{
    /// <summary><c>ConsentChanged</c> for one record.</summary>
    OutboxMessage ConsentChanged(Guid subject, IReadOnlyList<SubjectIdentifier> identifiers, Purpose purpose, RecordDraft record, DateTimeOffset now);

    /// <summary><c>ConsentChanged</c> for a grant that expired at <paramref name="expiredAt"/>.</summary>
    OutboxMessage ConsentExpired(Guid subject, IReadOnlyList<SubjectIdentifier> identifiers, Purpose purpose, DecisionEntry grant, DateTimeOffset expiredAt, DateTimeOffset now);

    /// <summary><c>ErasureRequested</c>.</summary>
    OutboxMessage ErasureRequested(Guid erasureId, IReadOnlyList<SubjectIdentifier> identifiers, DateTimeOffset now);

    /// <summary>This service's own <c>ErasureCompleted</c>.</summary>
    OutboxMessage ErasureCompleted(Guid erasureId, long recordsErased, DateTimeOffset now);
}

/// <summary>
/// The ledger's signed checkpoints and the chain heads the latest one covers, kept apart from the
/// subjects' own rows.
/// </summary>
public interface IConsentCheckpointStore
{
    /// <summary>The newest checkpoint (with its bucket hashes), or null when there is none.</summary>
    Task<LedgerCheckpoint?> GetLatestAsync(CancellationToken cancellationToken);

    /// <summary>A checkpoint, or null.</summary>
    Task<LedgerCheckpoint?> GetAsync(long number, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> checkpoints numbered below <paramref name="beforeNumber"/>, newest first.</summary>
    Task<IReadOnlyList<LedgerCheckpoint>> ListAsync(long beforeNumber, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> subjects with a non-empty chain whose stored head is not the
    /// head covered for them (or none is), ordered by subject.
    /// </summary>
    Task<IReadOnlyList<HeadChange>> FindChangedHeadsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>The hash of the subject's record at <paramref name="sequence"/>, or null when there is none.</summary>
    Task<string?> GetRecordHashAsync(Guid subject, long sequence, CancellationToken cancellationToken);

    /// <summary>The covered heads of one bucket.</summary>
    Task<IReadOnlyList<CheckpointLeaf>> ReadBucketAsync(int bucket, CancellationToken cancellationToken);

    /// <summary>How many subjects the covered heads name, and their records summed.</summary>
    Task<(long Subjects, long Records)> CountCoveredAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores a checkpoint and the heads it newly covers in one transaction, and drops the bucket
    /// hashes of older checkpoints. A number already taken is a <c>ConcurrencyConflictException</c>
    /// and nothing is written.
    /// </summary>
    Task SaveAsync(LedgerCheckpoint checkpoint, IReadOnlyList<CheckpointLeaf> covered, CancellationToken cancellationToken);
}
