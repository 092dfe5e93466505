using System.Globalization;
using Journey.Shared.Errors;

namespace Journey.Consent.Domain;

/// <summary>What making a checkpoint did.</summary>
/// <param name="Checkpoint">The checkpoint stored; null when no head changed since the latest, which still covers them all.</param>
/// <param name="Covered">Heads it newly covers.</param>
/// <param name="Diverged">Subjects whose stored head does not extend the head covered before (or does not match its own chain): left as they were covered, so verification keeps reporting them.</param>
/// <param name="TamperedBuckets">Buckets whose stored heads no longer hash to the signed bucket hash: left as signed, their changes not taken.</param>
/// <param name="Reanchored">True when the previous checkpoint did not verify under the current key, so the stored heads were taken as they are.</param>
/// <param name="MorePending">True when more changed heads wait than one checkpoint takes.</param>
public sealed record CheckpointOutcome(LedgerCheckpoint? Checkpoint, int Covered, IReadOnlyList<Guid> Diverged, IReadOnlyList<int> TamperedBuckets, bool Reanchored, bool MorePending);

/// <summary>Makes, lists and checks against the ledger's signed checkpoints (see <see cref="LedgerCheckpoints"/>).</summary>
public sealed class CheckpointUseCases(IConsentCheckpointStore store, CheckpointSigner signer, TimeProvider time)
{
    /// <summary>
    /// Heads one checkpoint takes at most. It is written in one transaction; more changed heads wait
    /// for the next one, which the maintenance loop runs at once.
    /// </summary>
    public const int MaxHeadsPerCheckpoint = 50_000;

    private const int MaxAttempts = 3;

    /// <summary>The key checkpoints are signed with.</summary>
    public CheckpointSigner Signer => signer;

    /// <summary>
    /// Makes the next checkpoint. A changed head is taken only when the subject's chain still holds
    /// the covered hash at the covered length and its own head hash at the new length: a head that
    /// moved any other way was rewritten, and taking it would bless the rewrite. When no head is
    /// taken (and the key did not change) nothing is stored: the latest checkpoint still covers the
    /// ledger, and an idle ledger writes nothing.
    /// </summary>
    public async Task<CheckpointOutcome> CreateAsync(CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var latest = await store.GetLatestAsync(cancellationToken);
        var reanchored = latest is not null && !LedgerCheckpoints.Verifies(latest, signer);
        var changes = await store.FindChangedHeadsAsync(MaxHeadsPerCheckpoint, cancellationToken);
        var accepted = new List<CheckpointLeaf>(changes.Count);
        var diverged = new List<Guid>();
        foreach (var change in changes)
        {
            if (await ExtendsAsync(change, cancellationToken))
            {
                accepted.Add(new CheckpointLeaf(change.Subject, change.Head.Length, change.Head.Hash));
            }
            else
            {
                diverged.Add(change.Subject);
            }
        }

        var buckets = latest?.BucketHashes is { } stored && !reanchored ? (byte[])stored.Clone() : LedgerCheckpoints.EmptyBuckets();
        var affected = reanchored ? Enumerable.Range(0, LedgerCheckpoints.Buckets).ToHashSet() : accepted.Select(l => l.Bucket).ToHashSet();
        var tampered = new List<int>();
        var covered = new List<CheckpointLeaf>(accepted.Count);
        var (subjects, records) = await store.CountCoveredAsync(cancellationToken);
        foreach (var bucket in affected.Order())
        {
            var leaves = (await store.ReadBucketAsync(bucket, cancellationToken)).ToDictionary(l => l.Subject);
            if (latest is not null && !reanchored && !LedgerCheckpoints.BucketHash(leaves.Values).AsSpan().SequenceEqual(LedgerCheckpoints.StoredBucketHash(latest.BucketHashes!, bucket)))
            {
                // The stored heads were changed after the last checkpoint signed them; hashing the
                // new ones in would bless that change.
                tampered.Add(bucket);
                continue;
            }

            foreach (var leaf in accepted.Where(l => l.Bucket == bucket))
            {
                if (leaves.TryGetValue(leaf.Subject, out var before))
                {
                    records += leaf.Length - before.Length;
                }
                else
                {
                    subjects++;
                    records += leaf.Length;
                }

                leaves[leaf.Subject] = leaf;
                covered.Add(leaf);
            }

            LedgerCheckpoints.BucketHash(leaves.Values).CopyTo(buckets, bucket * LedgerCheckpoints.HashSize);
        }

        if (covered.Count == 0 && !reanchored)
        {
            if (diverged.Count + tampered.Count > 0)
            {
                ConsentTelemetry.CheckpointDivergences.Add(diverged.Count + tampered.Count);
            }

            return new CheckpointOutcome(null, 0, diverged, tampered, false, false);
        }

        var number = (latest?.Number ?? 0) + 1;
        var root = LedgerCheckpoints.Root(buckets);
        var previous = latest is null ? "" : LedgerCheckpoints.StatementHash(latest);
        var statement = LedgerCheckpoints.Statement(number, now, subjects, records, root, previous, signer.KeyId);
        var checkpoint = new LedgerCheckpoint(number, now, subjects, records, root, previous, signer.KeyId, signer.Sign(statement), buckets);
        await store.SaveAsync(checkpoint, covered, cancellationToken);
        ConsentTelemetry.CheckpointsMade.Add(1);
        if (diverged.Count + tampered.Count > 0)
        {
            ConsentTelemetry.CheckpointDivergences.Add(diverged.Count + tampered.Count);
        }

        return new CheckpointOutcome(checkpoint, covered.Count, diverged, tampered, reanchored, changes.Count == MaxHeadsPerCheckpoint);
    }

    /// <summary>
    /// Compares a chain that verified against itself and its stored head with the latest checkpoint.
    /// A newer checkpoint stored between reading the checkpoint and its heads is read again.
    /// </summary>
    public async Task<ChainVerification> CheckAsync(Guid subject, IReadOnlyList<ConsentRecord> chain, ChainVerification walked, CancellationToken cancellationToken)
    {
        var bucket = LedgerCheckpoints.BucketOf(subject);
        for (var attempt = 1; ; attempt++)
        {
            var latest = await store.GetLatestAsync(cancellationToken);
            if (latest is null)
            {
                return walked;
            }

            var invalid = walked with { Break = ChainBreak.CheckpointInvalid, Checkpoint = latest.Number, BrokenRecord = null, BrokenSequence = 0 };
            if (!LedgerCheckpoints.Verifies(latest, signer))
            {
                return invalid;
            }

            var leaves = await store.ReadBucketAsync(bucket, cancellationToken);
            if (!LedgerCheckpoints.BucketHash(leaves).AsSpan().SequenceEqual(LedgerCheckpoints.StoredBucketHash(latest.BucketHashes!, bucket)))
            {
                if (attempt < MaxAttempts && (await store.GetLatestAsync(cancellationToken))?.Number != latest.Number)
                {
                    continue;
                }

                return invalid;
            }

            var leaf = leaves.Where(l => l.Subject == subject).Select(l => (CheckpointLeaf?)l).FirstOrDefault();
            return LedgerCheckpoints.Compare(walked, chain, latest.Number, leaf);
        }
    }

    /// <summary>A page of checkpoints, newest first.</summary>
    public async Task<(IReadOnlyList<LedgerCheckpoint> Checkpoints, string NextPageToken)> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var size = ConsentLimits.PageSize(pageSize, validation);
        var before = long.MaxValue;
        validation.Require(pageToken.Length == 0 || (long.TryParse(pageToken, NumberStyles.None, CultureInfo.InvariantCulture, out before) && before > 0), "page_token", "is not a token this service returned");
        validation.ThrowIfInvalid();
        var found = await store.ListAsync(before, size + 1, cancellationToken);
        var page = found.Take(size).ToList();
        return (page, found.Count > size ? page[^1].Number.ToString(CultureInfo.InvariantCulture) : "");
    }

    /// <summary>One checkpoint.</summary>
    public async Task<LedgerCheckpoint> GetAsync(string name, CancellationToken cancellationToken)
    {
        var number = LedgerCheckpoints.NumberOf(name) ?? throw new InvalidArgumentException("name", "must be checkpoints/{checkpoint}, the checkpoint's number");
        return await store.GetAsync(number, cancellationToken) ?? throw new NotFoundException("Checkpoint", name);
    }

    private async Task<bool> ExtendsAsync(HeadChange change, CancellationToken cancellationToken)
    {
        if (change.Head.Length <= (change.Covered?.Length ?? 0))
        {
            return false;
        }

        if (change.Covered is { } covered && !string.Equals(await store.GetRecordHashAsync(change.Subject, covered.Length, cancellationToken), covered.Hash, StringComparison.Ordinal))
        {
            return false;
        }

        return string.Equals(await store.GetRecordHashAsync(change.Subject, change.Head.Length, cancellationToken), change.Head.Hash, StringComparison.Ordinal);
    }
}
