using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Security;

/// <summary>Limits on what one caller may send (section <c>Journey:Limits</c>).</summary>
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
}

/// <summary>Start-up validation of <see cref="LimitsOptions"/>.</summary>
[OptionsValidator]
public sealed partial class LimitsOptionsValidator : IValidateOptions<LimitsOptions>;
