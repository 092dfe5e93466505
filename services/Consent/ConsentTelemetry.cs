using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Journey.Consent;

/// <summary>The consent service's spans and metrics. They carry resource names and counts, never identifiers.</summary>
public static class ConsentTelemetry
{
    /// <summary>Spans of merges and erasures.</summary>
    public static readonly ActivitySource Source = new("Journey.Consent");

    /// <summary>The service's meter.</summary>
    public static readonly Meter Meter = new("Journey.Consent");

    /// <summary>Ledger records appended, by origin.</summary>
    public static readonly Counter<long> RecordsAppended = Meter.CreateCounter<long>("journey.consent.records_appended", "{record}", "Records appended to consent ledgers.");

    /// <summary>Erasures requested.</summary>
    public static readonly Counter<long> ErasuresRequested = Meter.CreateCounter<long>("journey.consent.erasures_requested", "{erasure}", "Erasure requests accepted.");

    /// <summary>Signed ledger checkpoints made.</summary>
    public static readonly Counter<long> CheckpointsMade = Meter.CreateCounter<long>("journey.consent.checkpoints_made", "{checkpoint}", "Signed ledger checkpoints made.");

    /// <summary>Chain heads (or buckets of them) a checkpoint refused because they did not extend what it covered before.</summary>
    public static readonly Counter<long> CheckpointDivergences = Meter.CreateCounter<long>(
        "journey.consent.checkpoint_divergences", "{head}", "Chain heads or head buckets a checkpoint refused because they were rewritten since the checkpoint before.");

    /// <summary>Consent preferences from tracking messages, by outcome.</summary>
    public static readonly Counter<long> ObservedPreferences = Meter.CreateCounter<long>(
        "journey.consent.observed_preferences", "{preference}", "Consent preferences from tracking messages, by outcome: recorded, unchanged (the ledger said so already, or something newer) or erased.");

    /// <summary>Subjects merged into another.</summary>
    public static readonly Counter<long> SubjectsMerged = Meter.CreateCounter<long>("journey.consent.subjects_merged", "{subject}", "Subjects merged because their profiles merged.");
}
