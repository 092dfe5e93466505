using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint;

/// <summary>Touchpoint service settings (section <c>Journey:Touchpoint</c>).</summary>
public sealed class TouchpointOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Touchpoint";

    /// <summary>
    /// How long raw interactions are kept, in days; older ones are removed by the retention sweep
    /// (SQLite) or a TTL index (MongoDB) and rejected at ingestion. Aggregates are kept. Default 400, 1 to 3650.
    /// </summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 400;

    /// <summary>How often the SQLite retention sweep runs. Default 1 hour, 1 second to 1 day.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The window after an interaction in which a purchase counts for the touchpoint's scorecard.
    /// Default 30 days, 1 to 365 days (aggregates are kept per day, so less than a day is not meaningful).
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan PurchaseWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a person must have been silent, without buying, to count as dropped off. Default 30 days, 1 hour to 365 days.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan SilencePeriod { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Most interactions of consecutive stream messages written in one transaction. Messages that have
    /// already arrived while the previous ones were being stored are written together, up to this many;
    /// a stream that sends slower than it is stored gets one transaction per message. The random keys
    /// of the ingest path (event ids, people) dirty a page per row in a small transaction and share
    /// pages in a large one: 20,000 took 19 % more interactions a second than 5,000 in a paired run on the
    /// 2-core benchmark machine. The other writers of the touchpoint store (the outbox relay, merges,
    /// erasure) wait for a transaction, up to about a second at this size. MongoDB takes at most 1,000
    /// interactions and 4 MiB of messages in one transaction whatever this says (its cache bounds a
    /// transaction); a message is never split.
    /// Default 20000, 1000 to 50000.
    /// </summary>
    [Range(1000, 50_000)]
    public int StreamTransactionSize { get; set; } = 20_000;

    /// <summary>
    /// How long the tracking API remembers the message id of an identify or alias it passed on, so an
    /// SDK's re-send of it publishes nothing again; older claims are removed by the SQLite retention
    /// sweep or a TTL index (MongoDB). A message sent again after this is passed on again, which the
    /// profile service applies to the same effect. SDKs retry for hours at most (the browser SDK gives
    /// up after 12). Default 30 days, 1 hour to 3650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan TrackingIdentityRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The retention window.</summary>
    public TimeSpan Retention => TimeSpan.FromDays(RetentionDays);
}

/// <summary>Start-up validation of <see cref="TouchpointOptions"/>.</summary>
[OptionsValidator]
public sealed partial class TouchpointOptionsValidator : IValidateOptions<TouchpointOptions>;
