namespace Journey.WebConsole;

/// <summary>The web console (section <c>Journey:Console</c>), served on the HTTP listener under <c>/console</c>.</summary>
public sealed class WebConsoleOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Console";

    /// <summary>Whether the host serves the console. Default true; it is reachable only where the HTTP listener is on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The gRPC address the console calls the services at, e.g. <c>http://touchpoint:8080</c>. Empty:
    /// this host's own gRPC listener, which serves every service it runs.
    /// </summary>
    public string? ApiAddress { get; set; }

    /// <summary>
    /// The console's client id at the OpenID Connect issuer (<c>Journey:Auth:Authority</c>), which
    /// people then sign in through: authorization code with PKCE, the callback at
    /// <c>/console/signed-in</c>. Empty: with an issuer, the sign-in page says what to configure.
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>The client's secret, for an issuer that registers the console as a confidential client. Empty: a public client (PKCE alone).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// The scopes the console asks the issuer for, besides <c>openid</c>. Empty: every scope the
    /// platform defines; the issuer grants what the person may have, and each view shows what the
    /// granted scopes allow.
    /// </summary>
    public string[] Scopes { get; set; } = [];
}
