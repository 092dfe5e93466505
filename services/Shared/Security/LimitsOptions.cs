using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Security;

/// <summary>
/// Limits on what one caller may send and how long a call may take (section <c>Journey:Limits</c>).
/// The size ceilings apply to every request of every service, so no field is unbounded; services keep
/// their own, tighter rules per field. The defaults are above every maximum the protos document.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Limits";

    /// <summary>Largest request message accepted, in bytes. Default 4 MiB; larger gets RESOURCE_EXHAUSTED from gRPC.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxReceiveMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Calls per second one caller (token subject) may make to methods that write. Default 500.</summary>
    [Range(1, 1_000_000)]
    public int WriteCallsPerSecond { get; set; } = 500;

    /// <summary>How many write calls one caller may make at once above the steady rate. Default 1000.</summary>
    [Range(1, 1_000_000)]
    public int WriteBurst { get; set; } = 1000;

    /// <summary>
    /// Longest a unary call may run on the server. Default 30 seconds. A caller's shorter
    /// <c>grpc-timeout</c> still wins; past the limit the call ends with DEADLINE_EXCEEDED.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan UnaryDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest a client-streaming or bidirectional call (e.g. an ingestion stream) may run. Default
    /// 10 minutes: collectors reopen their stream after it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan StreamDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Longest a server-streaming call (a watch, such as <c>WatchProfile</c>) may stay open. Default
    /// 1 hour: a watcher reconnects and gets the current state first, so ending a watch loses nothing,
    /// and a forgotten watcher does not hold a connection and a subscription for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan WatchDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Longest an outgoing call (a publish to the Dapr sidecar, a call to another service) may take
    /// before it is given up and retried later. Default 10 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan OutgoingCallDeadline { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest string field of a request, in UTF-16 code units. Default 100,000 (the consent policy text's maximum).</summary>
    [Range(1, 16 * 1024 * 1024)]
    public int MaxStringLength { get; set; } = 100_000;

    /// <summary>Longest bytes field of a request, in bytes. Default 1 MiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxBytesLength { get; set; } = 1024 * 1024;

    /// <summary>Most elements of one repeated field of a request. Default 1,000 (a batch of interactions or checks).</summary>
    [Range(1, 10_000_000)]
    public int MaxRepeatedCount { get; set; } = 1000;

    /// <summary>Most entries of one map field of a request. Default 100 (the protos allow at most 50).</summary>
    [Range(1, 10_000_000)]
    public int MaxMapEntries { get; set; } = 100;

    /// <summary>Deepest nesting of messages in a request, the request itself being level 1. Default 32 (a segment rule 8 levels deep needs about 20).</summary>
    [Range(2, 100)]
    public int MaxDepth { get; set; } = 32;

    /// <summary>
    /// Most values in one request: set fields, repeated elements and map entries at every level together.
    /// Default 250,000 (a batch of 1,000 interactions with 32 properties each holds about 80,000).
    /// </summary>
    [Range(1, 100_000_000)]
    public int MaxValues { get; set; } = 250_000;
}

/// <summary>Start-up validation of <see cref="LimitsOptions"/>.</summary>
[OptionsValidator]
public sealed partial class LimitsOptionsValidator : IValidateOptions<LimitsOptions>;
