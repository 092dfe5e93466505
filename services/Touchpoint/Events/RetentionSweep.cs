using Journey.Touchpoint.Domain;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Events;

/// <summary>
/// Removes raw interactions older than the retention window, in chunks so the write lock is never
/// held for long. The analytics aggregates are kept elsewhere and survive.
/// </summary>
internal sealed partial class RetentionSweep(IInteractionStore interactions, IngestRules rules, IOptions<TouchpointOptions> options, TimeProvider time, ILogger<RetentionSweep> logger) : BackgroundService
{
    private const int Chunk = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RetentionSweepInterval, time);
        do
        {
            try
            {
                var removed = await SweepOnceAsync(stoppingToken);
                if (removed > 0)
                {
                    LogSwept(logger, removed);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Removes every interaction older than the window; returns how many.</summary>
    public async Task<long> SweepOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - rules.Retention;
        long total = 0;
        int removed;
        do
        {
            removed = await interactions.DeleteOlderThanAsync(cutoff, Chunk, cancellationToken);
            total += removed;
        }
        while (removed == Chunk);
        return total;
    }

    [LoggerMessage(EventId = 400, EventName = "RetentionSwept", Level = LogLevel.Information, Message = "Removed {Count} interactions older than the retention window")]
    private static partial void LogSwept(ILogger logger, long count);

    [LoggerMessage(EventId = 401, EventName = "RetentionSweepFailed", Level = LogLevel.Warning, Message = "The retention sweep failed; it will run again at the next interval")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
