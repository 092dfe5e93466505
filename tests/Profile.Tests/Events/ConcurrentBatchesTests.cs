using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Testing;

namespace Journey.Profile.Tests.Events;

/// <summary>Interaction batches applied side by side, as the in-process bus hands the profile service two at once and Dapr any number.</summary>
public sealed class ConcurrentBatchesTests : IDisposable
{
    private const int Batches = 4;

    private readonly TemporarySqlite _sqlite = new("profile");
    private readonly ProfileDomain _profiles;
    private readonly LoadsTogether _store;

    public ConcurrentBatchesTests()
    {
        _store = new LoadsTogether(new SqliteProfileStore(_sqlite.Database));
        _profiles = new ProfileDomain(_store, new SqliteSegmentStore(_sqlite.Database), TimeProvider.System);
    }

    [Fact]
    public async Task Interactions_WhenBatchesReadTheSameProfilesBeforeAnyWrites_CountEveryInteractionOnOneProfileEach()
    {
        var people = Enumerable.Range(0, 10).Select(p => new IdentifierKey(IdentifierKind.AnonymousId, $"together-{p}")).ToList();
        var at = DateTimeOffset.UtcNow;
        List<Interaction> Batch(string name, int each) =>
            [.. people.SelectMany((who, p) => Enumerable.Range(0, each).Select(n => new Interaction($"{name}-p{p}-{n}", [who], InteractionType.View, [], 1, at, "", [])))];
        await _profiles.Ingest.ApplyInteractionsAsync(Batch("first", 1), default);

        // Every batch has read the same versions of the same profiles before the first writes: each write
        // must either win or read again, never overwrite what another batch wrote.
        _store.HoldFirstLoadsFor(Batches);
        await Task.WhenAll(Enumerable.Range(0, Batches).Select(b => Task.Run(() => _profiles.Ingest.ApplyInteractionsAsync(Batch($"b{b}", 2), default))));

        foreach (var who in people)
        {
            var read = await _profiles.Lookup.LookupAsync(new GivenIdentifier(who.Kind, who.Value), "identifier", default);
            Assert.Equal(1 + (Batches * 2), read.Profile.Channels[1]);
            Assert.Equal(who, Assert.Single(read.Profile.Identifiers).Key);
        }
    }

    public void Dispose() => _sqlite.Dispose();

    /// <summary>The SQLite store, with its next loads held until all of them have read, so that the batches' reads overlap for certain.</summary>
    private sealed class LoadsTogether(IProfileStore inner) : IProfileStore
    {
        private TaskCompletionSource? _allRead;
        private int _toHold;

        public void HoldFirstLoadsFor(int loads)
        {
            _toHold = loads;
            _allRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public async Task<IdentitySnapshot> LoadAsync(IReadOnlyCollection<IdentifierKey> identifiers, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken)
        {
            var snapshot = await inner.LoadAsync(identifiers, profileIds, cancellationToken);
            if (_allRead is { } allRead)
            {
                var left = Interlocked.Decrement(ref _toHold);
                if (left == 0)
                {
                    allRead.SetResult();
                }

                if (left >= 0)
                {
                    await allRead.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
                }
            }

            return snapshot;
        }

        public Task<CustomerProfile?> GetAsync(string id, CancellationToken cancellationToken) => inner.GetAsync(id, cancellationToken);

        public Task<CustomerProfile?> FindAsync(IdentifierKey identifier, CancellationToken cancellationToken) => inner.FindAsync(identifier, cancellationToken);

        public Task<IReadOnlyList<CustomerProfile>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => inner.GetManyAsync(ids, cancellationToken);

        public Task<IReadOnlyList<CustomerProfile>> ListAsync(string afterId, int limit, CancellationToken cancellationToken) => inner.ListAsync(afterId, limit, cancellationToken);

        public Task VisitAudienceAsync(string? segmentId, JourneyStage stage, Action<CustomerProfile> visit, CancellationToken cancellationToken) =>
            inner.VisitAudienceAsync(segmentId, stage, visit, cancellationToken);

        public Task SaveAsync(ProfileChangeSet changes, CancellationToken cancellationToken) => inner.SaveAsync(changes, cancellationToken);

        public Task<IReadOnlySet<string>> UnclaimedAsync(string consumer, IReadOnlyList<string> eventIds, CancellationToken cancellationToken) =>
            inner.UnclaimedAsync(consumer, eventIds, cancellationToken);

        public Task<Page<ProfileMerge>> ListMergesAsync(string survivorId, int pageSize, string pageToken, CancellationToken cancellationToken) =>
            inner.ListMergesAsync(survivorId, pageSize, pageToken, cancellationToken);

        public Task<IReadOnlyList<string>> AliasesOfAsync(string survivorId, CancellationToken cancellationToken) => inner.AliasesOfAsync(survivorId, cancellationToken);

        public Task<MergeEdge?> LatestMergeAsync(string survivorId, CancellationToken cancellationToken) => inner.LatestMergeAsync(survivorId, cancellationToken);

        public Task<MergeEdge?> MergeOfAsync(string mergedId, CancellationToken cancellationToken) => inner.MergeOfAsync(mergedId, cancellationToken);

        public Task<bool> ErasedAsync(string tombstoneKey, CancellationToken cancellationToken) => inner.ErasedAsync(tombstoneKey, cancellationToken);

        public Task<long> EraseAsync(ProfileErasure erasure, CancellationToken cancellationToken) => inner.EraseAsync(erasure, cancellationToken);
    }
}
