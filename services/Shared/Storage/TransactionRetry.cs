using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>What to do after a step of a MongoDB transaction failed.</summary>
internal enum TransactionFailure
{
    /// <summary>Not a transaction error the server or driver marks retryable: passed on as it is.</summary>
    Fail,

    /// <summary>Labelled TransientTransactionError (a write conflict, a failover, a lost connection): run the whole transaction again.</summary>
    RetryTransaction,

    /// <summary>Labelled UnknownTransactionCommitResult: whether the commit took is unknown; commit again (commitTransaction may be repeated).</summary>
    RetryCommit,
}

/// <summary>
/// Runs a MongoDB transaction again after the errors the server and driver label retryable, as the
/// driver's <c>WithTransaction</c> does, but within a time budget of our own (10 s by default, not
/// the driver's fixed 120 s), with jittered exponential backoff measured on the injected clock.
/// When the budget runs out the last error becomes a <see cref="StoreUnavailableException"/>, which
/// callers see as UNAVAILABLE ("retry with back-off") instead of INTERNAL
/// (docs/adr/0018-transaction-retry-bounds.md).
/// </summary>
internal sealed class TransactionRetry
{
    /// <summary>The label of errors after which the whole transaction may run again.</summary>
    public const string TransientTransactionError = "TransientTransactionError";

    /// <summary>The label of commit errors after which the commit may be sent again.</summary>
    public const string UnknownTransactionCommitResult = "UnknownTransactionCommitResult";

    /// <summary>The wait before the second attempt; each further attempt doubles it, up to <see cref="MaxDelay"/>.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest wait between two attempts.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    private const int MaxTimeMSExpired = 50;

    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay;

    /// <param name="time">The clock the budget is measured on.</param>
    /// <param name="budget">How long after the first attempt started a further attempt may still begin.</param>
    /// <param name="random">A source of numbers in [0, 1) for the jitter.</param>
    /// <param name="delay">How to wait; by default <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> on <paramref name="time"/>.</param>
    public TransactionRetry(TimeProvider time, TimeSpan budget, Func<double>? random = null, Func<TimeSpan, CancellationToken, Task>? delay = null)
    {
        _time = time;
        Budget = budget;
        _random = random ?? Random.Shared.NextDouble;
        _delay = delay ?? ((d, ct) => Task.Delay(d, time, ct));
    }

    /// <summary>How long after the first attempt started a further attempt may still begin.</summary>
    public TimeSpan Budget { get; }

    /// <summary>What the driver's labels on <paramref name="exception"/> allow.</summary>
    public static TransactionFailure Classify(Exception exception)
    {
        if (exception is not MongoException mongo)
        {
            return TransactionFailure.Fail;
        }

        // As the driver's own rules: an unknown commit result is retried unless the server ran out of
        // its maxTimeMS, and transient errors rerun the transaction.
        if (mongo.HasErrorLabel(UnknownTransactionCommitResult) && !(mongo is MongoExecutionTimeoutException { Code: MaxTimeMSExpired }))
        {
            return TransactionFailure.RetryCommit;
        }

        return mongo.HasErrorLabel(TransientTransactionError) ? TransactionFailure.RetryTransaction : TransactionFailure.Fail;
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: half the capped exponential step plus a random part of the other half.</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        var step = Math.Min(MaxDelay.Ticks, FirstDelay.Ticks << Math.Min(attempt - 1, 16));
        return TimeSpan.FromTicks((long)(step * (0.5 + (_random() / 2))));
    }

    /// <summary>
    /// Runs <paramref name="run"/> (start the transaction and do the work; it aborts on its own
    /// failure) and then <paramref name="commit"/>, again after retryable failures until the budget
    /// is spent.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> run, Func<CancellationToken, Task> commit, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var attempt = 0;
        while (true)
        {
            attempt++;
            T result;
            try
            {
                result = await run(cancellationToken);
            }
            catch (Exception ex) when (Classify(ex) == TransactionFailure.RetryTransaction)
            {
                await WaitOrGiveUpAsync(ex, attempt, started, "ran into a conflict or failover", cancellationToken);
                continue;
            }

            var rerun = false;
            while (!rerun)
            {
                try
                {
                    await commit(cancellationToken);
                    return result;
                }
                catch (Exception ex) when (Classify(ex) == TransactionFailure.RetryCommit)
                {
                    attempt++;
                    await WaitOrGiveUpAsync(ex, attempt, started, "could not learn whether its commit took", cancellationToken);
                }
                catch (Exception ex) when (Classify(ex) == TransactionFailure.RetryTransaction)
                {
                    await WaitOrGiveUpAsync(ex, attempt, started, "ran into a conflict or failover", cancellationToken);
                    rerun = true;
                }
            }
        }
    }

    private async Task WaitOrGiveUpAsync(Exception failure, int attempt, long started, string what, CancellationToken cancellationToken)
    {
        var delay = DelayAfter(attempt);
        var elapsed = _time.GetElapsedTime(started);
        if (elapsed + delay > Budget)
        {
            throw new StoreUnavailableException(
                $"A MongoDB transaction {what} on each of {attempt} attempts within {Budget.TotalSeconds:0.#} s ({(failure as MongoCommandException)?.CodeName ?? failure.GetType().Name}).",
                failure);
        }

        await _delay(delay, cancellationToken);
    }
}
