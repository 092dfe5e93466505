using Journey.Shared.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Storage;

public sealed class TransactionRetryTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<TimeSpan> _waits = [];

    [Fact]
    public void Classify_WithTheDriversExceptions_FollowsTheirLabels()
    {
        Assert.Equal(TransactionFailure.RetryTransaction, TransactionRetry.Classify(MongoErrors.WriteConflict()));
        Assert.Equal(TransactionFailure.RetryTransaction, TransactionRetry.Classify(MongoErrors.ConnectionLostInTransaction()));
        Assert.Equal(TransactionFailure.RetryTransaction, TransactionRetry.Classify(MongoErrors.NoSuchTransactionOnCommit()));
        Assert.Equal(TransactionFailure.RetryCommit, TransactionRetry.Classify(MongoErrors.UnknownCommitResult()));
        Assert.Equal(TransactionFailure.Fail, TransactionRetry.Classify(MongoErrors.CommitMaxTimeExpired()));
        Assert.Equal(TransactionFailure.Fail, TransactionRetry.Classify(MongoErrors.DuplicateKey()));
        Assert.Equal(TransactionFailure.Fail, TransactionRetry.Classify(new TimeoutException("no server")));
        Assert.Equal(TransactionFailure.Fail, TransactionRetry.Classify(new InvalidOperationException("a domain rule")));
    }

    [Fact]
    public async Task RunAsync_WhenTheWorkConflictsTwice_RunsItAgainAfterAGrowingWaitAndCommitsOnce()
    {
        var retry = Retry(TimeSpan.FromSeconds(10));
        var runs = 0;
        var commits = 0;

        var result = await retry.RunAsync(
            _ => ++runs <= 2 ? throw MongoErrors.WriteConflict() : Task.FromResult("done"),
            _ => { commits++; return Task.CompletedTask; },
            CancellationToken.None);

        Assert.Equal("done", result);
        Assert.Equal(3, runs);
        Assert.Equal(1, commits);
        Assert.Equal([TimeSpan.FromMilliseconds(7.5), TimeSpan.FromMilliseconds(15)], _waits);
    }

    [Fact]
    public async Task RunAsync_WhenTheCommitResultIsUnknown_CommitsAgainWithoutRunningTheWorkAgain()
    {
        var retry = Retry(TimeSpan.FromSeconds(10));
        var runs = 0;
        var commits = 0;

        await retry.RunAsync(
            _ => Task.FromResult(++runs),
            _ => ++commits == 1 ? throw MongoErrors.UnknownCommitResult() : Task.CompletedTask,
            CancellationToken.None);

        Assert.Equal(1, runs);
        Assert.Equal(2, commits);
    }

    [Fact]
    public async Task RunAsync_WhenTheCommitFindsTheTransactionGone_RunsTheWholeTransactionAgain()
    {
        var retry = Retry(TimeSpan.FromSeconds(10));
        var runs = 0;
        var commits = 0;

        await retry.RunAsync(
            _ => Task.FromResult(++runs),
            _ => ++commits == 1 ? throw MongoErrors.NoSuchTransactionOnCommit() : Task.CompletedTask,
            CancellationToken.None);

        Assert.Equal(2, runs);
        Assert.Equal(2, commits);
    }

    [Fact]
    public async Task RunAsync_WhenConflictsOutlastTheBudget_FailsAsUnavailableWithinIt()
    {
        var retry = Retry(TimeSpan.FromSeconds(10));
        var runs = 0;
        var started = _time.GetTimestamp();

        var failure = await Assert.ThrowsAsync<StoreUnavailableException>(() => retry.RunAsync<int>(
            _ => { runs++; throw MongoErrors.WriteConflict(); },
            _ => Task.CompletedTask,
            CancellationToken.None));

        Assert.IsType<MongoDB.Driver.MongoCommandException>(failure.InnerException);
        Assert.Contains("WriteConflict", failure.Message, StringComparison.Ordinal);
        Assert.InRange(_time.GetElapsedTime(started), TimeSpan.FromSeconds(9.5), TimeSpan.FromSeconds(10));
        // Waits from 7.5 ms doubling to 375 ms (three quarters of each step): about thirty attempts fit in 10 s.
        Assert.InRange(runs, 25, 40);
    }

    [Fact]
    public async Task RunAsync_WhenTheWorkFailsForAnotherReason_PassesItOnAtOnce()
    {
        var retry = Retry(TimeSpan.FromSeconds(10));
        var runs = 0;

        await Assert.ThrowsAsync<MongoDB.Driver.MongoCommandException>(() => retry.RunAsync<int>(
            _ => { runs++; throw MongoErrors.DuplicateKey(); },
            _ => Task.CompletedTask,
            CancellationToken.None));

        Assert.Equal(1, runs);
        Assert.Empty(_waits);
    }

    [Fact]
    public async Task RunAsync_WithNoBudget_TriesOnceAndFailsAsUnavailable()
    {
        var retry = Retry(TimeSpan.Zero);
        var runs = 0;

        await Assert.ThrowsAsync<StoreUnavailableException>(() => retry.RunAsync<int>(
            _ => { runs++; throw MongoErrors.WriteConflict(); },
            _ => Task.CompletedTask,
            CancellationToken.None));

        Assert.Equal(1, runs);
    }

    [Fact]
    public void DelayAfter_GrowsToTheCapWithJitterInItsUpperHalf()
    {
        var low = new TransactionRetry(_time, TimeSpan.FromSeconds(10), random: () => 0);
        var high = new TransactionRetry(_time, TimeSpan.FromSeconds(10), random: () => 0.999999);

        Assert.Equal(TimeSpan.FromMilliseconds(5), low.DelayAfter(1));
        Assert.Equal(TimeSpan.FromMilliseconds(40), low.DelayAfter(4));
        Assert.Equal(TimeSpan.FromMilliseconds(250), low.DelayAfter(30));
        Assert.InRange(high.DelayAfter(30), TimeSpan.FromMilliseconds(499), TransactionRetry.MaxDelay);
    }

    [Fact]
    public void Defaults_TransactionRetryTime_IsTenSeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), new MongoStorageOptions().TransactionRetryTime);
    }

    /// <summary>A retry whose jitter is fixed at the middle and whose waits move the fake clock.</summary>
    private TransactionRetry Retry(TimeSpan budget) =>
        new(_time, budget, random: () => 0.5, delay: (delay, _) =>
        {
            _waits.Add(delay);
            _time.Advance(delay);
            return Task.CompletedTask;
        });
}
