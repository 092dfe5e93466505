using Journey.Shared.Errors;

namespace Journey.Profile.Domain;

/// <summary>
/// Runs a profile write again when a concurrent writer got there first. Every write reads the store,
/// resolves in memory and writes one transaction guarded by versions and identifier claims, so a lost
/// race leaves nothing written and the next attempt reads the winner's result.
/// </summary>
internal static class ConflictRetry
{
    /// <summary>Tries of one write under contention: each round at least one contender wins, so this covers a dozen racing callers.</summary>
    public const int MaxAttempts = 16;

    /// <summary>Whether <paramref name="exception"/> is a lost race: a profile changed (Conflict) or an identifier was claimed (AlreadyExists) between read and write.</summary>
    public static bool LostRace(Exception exception) => exception is DomainException { Kind: ErrorKind.Conflict or ErrorKind.AlreadyExists };

    /// <summary>
    /// Runs <paramref name="write"/> (given the attempt, from 1) until it returns. An exception
    /// <paramref name="retryAtOnce"/> accepts is tried again straight away, whatever the attempt (it must
    /// narrow what the next attempt writes, so it ends); one <paramref name="retryable"/> accepts is tried
    /// again after a back-off, up to <paramref name="maxAttempts"/> attempts; any other goes to the caller.
    /// </summary>
    public static async Task<T> RunAsync<T>(
        Func<int, Task<T>> write,
        Func<Exception, bool> retryable,
        TimeProvider time,
        CancellationToken cancellationToken,
        int maxAttempts = MaxAttempts,
        Func<Exception, bool>? retryAtOnce = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write(attempt);
            }
            catch (Exception ex) when (retryAtOnce is not null && retryAtOnce(ex))
            {
            }
            catch (Exception ex) when (attempt < maxAttempts && retryable(ex))
            {
                await BackOffAsync(attempt, time, cancellationToken);
            }
        }
    }

    /// <inheritdoc cref="RunAsync{T}"/>
    public static Task RunAsync(
        Func<int, Task> write,
        Func<Exception, bool> retryable,
        TimeProvider time,
        CancellationToken cancellationToken,
        int maxAttempts = MaxAttempts,
        Func<Exception, bool>? retryAtOnce = null) =>
        RunAsync(
            async attempt =>
            {
                await write(attempt);
                return true;
            },
            retryable,
            time,
            cancellationToken,
            maxAttempts,
            retryAtOnce);

    /// <summary>A short random pause, growing with the attempt, so racing writers stop colliding in lock step.</summary>
    public static Task BackOffAsync(int attempt, TimeProvider time, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 2 + (3 * Math.Min(attempt, 8)))), time, cancellationToken);
}
