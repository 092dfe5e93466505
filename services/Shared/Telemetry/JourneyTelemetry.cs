using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Journey.Shared.Telemetry;

/// <summary>
/// Telemetry of the shared plumbing. Each service has its own source and meter named
/// <c>Journey.&lt;Service&gt;</c>; <see cref="SourcePrefix"/> makes the hosting defaults pick all of them up.
/// Spans and metrics carry ids and counts, never personal data.
/// </summary>
public static class JourneyTelemetry
{
    /// <summary>Every Journey activity source and meter starts with this.</summary>
    public const string SourcePrefix = "Journey.";

    /// <summary>Spans of the event plumbing: publish from an outbox, process in a subscriber.</summary>
    public static readonly ActivitySource Events = new("Journey.Events");

    /// <summary>Meter of the event plumbing.</summary>
    public static readonly Meter EventsMeter = new("Journey.Events");

    /// <summary>Events handed to the transport by an outbox relay.</summary>
    public static readonly Counter<long> EventsPublished = EventsMeter.CreateCounter<long>("journey.events.published", "{event}", "Events handed from an outbox to the transport.");

    /// <summary>Events given to a handler (a redelivery counts again).</summary>
    public static readonly Counter<long> EventsReceived = EventsMeter.CreateCounter<long>("journey.events.received", "{event}", "Events given to a subscriber's handler.");

    /// <summary>Deliveries parked as dead letters.</summary>
    public static readonly Counter<long> EventsDeadLettered = EventsMeter.CreateCounter<long>("journey.events.dead_lettered", "{event}", "Deliveries parked as dead letters.");

    /// <summary>Failed delivery or publish attempts that will be retried.</summary>
    public static readonly Counter<long> EventsRetried = EventsMeter.CreateCounter<long>("journey.events.retried", "{event}", "Failed attempts that will be retried.");

    /// <summary>Meter of the embedded storage.</summary>
    public static readonly Meter StorageMeter = new("Journey.Storage");

    /// <summary>Truncating checkpoints after a write that erased personal data (outcome: scrubbed, blocked by a reader, or failed).</summary>
    public static readonly Counter<long> WalScrubs = StorageMeter.CreateCounter<long>("journey.storage.wal_scrubs", "{checkpoint}", "Truncating checkpoints after a write that erased personal data; outcome scrubbed, blocked (readers did not finish in time, tried again) or failed.");

    /// <summary>Writes that found a SQLite WAL past its limit and tried to truncate it (outcome: truncated, blocked by a long reader, or failed).</summary>
    public static readonly Counter<long> WalTruncations = StorageMeter.CreateCounter<long>("journey.storage.wal_truncations", "{checkpoint}", "Attempts to truncate a SQLite WAL grown past its limit; outcome truncated, blocked (readers did not finish in time) or failed.");

    /// <summary>Meter of the long-running reports.</summary>
    public static readonly Meter ReportsMeter = new("Journey.Reports");

    /// <summary>Requests for a long-running report (outcome: kept, stale while a refresh runs, or computed).</summary>
    public static readonly Counter<long> ReportRequests = ReportsMeter.CreateCounter<long>(
        "journey.reports.requests", "{request}", "Requests for a long-running report; outcome kept (answered from memory), stale (answered from memory while a refresh runs) or computed.");
}
