using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint;

/// <summary>Touchpoint service settings (section <c>Journey:Touchpoint</c>).</summary>
public sealed class TouchpointOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Touchpoint";

    /// <summary>How long raw interactions are kept, in days; older ones are refused at ingestion. Default 400 (a model year and a season).</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 400;

    /// <summary>How often raw interactions past the retention window are removed. Default 1 hour.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How far ahead of the server clock an interaction's time may be. Default 5 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Start-up validation of <see cref="TouchpointOptions"/>.</summary>
[OptionsValidator]
public sealed partial class TouchpointOptionsValidator : IValidateOptions<TouchpointOptions>;
