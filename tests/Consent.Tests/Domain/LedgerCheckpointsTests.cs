using System.Security.Cryptography;
using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Consent.Tests.Domain;

/// <summary>Chain heads and signed checkpoints, without a store: the ledger is a list of sealed chains in memory.</summary>
public sealed class LedgerCheckpointsTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly MemoryCheckpoints _store = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Derive(new byte[32]);

    public void Dispose() => _signer.Dispose();

    private CheckpointUseCases UseCases(CheckpointSigner? signer = null) => new(_store, signer ?? _signer, _time);

    private static RecordDraft Draft(bool granted) =>
        new(Guid.CreateVersion7(), "marketing", granted, ChannelMask.Empty, 1, Start, Start, "", ConsentChain.Proof("", "", ""), RecordOrigin.Direct, "");

    private static List<ConsentRecord> Chain(Guid subject, int length)
    {
        var chain = new List<ConsentRecord>();
        for (var i = 1; i <= length; i++)
        {
            chain.Add(ConsentChain.Seal(i, subject, i, Draft(i % 2 == 1), chain.Count == 0 ? "" : chain[^1].Hash));
        }

        return chain;
    }

    private static ChainHead HeadOf(List<ConsentRecord> chain) => new(chain.Count, chain.Count == 0 ? "" : chain[^1].Hash);

    [Fact]
    public void Verify_WhenTheNewestRecordIsMissing_ReportsTheChainTruncatedAtIt()
    {
        var chain = Chain(Guid.CreateVersion7(), 3);
        var head = HeadOf(chain);

        var result = ConsentChain.Verify(chain[..2], head);

        Assert.Equal(ChainBreak.None, ConsentChain.Verify(chain[..2]).Break);
        Assert.Equal((ChainBreak.Truncated, 3L, 2L), (result.Break, result.FirstBrokenSequence, result.RecordsChecked));
        Assert.Null(result.BrokenRecord);
    }

    [Fact]
    public void Verify_WhenTheHeadDisagreesWithTheChainsEnd_ReportsHeadMismatchAtTheFirstRecordItDoesNotAccountFor()
    {
        var chain = Chain(Guid.CreateVersion7(), 3);

        var longer = ConsentChain.Verify(chain, HeadOf(chain[..2]));
        var rehashed = ConsentChain.Verify(chain, new ChainHead(3, new string('0', 64)));
        var intact = ConsentChain.Verify(chain, HeadOf(chain));

        Assert.Equal((ChainBreak.HeadMismatch, 3L), (longer.Break, longer.FirstBrokenSequence));
        Assert.Equal((ChainBreak.HeadMismatch, 3L), (rehashed.Break, rehashed.FirstBrokenSequence));
        Assert.Equal((ChainBreak.None, 3L), (intact.Break, intact.RecordsChecked));
        Assert.Equal(ChainBreak.None, ConsentChain.Verify([], new ChainHead(0, "")).Break);
    }

    [Fact]
    public void Signer_DerivedFromTheSameSecret_IsTheSameKeyAndVerifiesOnlyItsOwnSignatures()
    {
        using var again = CheckpointSigner.Derive(new byte[32]);
        var secret = new byte[32];
        secret[0] = 1;
        using var other = CheckpointSigner.Derive(secret);
        var statement = "statement"u8.ToArray();

        var signature = _signer.Sign(statement);

        Assert.Equal(_signer.KeyId, again.KeyId);
        Assert.NotEqual(_signer.KeyId, other.KeyId);
        Assert.True(again.Verify(statement, signature));
        Assert.False(other.Verify(statement, signature));
        Assert.False(_signer.Verify("statemenT"u8.ToArray(), signature));
    }

    [Fact]
    public void Signer_FromPem_TakesAP256KeyAndRefusesOthers()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        using var signer = CheckpointSigner.FromPem(key.ExportPkcs8PrivateKeyPem());

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), signer.KeyId);
        Assert.Throws<ArgumentException>(() => CheckpointSigner.FromPem(p384.ExportPkcs8PrivateKeyPem()));
        Assert.Throws<ArgumentException>(() => CheckpointSigner.FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"));
    }

    [Fact]
    public async Task Create_CoversEveryHeadAndSignsAStatementChainedToThePreviousOne()
    {
        var ada = _store.Add(Chain(Guid.CreateVersion7(), 3));
        var bob = _store.Add(Chain(Guid.CreateVersion7(), 1));

        var first = (await UseCases().CreateAsync(default)).Checkpoint!;
        _store.Append(ada, Draft(false));
        _time.Advance(TimeSpan.FromHours(1));
        var outcome = await UseCases().CreateAsync(default);
        var second = outcome.Checkpoint!;

        Assert.Equal((1L, 2L, 4L), (first.Number, first.Subjects, first.Records));
        Assert.Equal((2L, 2L, 5L, 1), (second.Number, second.Subjects, second.Records, outcome.Covered));
        Assert.Equal(LedgerCheckpoints.StatementHash(first), second.PreviousStatementHash);
        Assert.True(LedgerCheckpoints.Verifies(second, _signer));
        Assert.Null(_store.Checkpoints[0].BucketHashes);
        Assert.Equal(new CheckpointLeaf(bob, 1, _store.Chains[bob][0].Hash), _store.Covered[bob]);
        Assert.Equal(Start.AddHours(1), second.CreatedAt);
    }

    [Fact]
    public async Task Create_WhenNoHeadChangedSinceTheLatest_StoresNothing()
    {
        var empty = await UseCases().CreateAsync(default);
        _store.Add(Chain(Guid.CreateVersion7(), 2));
        await UseCases().CreateAsync(default);

        var idle = await UseCases().CreateAsync(default);

        Assert.Null(empty.Checkpoint);
        Assert.Null(idle.Checkpoint);
        Assert.Single(_store.Checkpoints);
    }

    [Fact]
    public async Task Check_WhenARecordAndTheStoredHeadWereRewrittenAlike_ReportsTheCheckpointMismatch()
    {
        var subject = _store.Add(Chain(Guid.CreateVersion7(), 3));
        await UseCases().CreateAsync(default);
        var rewritten = Chain(subject, 3);
        _store.Replace(subject, rewritten);
        var walked = ConsentChain.Verify(rewritten, HeadOf(rewritten));

        var result = await UseCases().CheckAsync(subject, rewritten, walked, default);

        Assert.Equal(ChainBreak.None, walked.Break);
        Assert.Equal((ChainBreak.CheckpointMismatch, 3L, 1L, 3L), (result.Break, result.FirstBrokenSequence, result.Checkpoint, result.CheckpointLength));
        Assert.Same(rewritten[2], result.BrokenRecord);
    }

    [Fact]
    public async Task Create_WhenAHeadWasRewrittenSinceTheLastCheckpoint_KeepsTheCoveredHeadAndReportsIt()
    {
        var subject = _store.Add(Chain(Guid.CreateVersion7(), 3));
        var covered = _store.Chains[subject][2].Hash;
        await UseCases().CreateAsync(default);
        var rewritten = Chain(subject, 4);
        _store.Replace(subject, rewritten);

        var outcome = await UseCases().CreateAsync(default);
        var result = await UseCases().CheckAsync(subject, rewritten, ConsentChain.Verify(rewritten, HeadOf(rewritten)), default);

        Assert.Equal([subject], outcome.Diverged);
        Assert.Equal(new CheckpointLeaf(subject, 3, covered), _store.Covered[subject]);
        Assert.Equal(ChainBreak.CheckpointMismatch, result.Break);
    }

    [Fact]
    public async Task Check_WhenTheCoveredHeadsOrTheSignatureWereChanged_ReportsTheCheckpointInvalid()
    {
        var subject = _store.Add(Chain(Guid.CreateVersion7(), 3));
        await UseCases().CreateAsync(default);
        var shortened = _store.Chains[subject][..2];
        _store.Replace(subject, shortened);
        _store.Covered[subject] = new CheckpointLeaf(subject, 2, shortened[1].Hash);
        var walked = ConsentChain.Verify(shortened, HeadOf(shortened));

        var leavesChanged = await UseCases().CheckAsync(subject, shortened, walked, default);
        _store.Append(subject, Draft(true));
        var grown = _store.Chains[subject];
        var next = await UseCases().CreateAsync(default);
        var afterNext = await UseCases().CheckAsync(subject, grown, ConsentChain.Verify(grown, HeadOf(grown)), default);
        _store.Checkpoints[^1] = _store.Checkpoints[^1] with { Signature = _store.Checkpoints[0].Signature };
        var signatureChanged = await UseCases().CheckAsync(subject, grown, ConsentChain.Verify(grown, HeadOf(grown)), default);

        Assert.Equal(ChainBreak.CheckpointInvalid, leavesChanged.Break);
        Assert.Equal([LedgerCheckpoints.BucketOf(subject)], next.TamperedBuckets);
        Assert.Equal(0, next.Covered);
        Assert.Equal(ChainBreak.CheckpointInvalid, afterNext.Break);
        Assert.Equal(ChainBreak.CheckpointInvalid, signatureChanged.Break);
    }

    [Fact]
    public async Task Check_WhenTheChainBeganAfterTheLatestCheckpoint_LeavesTheResultAsWalked()
    {
        _store.Add(Chain(Guid.CreateVersion7(), 1));
        await UseCases().CreateAsync(default);
        var chain = Chain(Guid.CreateVersion7(), 2);
        var subject = _store.Add(chain);
        var walked = ConsentChain.Verify(chain, HeadOf(chain));

        var result = await UseCases().CheckAsync(subject, chain, walked, default);

        Assert.Equal((ChainBreak.None, (long?)null, 0L), (result.Break, result.Checkpoint, result.CheckpointLength));
    }

    [Fact]
    public async Task Create_UnderANewKey_ReanchorsAndSaysSo()
    {
        _store.Add(Chain(Guid.CreateVersion7(), 2));
        await UseCases().CreateAsync(default);
        using var rotated = CheckpointSigner.Derive(Enumerable.Repeat((byte)7, 32).ToArray());

        var outcome = await UseCases(rotated).CreateAsync(default);

        Assert.True(outcome.Reanchored);
        Assert.True(LedgerCheckpoints.Verifies(outcome.Checkpoint!, rotated));
        Assert.Equal((2L, 1L, 2L), (outcome.Checkpoint!.Number, outcome.Checkpoint.Subjects, outcome.Checkpoint.Records));
    }

    [Fact]
    public async Task ListAndGet_PageNewestFirstAndNameWhatIsWrong()
    {
        for (var i = 0; i < 3; i++)
        {
            _store.Add(Chain(Guid.CreateVersion7(), 1));
            await UseCases().CreateAsync(default);
        }

        var (first, token) = await UseCases().ListAsync(2, "", default);
        var (rest, end) = await UseCases().ListAsync(2, token, default);

        Assert.Equal([3L, 2L, 1L], first.Concat(rest).Select(c => c.Number));
        Assert.Empty(end);
        Assert.Equal(2, (await UseCases().GetAsync("checkpoints/2", default)).Number);
        await Assert.ThrowsAsync<NotFoundException>(() => UseCases().GetAsync("checkpoints/4", default));
        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidArgumentException>(() => UseCases().GetAsync("checkpoints/-1", default))).Violations[0].Field);
        Assert.Equal("page_token", (await Assert.ThrowsAsync<InvalidArgumentException>(() => UseCases().ListAsync(2, "x", default))).Violations[0].Field);
    }

    /// <summary>The checkpoint port over chains held in memory.</summary>
    private sealed class MemoryCheckpoints : IConsentCheckpointStore
    {
        public Dictionary<Guid, List<ConsentRecord>> Chains { get; } = [];

        public Dictionary<Guid, CheckpointLeaf> Covered { get; } = [];

        public List<LedgerCheckpoint> Checkpoints { get; } = [];

        public Guid Add(List<ConsentRecord> chain)
        {
            Chains[chain[0].Subject] = chain;
            return chain[0].Subject;
        }

        public void Append(Guid subject, RecordDraft draft)
        {
            var chain = Chains[subject];
            chain.Add(ConsentChain.Seal(chain.Count + 1, subject, chain.Count + 1, draft, chain[^1].Hash));
        }

        public void Replace(Guid subject, List<ConsentRecord> chain) => Chains[subject] = chain;

        public Task<LedgerCheckpoint?> GetLatestAsync(CancellationToken cancellationToken) => Task.FromResult(Checkpoints.LastOrDefault());

        public Task<LedgerCheckpoint?> GetAsync(long number, CancellationToken cancellationToken) => Task.FromResult(Checkpoints.FirstOrDefault(c => c.Number == number));

        public Task<IReadOnlyList<LedgerCheckpoint>> ListAsync(long beforeNumber, int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<LedgerCheckpoint>>([.. Checkpoints.Where(c => c.Number < beforeNumber).OrderByDescending(c => c.Number).Take(limit)]);

        public Task<IReadOnlyList<HeadChange>> FindChangedHeadsAsync(int limit, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<HeadChange>>([.. Chains
                .Select(p => (Subject: p.Key, Head: HeadOf(p.Value)))
                .Where(p => !Covered.TryGetValue(p.Subject, out var leaf) || leaf.Length != p.Head.Length || leaf.Hash != p.Head.Hash)
                .OrderBy(p => p.Subject.ToString(), StringComparer.Ordinal)
                .Take(limit)
                .Select(p => new HeadChange(p.Subject, p.Head, Covered.TryGetValue(p.Subject, out var leaf) ? leaf : null))]);

        public Task<string?> GetRecordHashAsync(Guid subject, long sequence, CancellationToken cancellationToken) =>
            Task.FromResult(Chains.TryGetValue(subject, out var chain) && sequence <= chain.Count ? chain[(int)sequence - 1].Hash : null);

        public Task<IReadOnlyList<CheckpointLeaf>> ReadBucketAsync(int bucket, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<CheckpointLeaf>>([.. Covered.Values.Where(l => l.Bucket == bucket)]);

        public Task<(long Subjects, long Records)> CountCoveredAsync(CancellationToken cancellationToken) =>
            Task.FromResult(((long)Covered.Count, Covered.Values.Sum(l => l.Length)));

        public Task SaveAsync(LedgerCheckpoint checkpoint, IReadOnlyList<CheckpointLeaf> covered, CancellationToken cancellationToken)
        {
            if (Checkpoints.Any(c => c.Number == checkpoint.Number))
            {
                throw new ConcurrencyConflictException("Checkpoint", LedgerCheckpoints.Name(checkpoint.Number));
            }

            Checkpoints.Add(checkpoint);
            foreach (var leaf in covered)
            {
                Covered[leaf.Subject] = leaf;
            }

            for (var i = 0; i < Checkpoints.Count - 1; i++)
            {
                Checkpoints[i] = Checkpoints[i] with { BucketHashes = null };
            }

            return Task.CompletedTask;
        }
    }
}
