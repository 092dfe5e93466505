using System.ComponentModel.DataAnnotations;
using Journey.Consent.Domain;
using Microsoft.Extensions.Options;

namespace Journey.Consent;

/// <summary>Settings of the consent ledger (section <c>Journey:Consent</c>).</summary>
public sealed class ConsentOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Consent";

    /// <summary>
    /// How long a write's <c>request_id</c> is honoured: a retry within it appends nothing and gets the
    /// first answer. Default 24 hours; 1 hour to 30 days. Expired request ids are deleted by the
    /// ledger's maintenance run (every <see cref="CheckpointInterval"/>), and on MongoDB also by a
    /// TTL index.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "30.00:00:00")]
    public TimeSpan RequestIdRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Time between two runs of the ledger maintenance, measured on the injected
    /// <see cref="TimeProvider"/>'s timers; one also runs at start. Each run signs a checkpoint of
    /// every chain head when some head changed, then deletes expired request ids. Default 1 hour;
    /// 1 second to 7 days. Records appended since the latest checkpoint are protected by the stored
    /// heads alone (a cut end is still reported) until the next one covers them.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The key checkpoints are signed with: an EC private key on P-256, PEM (PKCS#8
    /// <c>BEGIN PRIVATE KEY</c> or SEC 1 <c>BEGIN EC PRIVATE KEY</c>), e.g. from
    /// <c>openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt</c>. Empty (the
    /// default): a key derived from <c>Journey:Privacy:IdentifierHashKey</c>, which every replica
    /// already shares; set a key of its own (from a Secret) so that holders of the identifier key
    /// cannot sign checkpoints.
    /// </summary>
    public string? CheckpointSigningKey { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(CheckpointSigningKey))
        {
            yield break;
        }

        string? problem = null;
        try
        {
            using var signer = CheckpointSigner.FromPem(CheckpointSigningKey);
        }
        catch (ArgumentException ex)
        {
            // The message without the parameter name ArgumentException appends.
            problem = ex.Message.Split(" (Parameter", 2)[0];
        }

        if (problem is not null)
        {
            yield return new ValidationResult($"Journey:Consent:CheckpointSigningKey is not usable: {problem}", [nameof(CheckpointSigningKey)]);
        }
    }
}

/// <summary>Start-up validation of <see cref="ConsentOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class ConsentOptionsValidator : IValidateOptions<ConsentOptions>;
