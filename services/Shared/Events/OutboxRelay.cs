using System.Diagnostics;
using Journey.Shared.Hosting;
using Journey.Shared.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Events;

/// <summary>
/// Moves each service's outbox rows to the transport: woken by every committed write, and polling
/// for rows whose retry came due. A row is removed only after the transport has it, so a crash at
/// any point re-sends rather than loses; consumers' inboxes absorb the repeat.
/// </summary>
internal sealed partial class OutboxRelay(
    IEnumerable<IOutboxStore> outboxes,
    IEventTransport transport,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly EventsOptions _options = options.Value;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _options.DeliveryEnabled
            ? Task.WhenAll(outboxes.Select(outbox => BackgroundScheduler.Shared.Run(() => RunAsync(outbox, stoppingToken))))
            : Task.CompletedTask;

    private async Task RunAsync(IOutboxStore outbox, CancellationToken stoppingToken)
    {
        using var wake = new SemaphoreSlim(0, 1);
        void Signal()
        {
            if (wake.CurrentCount == 0)
            {
                try
                {
                    wake.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Another commit signalled first; one wake-up is enough.
                }
            }
        }

        outbox.Committed += Signal;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                int moved;
                try
                {
                    moved = await RelayOnceAsync(outbox, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogRelayFailed(logger, outbox.Service, ex);
                    moved = 0;
                }

                await Idling.AfterRoundAsync(moved, ct => wake.WaitAsync(_options.PollInterval, ct), _options, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            outbox.Committed -= Signal;
        }
    }

    /// <summary>Moves one batch; returns how many rows it handled.</summary>
    internal async Task<int> RelayOnceAsync(IOutboxStore outbox, CancellationToken cancellationToken)
    {
        var due = await outbox.ReadDueAsync(_options.BatchSize, time.GetUtcNow(), cancellationToken);
        if (due.Count == 0)
        {
            return 0;
        }

        var published = 0;
        using (var activity = StartPublishActivity(outbox.Service, due))
        {
            try
            {
                published = await transport.PublishAsync(outbox.Service, due.Select(d => d.Message).ToList(), cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                LogPublishFailed(logger, outbox.Service, due.Count, ex);
            }
        }

        await outbox.MarkSentAsync(due.Take(published).ToList(), cancellationToken);
        JourneyTelemetry.EventsPublished.Add(published, new KeyValuePair<string, object?>("service", outbox.Service));
        if (published < due.Count)
        {
            var failed = due.Skip(published).ToList();
            JourneyTelemetry.EventsRetried.Add(failed.Count, new KeyValuePair<string, object?>("service", outbox.Service));
            await outbox.DeferAsync(failed, time.GetUtcNow() + Backoff.After(failed[0].Attempts + 1, _options), cancellationToken);
        }

        return due.Count;
    }

    private static Activity? StartPublishActivity(string service, IReadOnlyList<PendingOutboxMessage> due)
    {
        if (!JourneyTelemetry.Events.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>(due.Count);
        foreach (var row in due)
        {
            if (EventEnvelopes.TryReadTraceContext(row.Message.Envelope, out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        var activity = JourneyTelemetry.Events.StartActivity("publish", ActivityKind.Producer, default(ActivityContext), links: links);
        activity?.SetTag("messaging.batch.message_count", due.Count);
        activity?.SetTag("journey.service", service);
        return activity;
    }

    [LoggerMessage(EventId = 100, EventName = "OutboxPublishFailed", Level = LogLevel.Warning, Message = "Publishing {Count} events from the {Service} outbox failed; they will be retried")]
    private static partial void LogPublishFailed(ILogger logger, string service, int count, Exception exception);

    [LoggerMessage(EventId = 101, EventName = "OutboxRelayFailed", Level = LogLevel.Error, Message = "The {Service} outbox relay failed a round; it will try again")]
    private static partial void LogRelayFailed(ILogger logger, string service, Exception exception);
}
