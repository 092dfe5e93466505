using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.WebConsole;

/// <summary>
/// Signing in to the console through the organisation's OpenID Connect issuer: the authorization
/// code flow with PKCE (ASP.NET Core's OpenID Connect handler), after which the console keeps the
/// issuer's access token in its own cookie and calls the APIs with it, as with a development sign-in.
/// The services validate that token against the same issuer, so its scopes decide what each view shows.
/// </summary>
public static partial class IssuerSignIn
{
    /// <summary>The scheme that talks to the issuer.</summary>
    public const string IssuerScheme = "journey-console-issuer";

    /// <summary>The scheme that keeps the access token in the console's cookie once the issuer has answered.</summary>
    public const string SessionScheme = "journey-console-session";

    /// <summary>Where a browser starts signing in through the issuer.</summary>
    public const string StartPath = "/console/sign-in/issuer";

    /// <summary>Where the issuer sends the browser back with the code (register it at the issuer).</summary>
    public const string CallbackPath = "/console/signed-in";

    /// <summary>
    /// Whether this host's configuration signs people in through an issuer: the console is on, an
    /// authority is set and the console has a client id there. Read from configuration when the host
    /// is built, since the handler must not exist without them (it would fail every request).
    /// </summary>
    public static bool IsConfigured(IConfiguration configuration) =>
        (!bool.TryParse(configuration[$"{WebConsoleOptions.Section}:Enabled"], out var enabled) || enabled)
        && SecurityRegistration.AuthEnabled(configuration)
        && !string.IsNullOrWhiteSpace(configuration[$"{AuthOptions.Section}:Authority"])
        && !string.IsNullOrWhiteSpace(configuration[$"{WebConsoleOptions.Section}:ClientId"]);

    internal static void AddIssuerSignIn(this WebApplicationBuilder builder)
    {
        if (!IsConfigured(builder.Configuration))
        {
            return;
        }

        builder.Services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ConsoleSessionHandler>(SessionScheme, displayName: null, configureOptions: null)
            .AddOpenIdConnect(IssuerScheme, _ => { });
        builder.Services.AddOptions<OpenIdConnectOptions>(IssuerScheme)
            .Configure<IOptions<AuthOptions>, IOptions<WebConsoleOptions>, KnownModules, ILoggerFactory>((oidc, auth, console, known, loggers) =>
            {
                var authority = auth.Value.Authority!;
                oidc.Authority = authority;
                oidc.RequireHttpsMetadata = !AuthOptions.AllowsHttpMetadata(authority);
                oidc.ClientId = console.Value.ClientId;
                oidc.ClientSecret = string.IsNullOrWhiteSpace(console.Value.ClientSecret) ? null : console.Value.ClientSecret;
                oidc.ResponseType = "code";
                oidc.UsePkce = true;
                // The code comes back in the query of a top-level GET, so the correlation and nonce
                // cookies can be SameSite=Lax: no cross-site form post needs SameSite=None.
                oidc.ResponseMode = "query";
                oidc.CallbackPath = CallbackPath;
                oidc.SignInScheme = SessionScheme;
                oidc.SaveTokens = true;
                oidc.MapInboundClaims = false;
                oidc.GetClaimsFromUserInfoEndpoint = false;
                oidc.TokenValidationParameters.NameClaimType = "sub";
                oidc.Scope.Clear();
                oidc.Scope.Add("openid");
                foreach (var scope in console.Value.Scopes.Length > 0 ? console.Value.Scopes : known.Scopes.All)
                {
                    oidc.Scope.Add(scope);
                }

                foreach (var cookie in new[] { oidc.CorrelationCookie, oidc.NonceCookie })
                {
                    cookie.SameSite = SameSiteMode.Lax;
                    cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                    cookie.Path = "/console";
                }

                oidc.Events.OnTokenValidated = context =>
                {
                    if (string.IsNullOrEmpty(context.TokenEndpointResponse?.AccessToken))
                    {
                        context.Fail("The issuer answered the code without an access token for the APIs.");
                    }

                    return Task.CompletedTask;
                };
                var logger = loggers.CreateLogger(typeof(IssuerSignIn));
                oidc.Events.OnRemoteFailure = context =>
                {
                    // The reason can carry the issuer's words; it goes to the log, and the page says
                    // only what the person can do about it.
                    LogSignInFailed(logger, context.Failure?.Message ?? "unknown");
                    context.Response.Redirect("/console/sign-in?failed=1");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });
    }

    /// <summary>Maps the start of the issuer's sign-in.</summary>
    internal static void MapIssuerSignIn(this WebApplication app)
    {
        if (IsConfigured(app.Configuration))
        {
            app.MapGet(StartPath, StartAsync);
        }
    }

    /// <summary>
    /// Sends the browser to the issuer. Reading the issuer's discovery document comes first; when the
    /// issuer cannot be reached, the person is told so on the sign-in page instead of an error page.
    /// </summary>
    private static async Task StartAsync(HttpContext context, string? @return, ILoggerFactory loggers)
    {
        try
        {
            await context.ChallengeAsync(IssuerScheme, new AuthenticationProperties { RedirectUri = WebConsoleRegistration.LocalReturn(@return) });
        }
        catch (Exception ex) when ((ex is InvalidOperationException or HttpRequestException) && !context.RequestAborted.IsCancellationRequested)
        {
            LogIssuerUnreachable(loggers.CreateLogger(typeof(IssuerSignIn)), ex.Message);
            context.Response.Redirect($"/console/sign-in?unreachable=1&return={Uri.EscapeDataString(WebConsoleRegistration.LocalReturn(@return))}");
        }
    }

    [LoggerMessage(EventId = 3, EventName = "ConsoleIssuerUnreachable", Level = LogLevel.Warning, Message = "Console sign-in could not start: the issuer's configuration could not be read: {Reason}")]
    private static partial void LogIssuerUnreachable(ILogger logger, string reason);

    [LoggerMessage(EventId = 2, EventName = "ConsoleIssuerSignInFailed", Level = LogLevel.Warning, Message = "Console sign-in through the issuer failed: {Reason}")]
    private static partial void LogSignInFailed(ILogger logger, string reason);
}

/// <summary>
/// Completes a sign-in through the issuer: puts the access token the issuer returned into the console's
/// cookie, for as long as the token lasts (at most <see cref="WebConsoleRegistration.SignInLifetime"/>).
/// The cookie is SameSite=Lax, not Strict like a development sign-in's: the browser arrives from the
/// issuer's site, and a Strict cookie would not travel with that navigation's redirect to the page.
/// Lax still keeps it off every cross-site form post, and the console's pages only read.
/// </summary>
internal sealed class ConsoleSessionHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder)
    : SignInAuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());

    protected override Task HandleSignInAsync(ClaimsPrincipal user, AuthenticationProperties? properties)
    {
        // OnTokenValidated has refused an answer without one.
        var token = properties?.GetTokenValue("access_token") ?? throw new InvalidOperationException("no access token to keep");
        var lifetime = WebConsoleRegistration.SignInLifetime;
        if (DateTimeOffset.TryParse(properties!.GetTokenValue("expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expires))
        {
            lifetime = TimeSpan.FromTicks(Math.Clamp((expires - TimeProvider.GetUtcNow()).Ticks, TimeSpan.FromMinutes(1).Ticks, lifetime.Ticks));
        }

        Response.Cookies.Append(ConsoleApi.TokenCookie, token, WebConsoleRegistration.CookieOptions(Context, lifetime, SameSiteMode.Lax));
        return Task.CompletedTask;
    }

    protected override Task HandleSignOutAsync(AuthenticationProperties? properties)
    {
        Response.Cookies.Delete(ConsoleApi.TokenCookie, WebConsoleRegistration.CookieOptions(Context, TimeSpan.Zero, SameSiteMode.Lax));
        return Task.CompletedTask;
    }
}
