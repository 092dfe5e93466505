using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Consent.Events;

/// <summary>
/// At start and then every <see cref="ConsentOptions.CheckpointInterval"/> (on the injected clock's
/// timers): makes a signed checkpoint of every chain head when some head changed, records it in the
/// audit trail and the log (both leave the ledger's own rows; the log usually leaves the machine),
/// and deletes request ids whose retention ran out. Every replica may run it: a checkpoint number is stored once, and a
/// replica that lost the race makes the next one at its next tick.
/// </summary>
internal sealed partial class LedgerMaintenance(
    CheckpointUseCases checkpoints, RequestLog requests, AuditTrail audit, IOptions<ConsentOptions> options, TimeProvider time, ILogger<LedgerMaintenance> logger) : BackgroundService
{
    /// <summary>The method name the audit trail records checkpoints under.</summary>
    public const string AuditMethod = "/journey.consent.v1.LedgerMaintenance/Checkpoint";

    // A backlog larger than this many checkpoints (each up to CheckpointUseCases.MaxHeadsPerCheckpoint
    // heads) waits for the next tick, so one run never holds the background thread for long.
    private const int MaxCheckpointsPerRun = 20;
    private const int SweepBatchSize = 1000;

    /// <summary>One maintenance run.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        for (var round = 1; round <= MaxCheckpointsPerRun; round++)
        {
            CheckpointOutcome outcome;
            try
            {
                outcome = await checkpoints.CreateAsync(cancellationToken);
            }
            catch (ConcurrencyConflictException)
            {
                // Another replica stored this number first.
                LogRaced();
                break;
            }

            foreach (var subject in outcome.Diverged.Take(10))
            {
                LogDiverged(ConsentNames.Subject(subject));
            }

            foreach (var bucket in outcome.TamperedBuckets)
            {
                LogTamperedBucket(bucket);
            }

            if (outcome.Checkpoint is not { } checkpoint)
            {
                break;
            }

            var statementHash = LedgerCheckpoints.StatementHash(checkpoint);
            LogCheckpoint(checkpoint.Number, checkpoint.Subjects, checkpoint.Records, checkpoint.Root, statementHash, checkpoint.KeyId, outcome.Covered);
            if (outcome.Reanchored)
            {
                LogReanchored(checkpoint.Number);
            }

            await audit.RecordAsync(AuditMethod, ConsentModule.Name, LedgerCheckpoints.Name(checkpoint.Number), "OK", cancellationToken);
            if (!outcome.MorePending)
            {
                break;
            }
        }

        var swept = await requests.SweepAsync(Clock.Now(time), SweepBatchSize, cancellationToken);
        if (swept > 0)
        {
            LogSwept(swept);
        }
    }

    // On the background threads, below the priority of calls (see BackgroundScheduler).
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundScheduler.Shared.Run(() => RunAsync(stoppingToken));

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next tick retries: a checkpoint not stored left nothing behind.
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 10, EventName = "ConsentCheckpointSigned", Level = LogLevel.Information,
        Message = "Consent checkpoint {Number} signed: {Subjects} subjects, {Records} records, root {Root}, statement SHA-256 {StatementHash}, key {KeyId}; {Covered} heads newly covered")]
    private partial void LogCheckpoint(long number, long subjects, long records, string root, string statementHash, string keyId, int covered);

    [LoggerMessage(EventId = 11, EventName = "ConsentCheckpointHeadDiverged", Level = LogLevel.Warning,
        Message = "The chain of {Subject} no longer extends the head the checkpoints cover; they keep the covered head (verify the chain)")]
    private partial void LogDiverged(string subject);

    [LoggerMessage(EventId = 12, EventName = "ConsentCheckpointBucketTampered", Level = LogLevel.Warning,
        Message = "The covered heads of bucket {Bucket} no longer match the signed checkpoint; checkpoints keep the signed bucket")]
    private partial void LogTamperedBucket(int bucket);

    [LoggerMessage(EventId = 13, EventName = "ConsentCheckpointReanchored", Level = LogLevel.Warning,
        Message = "The previous consent checkpoint does not verify under the current signing key (the key changed, or the checkpoint was altered); checkpoint {Number} covers the stored heads as they are")]
    private partial void LogReanchored(long number);

    [LoggerMessage(EventId = 14, EventName = "ConsentCheckpointRaced", Level = LogLevel.Debug, Message = "Another replica stored the consent checkpoint first")]
    private partial void LogRaced();

    [LoggerMessage(EventId = 15, EventName = "ConsentRequestIdsSwept", Level = LogLevel.Debug, Message = "Deleted {Count} expired consent request ids")]
    private partial void LogSwept(int count);

    [LoggerMessage(EventId = 16, EventName = "ConsentLedgerMaintenanceFailed", Level = LogLevel.Warning, Message = "Consent ledger maintenance failed; retrying at the next tick")]
    private partial void LogFailed(Exception exception);
}
