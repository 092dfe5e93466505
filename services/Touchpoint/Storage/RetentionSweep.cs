using Journey.Shared.Hosting;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// Removes raw interactions older than the retention window from SQLite, in slices of 5,000 so the
/// single writer is never held for long. MongoDB needs no sweep: its TTL index does the same.
/// </summary>
internal sealed partial class RetentionSweep(IInteractionLog log, IOptions<TouchpointOptions> options, TimeProvider clock, ILogger<RetentionSweep> logger) : BackgroundService
{
    private const int Slice = 5000;

    /// <summary>Runs one sweep to the end; returns how many interactions were removed.</summary>
    public async Task<long> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow() - options.Value.Retention;
        long total = 0;
        int removed;
        do
        {
            removed = await log.SweepAsync(cutoff, Slice, cancellationToken);
            total += removed;
        }
        while (removed == Slice);

        if (total > 0)
        {
            LogSwept(logger, total);
        }

        return total;
    }

    // On the background threads, below the priority of calls (see BackgroundScheduler).
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundScheduler.Shared.Run(() => SweepAsync(stoppingToken));

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RetentionSweepInterval, clock);
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1, EventName = "RetentionSwept", Level = LogLevel.Information, Message = "Retention sweep removed {Count} interactions")]
    private static partial void LogSwept(ILogger logger, long count);

    [LoggerMessage(EventId = 2, EventName = "RetentionSweepFailed", Level = LogLevel.Warning, Message = "Retention sweep failed; retrying at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
