using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Security;

/// <summary>Caller authentication (section <c>Journey:Auth</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Auth";

    /// <summary>
    /// Whether every gRPC method (but health and reflection) needs a bearer token. Default true.
    /// Turning it off is logged as a warning at every start.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The organisation's OpenID Connect issuer (its discovery document supplies the signing keys),
    /// e.g. <c>https://login.example.com/realms/journey</c>. Empty: the host acts as its own
    /// development issuer, with a signing key it creates in the data directory.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The issuer tokens must name. Default <c>journey-development</c> (the development issuer); with an authority, the authority's issuer is used.</summary>
    [Required]
    public string Issuer { get; set; } = "journey-development";

    /// <summary>The audience tokens must name. Default <c>journey</c>.</summary>
    [Required]
    public string Audience { get; set; } = "journey";

    /// <summary>
    /// The most validated tokens remembered at once, so that a token sent again is not verified
    /// again (see <see cref="CachingTokenHandler"/>). Default 1,000; 0 verifies every call in full.
    /// </summary>
    [Range(0, 1_000_000)]
    public int TokenCacheCapacity { get; set; } = 1_000;

    /// <summary>Whether the authority's metadata may be read over plain http: only on this machine.</summary>
    public static bool AllowsHttpMetadata(string authority) =>
        Uri.TryCreate(authority, UriKind.Absolute, out var uri) && uri.IsLoopback;
}

/// <summary>Start-up validation of <see cref="AuthOptions"/>.</summary>
[OptionsValidator]
public sealed partial class AuthOptionsValidator : IValidateOptions<AuthOptions>;

/// <summary>
/// The authority is where the signing keys (and the console's sign-in) come from, so it must be an
/// absolute https:// address; plain http:// only on this machine, where nothing crosses a network.
/// </summary>
internal sealed class AuthorityRule : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options) =>
        string.IsNullOrWhiteSpace(options.Authority)
        || (Uri.TryCreate(options.Authority, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{AuthOptions.Section}:Authority must be an absolute https:// address of an OpenID Connect issuer (http:// only on loopback), not '{options.Authority}'.");
}
