using System.Net;
using System.Text.RegularExpressions;
using Grpc.Core;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Journey.WebConsole;

namespace Journey.Host.Tests;

/// <summary>
/// A host whose tokens come from an OpenID Connect issuer (panva's oidc-provider on loopback, at
/// <c>localhost</c> so that it is another site than the console at 127.0.0.1), with the console
/// registered there as a public client. The issuer grants every person one scope: reading touchpoints.
/// </summary>
public sealed class IssuerHostFixture : IAsyncLifetime, IDisposable
{
    public const string ClientId = "journey-console";
    public const string Audience = "urn:journey";

    private readonly ScratchDirectory _scratch = new("journey-issuer-");

    public HostProcess Host { get; private set; } = default!;

    public OidcIssuer Issuer { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var (port, address) = OidcIssuer.Reserve("localhost");
        Host = HostProcess.Start(
            _scratch.Path,
            $"--Journey:Auth:Authority={address}",
            $"--Journey:Auth:Audience={Audience}",
            $"--Journey:Console:ClientId={ClientId}");
        await Host.WaitUntilListeningAsync();
        Issuer = await OidcIssuer.StartAsync(port, "localhost", ClientId, Host.HttpAddress + IssuerSignIn.CallbackPath, Audience, [TouchpointScopes.Read]);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Issuer.DisposeAsync();
        _scratch.Dispose();
    }

    public void Dispose() => _scratch.Dispose();
}

/// <summary>
/// Signing in to the console through an OpenID Connect issuer: authorization code with PKCE, the
/// issuer's access token kept in the console's cookie and accepted by the services, whose scopes then
/// decide what each view shows.
/// </summary>
public sealed partial class IssuerSignInTests(IssuerHostFixture fixture) : IClassFixture<IssuerHostFixture>
{
    private HostProcess Host => fixture.Host;

    [Fact]
    public async Task SignIn_ThroughTheIssuer_UsesPkceAndKeepsTheIssuersTokenWhichTheServicesAccept()
    {
        using var browser = Browser();
        var signInPage = await browser.GetStringAsync("/console/sign-in?return=%2Fconsole%2Ftouchpoints");
        Assert.Contains($"href=\"{IssuerSignIn.StartPath}?return=%2Fconsole%2Ftouchpoints\"", signInPage, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/console/session\"", signInPage, StringComparison.Ordinal);

        var toIssuer = await browser.GetAsync($"{IssuerSignIn.StartPath}?return=%2Fconsole%2Ftouchpoints");
        Assert.Equal(HttpStatusCode.Redirect, toIssuer.StatusCode);
        var authorize = toIssuer.Headers.Location!;
        Assert.StartsWith(fixture.Issuer.Address + "/auth?", authorize.AbsoluteUri, StringComparison.Ordinal);
        // The handler pushes the request to the issuer first (RFC 9126, since the issuer offers it),
        // so the browser carries only a reference to it. The issuer refuses any authorization request
        // without an S256 code challenge, so completing the sign-in below shows PKCE was used.
        var query = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        Assert.Equal(IssuerHostFixture.ClientId, query["client_id"]);
        Assert.StartsWith("urn:ietf:params:oauth:request_uri:", query["request_uri"], StringComparison.Ordinal);

        var callback = await LogInAtTheIssuerAsync(browser, authorize);
        var signedIn = await browser.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console/touchpoints", signedIn.Headers.Location!.OriginalString);
        var cookie = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ConsoleApi.TokenCookie + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/console", cookie, StringComparison.OrdinalIgnoreCase);

        // The view the person asked for opens with the issuer's token.
        var view = await browser.GetAsync("/console/touchpoints");
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        Assert.DoesNotContain("class=\"problem\"", await view.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A person's data needs a scope the issuer did not grant: the view says so and shows nothing.
        var person = await browser.GetStringAsync("/console/people?kind=email&value=someone%40example.com");
        Assert.Contains("Your sign-in may not see this", person, StringComparison.Ordinal);
        Assert.Contains(ProfileScopes.Read, person, StringComparison.Ordinal);

        // The token is the issuer's, for the platform's audience, and the services accept it directly.
        var token = Regex.Match(cookie, $"^{ConsoleApi.TokenCookie}=([^;]+)").Groups[1].Value;
        var claims = new System.IdentityModel.Tokens.Jwt.JwtSecurityTokenHandler().ReadJwtToken(token);
        Assert.Equal(fixture.Issuer.Address, claims.Issuer);
        Assert.Contains(IssuerHostFixture.Audience, claims.Audiences);
        using var channel = Host.CreateChannel();
        var bearer = new Metadata { { "authorization", $"Bearer {token}" } };
        await new TouchpointService.TouchpointServiceClient(channel).ListTouchpointsAsync(new ListTouchpointsRequest(), bearer);
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ProfileService.ProfileServiceClient(channel).LookupProfileAsync(new LookupProfileRequest { Person = Persons.Profile("profiles/p-1") }, bearer));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Theory]
    [InlineData("?code=made-up&state=made-up")]
    [InlineData("?error=access_denied&state=made-up")]
    [InlineData("")]
    public async Task TheCallback_WithoutASignInThisBrowserStarted_SendsBackToTheSignInPageSayingItFailed(string query)
    {
        using var browser = Browser();

        var response = await browser.GetAsync(IssuerSignIn.CallbackPath + query);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/sign-in?failed=1", response.Headers.Location!.OriginalString);
        Assert.False(response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(ConsoleApi.TokenCookie + "=", StringComparison.Ordinal)));
        var page = await browser.GetStringAsync("/console/sign-in?failed=1");
        Assert.Contains("did not complete", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCallback_WithAnotherBrowsersCode_IsRefused()
    {
        // One browser starts and completes the issuer's part; another presents the code it got.
        using var first = Browser();
        var authorize = (await first.GetAsync($"{IssuerSignIn.StartPath}?return=%2Fconsole")).Headers.Location!;
        var callback = await LogInAtTheIssuerAsync(first, authorize);
        using var second = Browser();

        var response = await second.GetAsync(callback.PathAndQuery);

        Assert.Equal("/console/sign-in?failed=1", response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await second.GetAsync("/console")).StatusCode);
    }

    [Fact]
    public async Task TheDevelopmentSignIn_IsRefusedWithAnIssuer()
    {
        using var browser = Browser();

        var response = await browser.PostAsync("/console/session", new FormUrlEncodedContent([new("name", "x"), new("scope", TouchpointScopes.Read)]));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task SignIn_WhenTheIssuerCannotBeReached_SaysSoOnTheSignInPage()
    {
        // An issuer address where nothing listens.
        var (_, nowhere) = OidcIssuer.Reserve();
        using var scratch = new ScratchDirectory("journey-issuer-down-");
        await using var host = HostProcess.Start(scratch.Path, $"--Journey:Auth:Authority={nowhere}", $"--Journey:Console:ClientId={IssuerHostFixture.ClientId}");
        await host.WaitUntilListeningAsync();
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(host.HttpAddress) };

        var response = await browser.GetAsync($"{IssuerSignIn.StartPath}?return=%2Fconsole%2Fpaths");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/sign-in?unreachable=1&return=%2Fconsole%2Fpaths", response.Headers.Location!.OriginalString);
        var page = await browser.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("could not be reached", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task InABrowser_APersonSignsInThroughTheIssuerOnAnotherSiteAndLandsOnTheViewTheyOpened()
    {
        HeadlessChromium.Require();

        var visit = await HeadlessChromium.VisitAsync(
            $"{Host.HttpAddress}/console/touchpoints", TimeSpan.FromSeconds(60), Path.Combine(Repository.Root, "tests", "Host.Tests", "Browser", "issuer-sign-in.cjs"));

        Assert.Empty(visit.Errors);
        var result = visit.Result;
        Assert.StartsWith(fixture.Issuer.Address + "/interaction/", result.GetProperty("login").GetString(), StringComparison.Ordinal);
        Assert.Equal($"{Host.HttpAddress}/console/touchpoints", result.GetProperty("landed").GetString());
        Assert.Equal(0, result.GetProperty("problems").GetArrayLength());
        Assert.Equal("Lax", result.GetProperty("sameSite").GetString());
    }

    /// <summary>
    /// Follows the issuer's redirects from <paramref name="authorize"/>, logs in on its page, and returns
    /// the address on this host the issuer sends the browser back to (not followed).
    /// </summary>
    private async Task<Uri> LogInAtTheIssuerAsync(HttpClient browser, Uri authorize)
    {
        var next = authorize;
        for (var hop = 0; hop < 10; hop++)
        {
            if (next.AbsoluteUri.StartsWith(Host.HttpAddress, StringComparison.Ordinal))
            {
                return next;
            }

            var response = await browser.GetAsync(next);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var form = await response.Content.ReadAsStringAsync();
                var action = Regex.Match(form, "<form[^>]*action=\"([^\"]+)\"").Groups[1].Value;
                Assert.True(action.Length > 0, $"the issuer's page has no form: {form}");
                var fields = Regex.Matches(form, "<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")
                    .Select(m => new KeyValuePair<string, string>(m.Groups[1].Value, m.Groups[2].Value))
                    .Concat([new("login", "cx-lead"), new("password", "any")]);
                response = await browser.PostAsync(new Uri(next, action), new FormUrlEncodedContent(fields));
            }

            Assert.True((int)response.StatusCode is >= 300 and < 400, $"the issuer answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            next = new Uri(next, response.Headers.Location!);
        }

        throw new InvalidOperationException("the issuer never sent the browser back");
    }

    private HttpClient Browser()
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        return new HttpClient(handler) { BaseAddress = new Uri(Host.HttpAddress) };
    }
}
