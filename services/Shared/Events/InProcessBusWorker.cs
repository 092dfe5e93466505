using Journey.Shared.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Events;

/// <summary>
/// One subscription's dispatcher while events keep coming. A full batch means more is waiting, so the
/// next batch is read while the handler works on this one, and this batch's cursor move is written
/// while the handler works on the next; a subscription that allows it has several batches with its
/// handler at once. While batches come full, the reads, deliveries and cursor moves run as tasks of
/// their own on the background threads: the embedded store's calls complete before they return, so
/// a read or a cursor move started on the dispatcher's thread would finish before the handler began.
/// Cursor moves are written in the order the batches were read, and a retry that is being delivered
/// is not read again before its batch's outcome is written.
/// </summary>
internal sealed class DispatchPipeline(InProcessBus bus, EventSubscription subscription, IServiceProvider services)
{
    private readonly int _batchSize = bus.BatchSize;
    private readonly HashSet<long> _retriesInFlight = [];
    private readonly Queue<(Task<InProcessBus.Outcome> Delivery, List<long> Retries)> _delivering = new();
    private Task<InProcessBus.Batch>? _next;
    private Task? _commit;
    private List<long> _commitRetries = [];
    private long? _position;

    /// <summary>Starts <paramref name="work"/> as a task of its own on the background threads when it should overlap what follows; else runs it here.</summary>
    private static Task<T> Start<T>(bool overlap, Func<Task<T>> work) => overlap ? BackgroundScheduler.Shared.Run(work) : work();

    private static Task Start(bool overlap, Func<Task> work) => overlap ? BackgroundScheduler.Shared.Run(work) : work();

    /// <summary>Starts delivering one batch; returns how many events it took. After a partial batch every cursor move is written before it returns.</summary>
    public async Task<int> RunRoundAsync(CancellationToken cancellationToken)
    {
        var batch = await (_next ?? bus.ReadDueAsync(subscription, _position, _retriesInFlight.ToHashSet(), cancellationToken));
        _next = null;
        _position = batch.To;
        var retries = batch.Rows.Where(r => r.Seq != 0).Select(r => r.Seq).ToList();
        _retriesInFlight.UnionWith(retries);

        // A partial batch is the last of what waits: with nothing to overlap, it is delivered and its cursor
        // moved on this thread, so a trickle of events costs no hand-overs between threads.
        var full = batch.Rows.Count >= _batchSize;
        _delivering.Enqueue((Start(full, () => bus.DeliverAsync(subscription, services, batch, cancellationToken)), retries));
        if (full)
        {
            var (position, skip) = (_position, _retriesInFlight.ToHashSet());
            _next = BackgroundScheduler.Shared.Run(() => bus.ReadDueAsync(subscription, position, skip, cancellationToken));
        }

        // After a partial batch the dispatcher goes idle with every batch handled and its cursor move written.
        while (_delivering.Count >= subscription.DeliveriesInFlight || (!full && _delivering.Count > 0))
        {
            var (delivery, delivered) = _delivering.Dequeue();
            var outcome = await delivery;
            await FlushAsync();

            // Not cancelled with the host: a batch that was handled should have its cursor move written.
            _commit = Start(full, () => bus.CommitAsync(subscription, outcome, CancellationToken.None));
            _commitRetries = delivered;
        }

        if (!full)
        {
            await FlushAsync();
        }

        return batch.Rows.Count;
    }

    /// <summary>Waits until the last batch's outcome is written.</summary>
    private async Task FlushAsync()
    {
        if (_commit is null)
        {
            return;
        }

        var commit = _commit;
        _commit = null;
        await commit;
        _retriesInFlight.ExceptWith(_commitRetries);
    }

    /// <summary>
    /// Forgets what is in flight, after a failed round or at shutdown: the next round starts from the
    /// stored cursor, so a batch that was handled but whose cursor move was not written is delivered
    /// again, which the handlers' inboxes absorb. Returns the failure of a dropped read or cursor move
    /// (not a cancellation), for the log.
    /// </summary>
    public async Task<Exception?> ResetAsync()
    {
        Exception? dropped = null;
        foreach (var task in new Task?[] { _next, _commit }.Concat(_delivering.Select(d => d.Delivery)))
        {
            if (task is null)
            {
                continue;
            }

            try
            {
                await task;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                dropped ??= ex;
            }
            catch (OperationCanceledException)
            {
                // A read ahead cancelled at shutdown: nothing was lost.
            }
        }

        (_next, _commit, _position) = (null, null, null);
        _delivering.Clear();
        _retriesInFlight.Clear();
        _commitRetries = [];
        return dropped;
    }
}

/// <summary>Runs one dispatcher loop per subscription of the <see cref="InProcessBus"/>.</summary>
internal sealed partial class InProcessBusWorker(InProcessBus bus, IServiceProvider services, IOptions<EventsOptions> options, ILogger<InProcessBusWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.DeliveryEnabled
            ? Task.WhenAll(bus.Subscriptions.Select(s => BackgroundScheduler.Shared.Run(() => RunAsync(s, stoppingToken))))
            : Task.CompletedTask;

    private async Task RunAsync(EventSubscription subscription, CancellationToken stoppingToken)
    {
        var pipeline = new DispatchPipeline(bus, subscription, services);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                int taken;
                try
                {
                    taken = await pipeline.RunRoundAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogDispatchFailed(logger, subscription.Name, ex);
                    await ResetAsync(pipeline, subscription);
                    taken = 0;
                }

                await Idling.AfterRoundAsync(taken, ct => bus.WaitForWorkAsync(subscription.Name, ct), options.Value, bus.Time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await ResetAsync(pipeline, subscription);
        }
    }

    private async Task ResetAsync(DispatchPipeline pipeline, EventSubscription subscription)
    {
        if (await pipeline.ResetAsync() is { } dropped)
        {
            LogInFlightDropped(logger, subscription.Name, dropped);
        }
    }

    [LoggerMessage(EventId = 112, EventName = "DispatchFailed", Level = LogLevel.Error, Message = "The dispatcher of {Subscription} failed a round; it will try again")]
    private static partial void LogDispatchFailed(ILogger logger, string subscription, Exception exception);

    [LoggerMessage(EventId = 113, EventName = "DispatchInFlightDropped", Level = LogLevel.Warning, Message = "The dispatcher of {Subscription} could not finish a read ahead or a cursor move; those events will be delivered again from the stored cursor")]
    private static partial void LogInFlightDropped(ILogger logger, string subscription, Exception exception);
}
