using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;

namespace Journey.Recommendation.Domain;

/// <summary>
/// Issued recommendations on their way to the store. Recommend hands its record over and answers; a
/// single writer stores what has gathered in one transaction per batch, so the cost of a write (and
/// a slow disk's tail) is not in the caller's latency, and a burst of calls costs a few commits
/// rather than one each.
/// </summary>
/// <remarks>
/// A record is readable through <see cref="GetAsync"/> from the moment it is added, so feedback on a
/// recommendation just answered finds it. Whoever needs the store itself to hold every record added
/// so far (an erasure, a merge re-keying people, experiment results) calls <see cref="FlushAsync"/>
/// first. The queue is bounded: when the store falls behind by <see cref="Capacity"/> records, Recommend
/// waits for room rather than dropping a record. A stop stores everything added before it; only a
/// process crash loses the records of the batch in flight, which were answered but never stored
/// (feedback on them answers NOT_FOUND).
/// </remarks>
public sealed class RecommendationJournal(IAudienceStore store, TimeProvider time)
{
    /// <summary>Records waiting for the store before Recommend waits for room.</summary>
    public const int Capacity = 8_192;

    /// <summary>The most records stored in one transaction.</summary>
    public const int MaxBatch = 512;

    /// <summary>The first wait after a failed write; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between two attempts at a failing write.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);

    private static readonly Counter<long> WriteFailures = Recommender.Meter.CreateCounter<long>(
        "journey.recommendation.record_write_failures", "{failure}", "Failed attempts to store issued recommendations; the records are kept and written again.");

    private readonly Channel<RecommendationRecord> _queue = Channel.CreateBounded<RecommendationRecord>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly ConcurrentDictionary<string, RecommendationRecord> _pending = new(StringComparer.Ordinal);
    private readonly Lock _progressLock = new();
    private long _added;
    private long _settled;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Records added but not yet stored.</summary>
    public int Pending => _pending.Count;

    /// <summary>Queues <paramref name="record"/> for the store; waits only when <see cref="Capacity"/> records are already waiting.</summary>
    public async ValueTask AddAsync(RecommendationRecord record, CancellationToken cancellationToken)
    {
        _pending[record.Id] = record;

        // Counted before it is queued, so a flush that starts after this call returns waits for it.
        Interlocked.Increment(ref _added);
        try
        {
            while (!_queue.Writer.TryWrite(record))
            {
                if (!await _queue.Writer.WaitToWriteAsync(cancellationToken))
                {
                    // The writer has stopped taking records (the host is stopping): this call stores its own.
                    await store.SaveRecommendationsAsync([record], cancellationToken);
                    Settle([record]);
                    return;
                }
            }
        }
        catch
        {
            Settle([record]);
            throw;
        }
    }

    /// <summary>The record <paramref name="id"/>, whether it is still queued or already stored.</summary>
    public async Task<RecommendationRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        _pending.TryGetValue(id, out var record) ? record : await store.GetRecommendationAsync(id, cancellationToken);

    /// <summary>Completes when every record added before the call is in the store (or was given up by a cancelled caller).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref _added);
        while (true)
        {
            Task progress;
            lock (_progressLock)
            {
                if (_settled >= target)
                {
                    return;
                }

                progress = _progress.Task;
            }

            await progress.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stores queued records until <see cref="Complete"/> has been called and the queue is empty.
    /// <paramref name="abandon"/> gives up on a store that keeps failing (the host's stop timeout).
    /// </summary>
    public async Task RunAsync(CancellationToken abandon)
    {
        var batch = new List<RecommendationRecord>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(abandon))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            await StoreAsync(batch, abandon);
            Settle(batch);
        }
    }

    /// <summary>Marks <paramref name="records"/> as no longer waiting (stored, or given up by their caller) and wakes the flushes.</summary>
    private void Settle(List<RecommendationRecord> records)
    {
        foreach (var record in records)
        {
            _pending.TryRemove(record.Id, out _);
        }

        lock (_progressLock)
        {
            _settled += records.Count;
            _progress.TrySetResult();
            _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Takes no more records; <see cref="RunAsync"/> ends once the queued ones are stored.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    private async Task StoreAsync(List<RecommendationRecord> batch, CancellationToken abandon)
    {
        for (var failures = 0; ; failures++)
        {
            try
            {
                await store.SaveRecommendationsAsync(batch, abandon);
                return;
            }
            catch (Exception) when (!abandon.IsCancellationRequested)
            {
                // The records stay queued and readable; the store is asked again after a back-off.
                WriteFailures.Add(1);
                await Task.Delay(RetryDelay(failures + 1), time, abandon);
            }
        }
    }

    /// <summary>The wait after the <paramref name="failures"/>th failure in a row.</summary>
    public static TimeSpan RetryDelay(int failures) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(Math.Max(failures, 1) - 1, 16)));
}
