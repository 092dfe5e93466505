using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Recommendation.Tests.Domain;

/// <summary>
/// Recommend hands its record to the journal and answers; the journal's writer stores it. Nothing
/// answered may be lost on the way: not while the store is slow, failing or full, nor at a stop.
/// </summary>
public sealed class RecommendationJournalTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TemporarySqlite _sqlite = new("recommendation");
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly HeldStore _store;
    private readonly RecommendationJournal _journal;

    public RecommendationJournalTests()
    {
        _store = new HeldStore(new SqliteAudienceStore(_sqlite.Database));
        _journal = new RecommendationJournal(_store, _clock);
    }

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task Add_WhileTheStoreIsHeld_ReturnsAtOnceAndTheRecordIsReadable()
    {
        _store.Hold();
        var writer = _journal.RunAsync(default);
        var record = Record("7:p1");

        var adding = _journal.AddAsync(record, default);

        Assert.True(adding.IsCompletedSuccessfully, "Recommend waited for the store's write");
        Assert.Equal(record, await _journal.GetAsync(record.Id, default));
        var flush = _journal.FlushAsync(default);
        await _store.Entered.Task;
        Assert.False(flush.IsCompleted, "a flush completed before the store held the record");
        Assert.Null(await _store.GetRecommendationAsync(record.Id, default));

        _store.Release();
        await flush;

        Assert.Equal(record.PersonKey, (await _store.GetRecommendationAsync(record.Id, default))?.PersonKey);
        Assert.Equal(0, _journal.Pending);
        _journal.Complete();
        await writer;
    }

    [Fact]
    public async Task Run_WhenRecordsGatheredWhileTheWriterWasBusy_StoresThemInFewTransactions()
    {
        var records = Enumerable.Range(0, RecommendationJournal.MaxBatch + 10).Select(i => Record($"1:p{i}")).ToList();
        foreach (var record in records)
        {
            await _journal.AddAsync(record, default);
        }

        _journal.Complete();
        await _journal.RunAsync(default);

        Assert.Equal([RecommendationJournal.MaxBatch, 10], _store.Batches);
        foreach (var record in records)
        {
            Assert.NotNull(await _store.GetRecommendationAsync(record.Id, default));
        }
    }

    [Fact]
    public async Task Run_WhenTheStoreFails_KeepsTheRecordsReadableAndStoresThemAfterTheBackOff()
    {
        _store.FailNext(2);
        var record = Record("7:p1");
        await _journal.AddAsync(record, default);
        var writer = _journal.RunAsync(default);
        var flush = _journal.FlushAsync(default);

        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(_store.Failures == 1)), "the store was never asked");

        // The clock has not moved, so no retry has run: the record is answered for, not stored.
        Assert.Equal(record, await _journal.GetAsync(record.Id, default));
        Assert.False(flush.IsCompleted, "a flush completed while the store refused the record");
        Assert.True(await TestPlatform.EventuallyAsync(() =>
        {
            _clock.Advance(RecommendationJournal.FirstRetryDelay);
            return Task.FromResult(flush.IsCompleted);
        }), "the record was not stored after the store recovered");

        await flush;
        Assert.Equal(2, _store.Failures);
        Assert.NotNull(await _store.GetRecommendationAsync(record.Id, default));
        _journal.Complete();
        await writer;
    }

    [Fact]
    public async Task Add_WhenCapacityRecordsAreWaiting_WaitsForRoomInsteadOfDroppingOne()
    {
        for (var i = 0; i < RecommendationJournal.Capacity; i++)
        {
            await _journal.AddAsync(Record($"1:p{i}"), default);
        }

        var overflow = Record("1:overflow");
        var adding = _journal.AddAsync(overflow, default).AsTask();
        Assert.False(adding.IsCompleted, "a full journal took another record without room for it");

        var writer = _journal.RunAsync(default);
        await adding;
        await _journal.FlushAsync(default);

        Assert.NotNull(await _store.GetRecommendationAsync(overflow.Id, default));
        _journal.Complete();
        await writer;
    }

    [Fact]
    public async Task Add_AfterTheWriterStopped_StoresTheRecordItself()
    {
        _journal.Complete();
        await _journal.RunAsync(default);
        var record = Record("7:p1");

        await _journal.AddAsync(record, default);

        Assert.NotNull(await _store.GetRecommendationAsync(record.Id, default));
        await _journal.FlushAsync(default);
    }

    [Fact]
    public void RetryDelay_DoublesFromTheFirstDelayUpToTheLongest()
    {
        Assert.Equal(RecommendationJournal.FirstRetryDelay, RecommendationJournal.RetryDelay(1));
        Assert.Equal(RecommendationJournal.FirstRetryDelay * 4, RecommendationJournal.RetryDelay(3));
        Assert.Equal(RecommendationJournal.MaxRetryDelay, RecommendationJournal.RetryDelay(40));
    }

    private static RecommendationRecord Record(string person) =>
        new(Guid.CreateVersion7().ToString("N"), person, Stage.Consideration, "exp", "control", ["a"], Now);

    /// <summary>The store, with its recommendation writes held back or failed on demand.</summary>
    private sealed class HeldStore(IAudienceStore inner) : IAudienceStore
    {
        private TaskCompletionSource _gate = Open();
        private int _failNext;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> Batches { get; } = [];

        public int Failures { get; private set; }

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public void FailNext(int count) => _failNext = count;

        public async Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            if (_failNext > 0)
            {
                _failNext--;
                Failures++;
                throw new IOException("disk I/O error");
            }

            await inner.SaveRecommendationsAsync(records, cancellationToken);
            Batches.Add(records.Count);
        }

        public Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken) => inner.GetRecommendationAsync(id, cancellationToken);

        public Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken) =>
            inner.ReadContextAsync(touchpointId, identifierKeys, day, cancellationToken);

        public Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken) =>
            inner.ReadAlsoConsumedAsync(seedIds, perSeed, cancellationToken);

        public Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken) => inner.ReadItemStatsChangedAsync(cursor, cancellationToken);

        public Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken) => inner.ReadVariantCountsAsync(experimentId, cancellationToken);

        public Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken) => inner.WriteAsync(work, cancellationToken);

        private static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
