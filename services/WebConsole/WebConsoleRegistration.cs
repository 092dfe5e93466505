using System.Net;
using Grpc.Core;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.WebConsole.Components;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.WebConsole;

/// <summary>Adds the web console to a host and maps its pages under <c>/console</c>.</summary>
public static partial class WebConsoleRegistration
{
    /// <summary>How long a console sign-in lasts: a working day.</summary>
    public static readonly TimeSpan SignInLifetime = TimeSpan.FromHours(8);

    /// <summary>Registers the console's services.</summary>
    public static WebApplicationBuilder AddJourneyConsole(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<WebConsoleOptions, WebConsoleOptionsValidator>(WebConsoleOptions.Section);
        services.AddHttpContextAccessor();
        services.AddSingleton<ConsoleChannel>();
        services.AddScoped<ConsoleApi>();
        services.AddRazorComponents();
        builder.AddIssuerSignIn();
        return builder;
    }

    /// <summary>
    /// Maps the console's pages and its sign-in, when <see cref="WebConsoleOptions.Enabled"/>, and
    /// logs its address once the HTTP listener is up (browsers cannot speak gRPC's HTTP/2-only port).
    /// </summary>
    public static WebApplication MapJourneyConsole(this WebApplication endpoints)
    {
        if (!endpoints.Services.GetRequiredService<IOptions<WebConsoleOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        endpoints.Lifetime.ApplicationStarted.Register(() =>
        {
            // The HTTP listener, when on, is bound after the gRPC one.
            if (endpoints.ListeningAddresses().Skip(1).FirstOrDefault() is { } http)
            {
                var address = $"{http}/console";
                LogConsole(endpoints.Logger, address);
            }
        });

        // Pages only read (their filters travel in the query string); the forms post to the endpoints
        // below, and the sign-in cookie is SameSite=Strict, so no page takes a cross-site post.
        endpoints.MapRazorComponents<App>().DisableAntiforgery();
        endpoints.MapPost("/console/session", SignIn).DisableAntiforgery();
        endpoints.MapPost("/console/sign-out", SignOut).DisableAntiforgery();
        endpoints.MapPost("/console/segments/define", DefineSegment).DisableAntiforgery();
        endpoints.MapIssuerSignIn();
        endpoints.MapChartLibrary();
        return endpoints;
    }

    /// <summary>
    /// Whether this request may sign in with the development issuer: the host is its own issuer (no
    /// OpenID Connect authority) and the browser is on this machine.
    /// </summary>
    public static bool MaySignInLocally(HttpContext context, AuthOptions auth) =>
        string.IsNullOrWhiteSpace(auth.Authority) && context.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote);

    private static async Task<IResult> SignIn(HttpContext context, IOptions<AuthOptions> auth, DevelopmentIssuer issuer, KnownModules known)
    {
        if (!MaySignInLocally(context, auth.Value))
        {
            return Results.Problem(
                "Signing in with the development issuer works only from this machine and only when Journey:Auth:Authority is unset.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var name = form["name"].ToString().Trim();
        var scopes = form["scope"].Select(s => s ?? "").Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var unknown = scopes.Where(s => !known.Scopes.Contains(s)).ToList();
        if (name.Length is 0 or > 64 || unknown.Count > 0 || scopes.Count == 0)
        {
            return Results.Problem(
                unknown.Count > 0 ? $"Unknown scopes: {string.Join(", ", unknown)}." : "Give a name of 1 to 64 characters and choose at least one scope.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        context.Response.Cookies.Append(ConsoleApi.TokenCookie, issuer.CreateToken(name, scopes, SignInLifetime), CookieOptions(context, SignInLifetime, SameSiteMode.Strict));
        return Results.Redirect(LocalReturn(form["return"].ToString()));
    }

    /// <summary>
    /// Creates the segment the form describes with the signed-in person's own token, then returns to
    /// the segments page: at the new segment, or with the draft and what to fix (kept for one minute in
    /// a cookie only that page reads, so no link can put words on the page).
    /// </summary>
    private static async Task<IResult> DefineSegment(HttpContext context, ConsoleApi api)
    {
        if (!api.SignedIn)
        {
            return Results.Redirect("/console/sign-in?return=%2Fconsole%2Fsegments");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var (request, problem) = SegmentForm.Read(SegmentForm.Of(form));
        if (request is not null)
        {
            try
            {
                await api.Profiles.CreateSegmentAsync(request, api.Call(context.RequestAborted));
                return Results.Redirect($"/console/segments?created={Uri.EscapeDataString(request.SegmentId)}#segment-{Uri.EscapeDataString(request.SegmentId)}");
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                return Results.Redirect("/console/sign-in?return=%2Fconsole%2Fsegments&expired=1");
            }
            catch (RpcException ex)
            {
                problem = ex.StatusCode == StatusCode.PermissionDenied ? $"Your sign-in may not define segments: {ex.Status.Detail}" : ex.Status.Detail;
            }
        }

        // A cookie holds about 4 KB; the service's answers are a sentence or two.
        problem = problem!.Length > 1_000 ? problem[..1_000] + "…" : problem;
        context.Response.Cookies.Append(SegmentProblemCookie, problem, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/console/segments",
            MaxAge = TimeSpan.FromMinutes(1),
        });
        var draft = SegmentForm.Inputs
            .Where(name => form[name].ToString().Length > 0)
            .Select(name => $"{name}={Uri.EscapeDataString(form[name].ToString())}");
        return Results.Redirect($"/console/segments?draft=1&{string.Join('&', draft)}#define");
    }

    /// <summary>The cookie carrying why a segment could not be defined back to the segments page.</summary>
    public const string SegmentProblemCookie = "journey_console_segment_problem";

    private static IResult SignOut(HttpContext context)
    {
        context.Response.Cookies.Delete(ConsoleApi.TokenCookie, CookieOptions(context, TimeSpan.Zero, SameSiteMode.Strict));
        return Results.Redirect("/console/sign-in");
    }

    /// <summary>The console's sign-in cookie: HttpOnly, for <c>/console</c> only, secure over https.</summary>
    internal static CookieOptions CookieOptions(HttpContext context, TimeSpan lifetime, SameSiteMode sameSite) => new()
    {
        HttpOnly = true,
        SameSite = sameSite,
        Secure = context.Request.IsHttps,
        Path = "/console",
        MaxAge = lifetime,
    };

    /// <summary>Only a console page may be the place to return to, never another site.</summary>
    internal static string LocalReturn(string? target) =>
        target is { Length: > 0 } t && (t == "/console" || t.StartsWith("/console/", StringComparison.Ordinal) || t.StartsWith("/console?", StringComparison.Ordinal)) && !t.Contains("//", StringComparison.Ordinal) && !t.Contains('\\', StringComparison.Ordinal)
            ? t
            : "/console";

    [LoggerMessage(EventId = 1, EventName = "ConsoleListening", Level = LogLevel.Information, Message = "Console: {Address}")]
    private static partial void LogConsole(ILogger logger, string address);
}
