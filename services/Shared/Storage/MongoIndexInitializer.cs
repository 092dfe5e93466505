using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Storage;

/// <summary>
/// Puts every MongoDB store's declared indexes in place after the host has started, never on the
/// start-up path: a server that is not reachable yet (a replica set still forming) or an index
/// build that takes minutes leaves the process up and serving <c>live</c>, while readiness names
/// the store (<see cref="MongoIndexHealthCheck"/>) until its indexes exist. A failed pass is tried
/// again after a jittered backoff on the injected clock, from <see cref="FirstRetry"/> doubling to
/// <see cref="MaxRetry"/>, until it succeeds or the host stops.
/// </summary>
internal sealed partial class MongoIndexInitializer(
    IServiceProvider services,
    IOptions<StorePorts> ports,
    TimeProvider time,
    ILogger<MongoIndexInitializer> logger) : BackgroundService
{
    /// <summary>The wait after the first failed pass.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two passes.</summary>
    public static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    /// <summary>The wait after <paramref name="failures"/> failed passes, ±20 % by <paramref name="random"/> in [0, 1).</summary>
    public static TimeSpan RetryDelay(int failures, double random)
    {
        var step = Math.Min(MaxRetry.Ticks, FirstRetry.Ticks << Math.Min(failures - 1, 16));
        return TimeSpan.FromTicks((long)(step * (0.8 + (0.4 * random))));
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The stores' adapters were built (and declared their indexes) by StoreInitializer, which
        // starts before this service.
        var sets = ports.Value.Services
            .Select(service => services.GetKeyedService<MongoStore>(service)?.Indexes)
            .OfType<MongoIndexSet>()
            .ToList();
        return Task.WhenAll(sets.Select(set => EnsureAsync(set, stoppingToken)));
    }

    /// <summary>Runs passes over <paramref name="set"/> until it is ready or a conflict stops it; returns quietly when the host stops.</summary>
    internal async Task EnsureAsync(MongoIndexSet set, CancellationToken stoppingToken)
    {
        await Task.Yield();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                await set.EnsureAsync(stoppingToken);
                if (set.Ready)
                {
                    return;
                }

                // A conflict, which the pass logged: looked at again later, in case an operator resolved it.
                failures++;
                delay = RetryDelay(failures, Random.Shared.NextDouble());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                delay = RetryDelay(failures, Random.Shared.NextDouble());
                LogPassFailed(logger, set.Database, failures, delay.TotalSeconds, MongoIndexSet.Summary(ex), ex);
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 415, EventName = "MongoIndexPassFailed", Level = LogLevel.Warning,
        Message = "MongoDB indexes of {Database} not in place yet (attempt {Attempt}: {Reason}); the service is live but not ready; next attempt in about {Seconds:0} s")]
    private static partial void LogPassFailed(ILogger logger, string database, int attempt, double seconds, string reason, Exception exception);
}

/// <summary>Readiness of one store's indexes: unhealthy, with the reason, until every declared index is in place.</summary>
internal sealed class MongoIndexHealthCheck(MongoIndexSet indexes) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(indexes.Ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(indexes.Status));
}
