using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Testing;

namespace Journey.Consent.Tests.Storage;

/// <summary>The checkpoint store port's contract: every adapter must pass it.</summary>
public abstract class ConsentCheckpointStoreContract(ConsentStores stores) : ConsentStoreContract(stores)
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    protected IConsentLedger Ledger => Stores.Ledger;

    protected IConsentCheckpointStore Checkpoints => Stores.Checkpoints;

    private static RecordDraft Draft(bool granted) =>
        new(Guid.CreateVersion7(), "marketing", granted, ChannelMask.Empty, 1, Now, Now, "", ConsentChain.Proof("", "", ""), RecordOrigin.Direct, "");

    private async Task<IReadOnlyList<ConsentRecord>> SubjectAsync(int records)
    {
        var subject = Guid.CreateVersion7();
        var drafts = Enumerable.Range(0, records).Select(i => Draft(i % 2 == 0)).ToList();
        return await Ledger.AppendAsync(new LedgerAppend(subject, true, [new SubjectIdentifier(IdentifierKind.CustomerId, subject.ToString())], drafts, [], Now), default);
    }

    private static LedgerCheckpoint Checkpoint(long number, byte[]? buckets = null) =>
        new(number, Now.AddHours(number), number, number * 3, new string('a', 64), number == 1 ? "" : new string('b', 64), new string('c', 64), [1, 2, (byte)number], buckets ?? LedgerCheckpoints.EmptyBuckets());

    [ContractFact]
    public async Task FindChangedHeads_ListsUncoveredAndMovedHeadsBySubjectAndNotThoseCovered()
    {
        var ada = await SubjectAsync(2);
        var bob = await SubjectAsync(1);
        var cy = await SubjectAsync(3);
        var subjects = new[] { ada, bob, cy }.Select(r => r[0].Subject).ToList();

        var all = await Checkpoints.FindChangedHeadsAsync(10, default);
        var one = await Checkpoints.FindChangedHeadsAsync(1, default);
        await Checkpoints.SaveAsync(Checkpoint(1), [new CheckpointLeaf(ada[0].Subject, 2, ada[1].Hash), new CheckpointLeaf(bob[0].Subject, 1, bob[0].Hash)], default);
        await Ledger.AppendAsync(new LedgerAppend(ada[0].Subject, false, [], [Draft(false)], [], Now), default);
        var after = await Checkpoints.FindChangedHeadsAsync(10, default);

        Assert.Equal(subjects.Order(Comparer<Guid>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()))), all.Select(c => c.Subject));
        Assert.All(all, c => Assert.Null(c.Covered));
        Assert.Equal(new ChainHead(3, cy[2].Hash), all.Single(c => c.Subject == cy[0].Subject).Head);
        Assert.Single(one);
        var moved = after.Single(c => c.Subject == ada[0].Subject);
        Assert.Equal(new CheckpointLeaf(ada[0].Subject, 2, ada[1].Hash), moved.Covered);
        Assert.Equal(3, moved.Head.Length);
        Assert.Equal(new[] { ada[0].Subject, cy[0].Subject }.Order(), after.Select(c => c.Subject).Order());
    }

    [ContractFact]
    public async Task GetRecordHash_ReadsTheRecordAtASequence()
    {
        var records = await SubjectAsync(2);

        Assert.Equal(records[1].Hash, await Checkpoints.GetRecordHashAsync(records[0].Subject, 2, default));
        Assert.Null(await Checkpoints.GetRecordHashAsync(records[0].Subject, 3, default));
    }

    [ContractFact]
    public async Task Save_StoresTheCheckpointAndCoveredHeadsAndKeepsBucketHashesOnTheLatestOnly()
    {
        var records = await SubjectAsync(2);
        var leaf = new CheckpointLeaf(records[0].Subject, 2, records[1].Hash);
        var buckets = LedgerCheckpoints.EmptyBuckets();
        buckets[0] = 9;

        await Checkpoints.SaveAsync(Checkpoint(1), [leaf], default);
        await Checkpoints.SaveAsync(Checkpoint(2, buckets), [], default);

        var latest = await Checkpoints.GetLatestAsync(default);
        Assert.Equal((2L, Now.AddHours(2), 2L, 6L, new string('a', 64), new string('b', 64), new string('c', 64)),
            (latest!.Number, latest.CreatedAt, latest.Subjects, latest.Records, latest.Root, latest.PreviousStatementHash, latest.KeyId));
        Assert.Equal(buckets, latest.BucketHashes);
        Assert.Equal([1, 2, 2], latest.Signature);
        Assert.Null((await Checkpoints.GetAsync(1, default))!.BucketHashes);
        Assert.Null(await Checkpoints.GetAsync(3, default));
        Assert.Equal([leaf], await Checkpoints.ReadBucketAsync(leaf.Bucket, default));
        Assert.Empty(await Checkpoints.ReadBucketAsync((leaf.Bucket + 1) % LedgerCheckpoints.Buckets, default));
        Assert.Equal((1L, 2L), await Checkpoints.CountCoveredAsync(default));
        Assert.Equal([2L, 1L], (await Checkpoints.ListAsync(long.MaxValue, 10, default)).Select(c => c.Number));
        Assert.Equal([1L], (await Checkpoints.ListAsync(2, 10, default)).Select(c => c.Number));
    }

    [ContractFact]
    public async Task Save_WhenTheNumberIsTaken_IsConflictAndWritesNothing()
    {
        var records = await SubjectAsync(1);
        await Checkpoints.SaveAsync(Checkpoint(1), [], default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Checkpoints.SaveAsync(Checkpoint(1) with { Root = new string('d', 64) }, [new CheckpointLeaf(records[0].Subject, 1, records[0].Hash)], default));

        Assert.Equal(new string('a', 64), (await Checkpoints.GetLatestAsync(default))!.Root);
        Assert.Equal((0L, 0L), await Checkpoints.CountCoveredAsync(default));
    }
}

public sealed class SqliteConsentCheckpointStoreTests() : ConsentCheckpointStoreContract(ConsentStores.Sqlite());

public sealed class MongoConsentCheckpointStoreTests() : ConsentCheckpointStoreContract(ConsentStores.Mongo()), IRequiresMongo;
