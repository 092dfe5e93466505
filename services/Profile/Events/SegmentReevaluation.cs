using Journey.Profile.Domain;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Events;

/// <summary>
/// Runs <see cref="MembershipUseCases.ReevaluateTimedSegmentsAsync"/> at every tick of a timer on the
/// injected clock. Every replica may run it: each profile write is versioned, so two passes over the
/// same profile change its membership once.
/// </summary>
internal sealed partial class SegmentReevaluation(MembershipUseCases useCases, IOptions<ProfileOptions> options, TimeProvider time, ILogger<SegmentReevaluation> logger) : BackgroundService
{
    // On the background threads, below the priority of calls (see BackgroundScheduler).
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundScheduler.Shared.Run(() => ReevaluateAsync(stoppingToken));

    private async Task ReevaluateAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SegmentReevaluationInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var changed = await useCases.ReevaluateTimedSegmentsAsync(stoppingToken);
                if (changed > 0)
                {
                    LogChanged(changed);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next tick evaluates everything again; what changed meanwhile is kept.
                LogFailed(ex);
            }
        }
    }

    [LoggerMessage(EventId = 10, EventName = "SegmentsReevaluated", Level = LogLevel.Information, Message = "Time-based segment re-evaluation changed {Count} memberships")]
    private partial void LogChanged(int count);

    [LoggerMessage(EventId = 11, EventName = "SegmentReevaluationFailed", Level = LogLevel.Warning, Message = "Time-based segment re-evaluation failed; retrying at the next tick")]
    private partial void LogFailed(Exception exception);
}
