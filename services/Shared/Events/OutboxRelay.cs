using System.Collections.Concurrent;
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
/// <para>
/// Replicas sharing a store take turns through the outbox's lease (<see cref="IOutboxStore.TryLeaseAsync"/>):
/// only the holder publishes, in append order, and a holder that stops is replaced once its lease
/// (<see cref="EventsOptions.OutboxLease"/>) runs out. An event the transport fails is tried again
/// later; one it refuses while it takes the events after it is counted as refused, and parked after
/// <see cref="EventsOptions.MaxAttempts"/> refusals, so it never holds the others back. Two failures
/// in a row look like the transport being down rather than the events: the round stops, the lease is
/// given up (another replica's sidecar may work), and the relay backs off. docs/adr/ records why.
/// </para>
/// </summary>
internal sealed partial class OutboxRelay(
    IEnumerable<IOutboxStore> outboxes,
    IEventTransport transport,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly EventsOptions _options = options.Value;

    /// <summary>Until when this relay holds each outbox's lease, as last taken or renewed.</summary>
    private readonly ConcurrentDictionary<IOutboxStore, DateTimeOffset> _leasedUntil = new();

    /// <summary>Names this relay in the lease: unique to the instance, and telling an operator which pod holds it.</summary>
    internal string Holder { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

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
        var leased = false;
        try
        {
            var outages = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                Round round;
                try
                {
                    round = await RelayOnceAsync(outbox, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogRelayFailed(logger, outbox.Service, ex);
                    round = new Round(0, RoundEnd.Outage, Leased: leased);
                }

                leased = round.Leased;
                switch (round.End)
                {
                    case RoundEnd.Outage:
                        await Task.Delay(Backoff.After(++outages, _options), time, stoppingToken);
                        break;
                    case RoundEnd.Elsewhere:
                        // Another replica holds the outbox: commits here are its work, so only the poll matters.
                        outages = 0;
                        await Task.Delay(_options.PollInterval, time, stoppingToken);
                        break;
                    default:
                        outages = 0;
                        await Idling.AfterRoundAsync(round.Handled, ct => wake.WaitAsync(_options.PollInterval, ct), _options, time, stoppingToken);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            outbox.Committed -= Signal;
            if (leased)
            {
                await ReleaseOnStopAsync(outbox);
            }
        }
    }

    /// <summary>Lets another replica take over at once instead of after the lease runs out; if this fails the lease simply expires.</summary>
    private async Task ReleaseOnStopAsync(IOutboxStore outbox)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await outbox.ReleaseLeaseAsync(Holder, deadline.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogReleaseFailed(logger, outbox.Service, ex);
        }
    }

    /// <summary>
    /// One round: when rows are due and this relay holds (or takes) the lease, publishes a batch and
    /// records for each row whether it was sent, failed, refused or parked.
    /// </summary>
    internal async Task<Round> RelayOnceAsync(IOutboxStore outbox, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!await outbox.HasDueAsync(now, cancellationToken))
        {
            return new Round(0, RoundEnd.Idle, Leased: false);
        }

        // Renewed only once a quarter of it has passed: back-to-back rounds under load would otherwise
        // add a store write each, and every round still starts with three quarters of the lease ahead.
        if (!_leasedUntil.TryGetValue(outbox, out var until) || until - now < _options.OutboxLease * 0.75)
        {
            if (!await outbox.TryLeaseAsync(Holder, now, _options.OutboxLease, cancellationToken))
            {
                _leasedUntil.TryRemove(outbox, out _);
                return new Round(0, RoundEnd.Elsewhere, Leased: false);
            }

            _leasedUntil[outbox] = now + _options.OutboxLease;
        }

        // Read only now: until the lease was ours, another holder may have been sending these rows.
        var due = await outbox.ReadDueAsync(_options.BatchSize, now, cancellationToken);
        if (due.Count == 0)
        {
            return new Round(0, RoundEnd.Idle, Leased: true);
        }

        Attempt attempt;
        using (var activity = StartPublishActivity(outbox.Service, due))
        {
            attempt = await PublishAsync(outbox.Service, due, cancellationToken);
            if (attempt.Sent.Count < due.Count)
            {
                activity?.SetStatus(ActivityStatusCode.Error, "some events were not taken");
            }
        }

        var service = new KeyValuePair<string, object?>("service", outbox.Service);
        await outbox.MarkSentAsync(attempt.Sent, cancellationToken);
        JourneyTelemetry.EventsPublished.Add(attempt.Sent.Count, service);

        now = time.GetUtcNow();
        foreach (var row in attempt.Refused)
        {
            if (row.Refusals + 1 >= _options.MaxAttempts)
            {
                await outbox.ParkAsync(row, $"The transport refused it {row.Refusals + 1} times while it took other events.", now, cancellationToken);
                JourneyTelemetry.EventsDeadLettered.Add(1, service);
                LogParked(logger, outbox.Service, row.Message.EventId, row.Refusals + 1);
            }
            else
            {
                await outbox.DeferAsync([row], refused: true, now + Backoff.After(row.Refusals + 1, _options), cancellationToken);
                JourneyTelemetry.EventsRetried.Add(1, service);
            }
        }

        foreach (var row in attempt.Failed)
        {
            await outbox.DeferAsync([row], refused: false, now + Backoff.After(row.Attempts + 1, _options), cancellationToken);
            JourneyTelemetry.EventsRetried.Add(1, service);
        }

        if (!attempt.TransportDown)
        {
            return new Round(due.Count, RoundEnd.Done, Leased: true);
        }

        LogTransportDown(logger, outbox.Service, due.Count - attempt.Sent.Count - attempt.Refused.Count - attempt.Failed.Count);
        _leasedUntil.TryRemove(outbox, out _);
        await outbox.ReleaseLeaseAsync(Holder, cancellationToken);
        return new Round(due.Count, RoundEnd.Outage, Leased: false);
    }

    /// <summary>
    /// Hands <paramref name="due"/> to the transport in order. After a failure it goes on with the
    /// next event: when that one is taken, the failed one was refused on its own; when it fails too,
    /// the transport is down and the round ends with the rest untried.
    /// </summary>
    private async Task<Attempt> PublishAsync(string service, IReadOnlyList<PendingOutboxMessage> due, CancellationToken cancellationToken)
    {
        var attempt = new Attempt();
        PendingOutboxMessage? unproven = null;
        var next = 0;
        while (next < due.Count)
        {
            var remaining = due.Skip(next).ToList();
            int taken;
            try
            {
                taken = Math.Clamp(await transport.PublishAsync(service, remaining.Select(r => r.Message).ToList(), cancellationToken), 0, remaining.Count);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogPublishFailed(logger, service, remaining.Count, ex);
                taken = 0;
            }

            attempt.Sent.AddRange(remaining.Take(taken));
            next += taken;
            if (taken > 0 && unproven is not null)
            {
                attempt.Refused.Add(unproven);
                unproven = null;
            }

            if (next == due.Count)
            {
                break;
            }

            // due[next] was tried and not taken.
            if (unproven is not null)
            {
                attempt.Failed.Add(unproven);
                attempt.Failed.Add(due[next]);
                attempt.TransportDown = true;
                return attempt;
            }

            unproven = due[next++];
        }

        if (unproven is not null)
        {
            attempt.Failed.Add(unproven);
        }

        return attempt;
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

    [LoggerMessage(EventId = 102, EventName = "OutboxEventParked", Level = LogLevel.Error, Message = "The transport refused event {EventId} of the {Service} outbox {Refusals} times while it took others; the event is parked")]
    private static partial void LogParked(ILogger logger, string service, string eventId, int refusals);

    [LoggerMessage(EventId = 103, EventName = "OutboxTransportDown", Level = LogLevel.Warning, Message = "The transport failed two events of the {Service} outbox in a row; {Untried} more wait, and the relay backs off")]
    private static partial void LogTransportDown(ILogger logger, string service, int untried);

    [LoggerMessage(EventId = 104, EventName = "OutboxLeaseReleaseFailed", Level = LogLevel.Debug, Message = "Could not give up the {Service} outbox lease on stopping; it runs out by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string service, Exception exception);

    /// <summary>How a round ended.</summary>
    internal enum RoundEnd
    {
        /// <summary>Nothing was due.</summary>
        Idle,

        /// <summary>A batch was handled.</summary>
        Done,

        /// <summary>Another relay holds the outbox.</summary>
        Elsewhere,

        /// <summary>The transport (or the store) failed as a whole: back off.</summary>
        Outage,
    }

    /// <summary>What a round did.</summary>
    /// <param name="Handled">Rows read and dealt with.</param>
    /// <param name="End">How it ended.</param>
    /// <param name="Leased">Whether this relay holds the lease after it.</param>
    internal readonly record struct Round(int Handled, RoundEnd End, bool Leased);

    /// <summary>The rows of one batch by outcome.</summary>
    private sealed class Attempt
    {
        public List<PendingOutboxMessage> Sent { get; } = [];

        /// <summary>Not taken while events after them were.</summary>
        public List<PendingOutboxMessage> Refused { get; } = [];

        /// <summary>Not taken, with nothing taken after them.</summary>
        public List<PendingOutboxMessage> Failed { get; } = [];

        public bool TransportDown { get; set; }
    }
}
