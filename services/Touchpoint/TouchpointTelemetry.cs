using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Journey.Touchpoint;

/// <summary>The touchpoint service's spans and metrics. Tags carry counts and outcomes, never identifiers.</summary>
public static class TouchpointTelemetry
{
    /// <summary>The source and meter name.</summary>
    public const string Name = "Journey.Touchpoint";

    /// <summary>Spans of the use cases.</summary>
    public static readonly ActivitySource Source = new(Name);

    /// <summary>Metrics of the use cases.</summary>
    public static readonly Meter Meter = new(Name);

    /// <summary>Interactions received, tagged with <c>outcome</c>: accepted, duplicate or rejected.</summary>
    public static readonly Counter<long> Interactions = Meter.CreateCounter<long>("journey.touchpoint.interactions", "{interaction}", "Interactions received, by outcome.");

    /// <summary>Interactions per ingest transaction: how well stream messages are grouped under load.</summary>
    public static readonly Histogram<int> TransactionSize = Meter.CreateHistogram<int>(
        "journey.touchpoint.ingest.transaction_size", "{interaction}", "Interactions written by one ingest transaction.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000] });
}
