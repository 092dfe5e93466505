using System.Collections.Concurrent;

namespace Journey.Consent.Domain;

/// <summary>A committed change to the ledger, as the decision source must learn it before the write call returns.</summary>
/// <param name="Linked">Identifiers that now name a subject.</param>
/// <param name="Records">Records appended.</param>
/// <param name="Merged">Subjects merged into another (source, target).</param>
/// <param name="Unlinked">Identifiers that no longer name anyone.</param>
public sealed record LedgerChange(
    IReadOnlyList<(SubjectIdentifier Identifier, Guid Subject)> Linked,
    IReadOnlyList<ConsentRecord> Records,
    IReadOnlyList<(Guid Source, Guid Target)> Merged,
    IReadOnlyList<SubjectIdentifier> Unlinked)
{
    /// <summary>Subjects a split took out of a merge: merged into another again, or (null) standing alone.</summary>
    public IReadOnlyList<(Guid Subject, Guid? MergedInto)> Unmerged { get; init; } = [];
}

/// <summary>
/// Where checks read subjects and decisions. Writers call <see cref="Apply"/> after their commit and
/// before they return, so a check that starts after a withdrawal returned never sees the grant.
/// </summary>
public interface IDecisionSource
{
    /// <summary>The subject named by the first resolvable identifier, or null.</summary>
    ValueTask<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>The subject or the one it was merged into; null when unknown.</summary>
    ValueTask<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken);

    /// <summary>The records deciding one purpose of a subject.</summary>
    ValueTask<PurposeDecisions> GetAsync(Guid subject, string purposeId, CancellationToken cancellationToken);

    /// <summary>Learns a committed change.</summary>
    void Apply(LedgerChange change);
}

/// <summary>
/// Decisions served from memory: every identifier, merge and deciding record of the ledger, loaded at
/// start and written through by every write of this process. Right for the embedded SQLite store,
/// which only this process writes. Entries are immutable and replaced whole; a record only replaces
/// state built from an older one (storage order), so writes finishing out of order cannot leave an
/// older decision in place.
/// </summary>
public sealed class DecisionIndex : IDecisionSource, ILedgerStateSink
{
    private readonly ConcurrentDictionary<Guid, Guid> _mergedInto = new();
    private ConcurrentDictionary<SubjectIdentifier, Guid> _subjects = new();
    private ConcurrentDictionary<(Guid Subject, string Purpose), PurposeDecisions> _decisions = new();

    /// <summary>How many subject-purpose pairs hold a decision.</summary>
    public int DecisionCount => _decisions.Count;

    /// <inheritdoc />
    public ValueTask<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken)
    {
        for (var i = 0; i < identifiers.Count; i++)
        {
            if (_subjects.TryGetValue(identifiers[i], out var subject))
            {
                return new ValueTask<Guid?>(Follow(subject));
            }
        }

        return new ValueTask<Guid?>((Guid?)null);
    }

    /// <inheritdoc />
    public ValueTask<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken) =>
        new(Follow(subject));

    /// <inheritdoc />
    public ValueTask<PurposeDecisions> GetAsync(Guid subject, string purposeId, CancellationToken cancellationToken) =>
        new(_decisions.TryGetValue((subject, purposeId), out var decisions) ? decisions : PurposeDecisions.None);

    /// <inheritdoc />
    public void Apply(LedgerChange change)
    {
        // Decisions first: a subject becomes findable by a new identifier only once its records are in.
        foreach (var record in change.Records)
        {
            var entry = DecisionEntry.Of(record);
            _decisions.AddOrUpdate((record.Subject, record.Draft.PurposeId), static (_, e) => PurposeDecisions.None.With(e), static (_, old, e) => old.With(e), entry);
        }

        // A merged subject's own decisions stay: lookups follow it to the target and never read them.
        foreach (var (source, target) in change.Merged)
        {
            _mergedInto[source] = target;
        }

        foreach (var (subject, mergedInto) in change.Unmerged)
        {
            if (mergedInto is { } target)
            {
                _mergedInto[subject] = target;
            }
            else
            {
                _mergedInto.TryRemove(subject, out _);
            }
        }

        foreach (var (identifier, subject) in change.Linked)
        {
            _subjects[identifier] = subject;
        }

        foreach (var identifier in change.Unlinked)
        {
            _subjects.TryRemove(identifier, out _);
        }
    }

    /// <inheritdoc />
    void ILedgerStateSink.Expect(int identifiers, int decisions)
    {
        // Loading runs before the host serves, into an empty index: a table sized once saves
        // rehashing a million entries several times over as it grows.
        if (_subjects.IsEmpty && _decisions.IsEmpty)
        {
            _subjects = new ConcurrentDictionary<SubjectIdentifier, Guid>(Environment.ProcessorCount, Math.Max(31, identifiers));
            _decisions = new ConcurrentDictionary<(Guid Subject, string Purpose), PurposeDecisions>(Environment.ProcessorCount, Math.Max(31, decisions));
        }
    }

    /// <inheritdoc />
    void ILedgerStateSink.Identifier(SubjectIdentifier identifier, Guid subject) => _subjects[identifier] = subject;

    /// <inheritdoc />
    void ILedgerStateSink.Merged(Guid source, Guid target) => _mergedInto[source] = target;

    /// <inheritdoc />
    void ILedgerStateSink.Decision(Guid subject, string purposeId, DecisionEntry entry) =>
        _decisions.AddOrUpdate((subject, string.Intern(purposeId)), static (_, e) => PurposeDecisions.None.With(e), static (_, old, e) => old.With(e), entry);

    private Guid? Follow(Guid subject)
    {
        // Merges are re-pointed to the final target when they happen, so one hop is enough; the
        // bound only guards against a corrupt store.
        for (var hops = 0; hops < 8 && _mergedInto.TryGetValue(subject, out var target); hops++)
        {
            subject = target;
        }

        return subject;
    }
}

/// <summary>
/// Decisions read from the store on every check. Used with MongoDB, where several replicas write
/// the same ledger: an in-process index would not see the others' withdrawals, so the only
/// cache that could never answer a stale 'allowed' is none. A check then costs two indexed reads.
/// </summary>
public sealed class StoredDecisionSource(IConsentLedger ledger) : IDecisionSource
{
    /// <inheritdoc />
    public async ValueTask<Guid?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        await ledger.FindSubjectAsync(identifiers, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<Guid?> ResolveSubjectAsync(Guid subject, CancellationToken cancellationToken) =>
        await ledger.ResolveSubjectAsync(subject, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<PurposeDecisions> GetAsync(Guid subject, string purposeId, CancellationToken cancellationToken) =>
        await ledger.GetPurposeDecisionsAsync(subject, purposeId, cancellationToken);

    /// <inheritdoc />
    public void Apply(LedgerChange change)
    {
        // Nothing to keep: every check reads the store.
    }
}
