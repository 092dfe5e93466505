using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Reports;

/// <summary>
/// How long-running reports (audience descriptions, the journey funnel) are kept and refreshed
/// (section <c>Journey:Reports</c>). A report that is quick to compute is always computed afresh; one
/// that takes at least <see cref="KeepSlowerThan"/> is kept, answered again while it is younger than
/// <see cref="MaxAge"/>, and refreshed in the background once older, the kept one still answered
/// meanwhile. Every kept report says when it was computed.
/// </summary>
public sealed class ReportsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Reports";

    /// <summary>
    /// The shortest computation whose report is kept. Default 250 ms: a store small enough to answer
    /// faster than that is never answered from memory. Zero keeps every report.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan KeepSlowerThan { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How old a kept report may be before a request for it starts a refresh. Default 5 minutes.
    /// The request that starts it, and every request until it ends, still get the kept report.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most reports one kind of report keeps; the least recently asked for goes first. Default 256.</summary>
    [Range(1, 100_000)]
    public int MaxKept { get; set; } = 256;
}

/// <summary>Start-up validation of <see cref="ReportsOptions"/>.</summary>
[OptionsValidator]
public sealed partial class ReportsOptionsValidator : IValidateOptions<ReportsOptions>;
