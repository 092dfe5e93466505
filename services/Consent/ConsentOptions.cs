using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Consent;

/// <summary>Settings of the consent ledger (section <c>Journey:Consent</c>).</summary>
public sealed class ConsentOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Consent";

    /// <summary>
    /// How long a write's <c>request_id</c> is honoured: a retry within it appends nothing and gets the
    /// first answer. Default 24 hours; 1 hour to 30 days. Request ids are deleted by the ledger's
    /// maintenance run after this, and on MongoDB also by a TTL index.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "30.00:00:00")]
    public TimeSpan RequestIdRetention { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>Start-up validation of <see cref="ConsentOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class ConsentOptionsValidator : IValidateOptions<ConsentOptions>;
