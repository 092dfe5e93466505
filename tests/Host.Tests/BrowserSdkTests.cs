using Journey.Common.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// Segment's browser SDK (<c>@segment/analytics-next</c>, from tests/tooling's lock file) in headless
/// Chromium, on a page of another origin than the host: it reads its settings from the host, sends
/// <c>text/plain</c> bodies across origins, and every message lands as the right interaction and
/// identity; a page of an origin its source does not allow gets nothing stored. Skipped, with the
/// reason, where no Chromium is installed.
/// </summary>
public sealed class BrowserSdkTests
{
    private static readonly string Sdk = Path.Combine(Repository.Root, "tests", "tooling", "node_modules", "@segment", "analytics-next", "dist", "umd");
    private static readonly string Page = Path.Combine(Repository.Root, "tests", "Host.Tests", "Browser", "shop.html");

    [SkippableFact]
    public async Task BrowserSdk_OnAnAllowedOrigin_LandsAsInteractionsAndOneIdentity()
    {
        HeadlessChromium.Require();
        var log = new HttpExchangeLog();
        await using var platform = await StartAsync(log);
        await using var site = await ShopAsync();
        var key = await CreateSourceAsync(platform, [site.Origin]);
        var prefix = $"browser-{Guid.NewGuid():N}"[..20];

        var visit = await HeadlessChromium.VisitAsync(PageUrl(site, platform, key, prefix, "host"));

        Assert.True(visit.Result.GetProperty("ok").GetBoolean(), visit.ToString());
        Assert.Empty(visit.Errors);
        Assert.All(visit.Requests, r => Assert.True(r.IsLoopback, $"the page reached off the machine: {r}"));
        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        var anonymous = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"{prefix}-anon" };
        List<Touchpoint.V1.Interaction> interactions = [];
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
        {
            interactions = [.. (await touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(anonymous), PageSize = 100 })).Interactions.Select(i => i.Interaction)];
            return interactions.Count >= 2;
        }, TimeSpan.FromSeconds(30)), visit.ToString());
        Assert.Equal(
            [("touchpoints/dealer", InteractionType.Purchase), ("touchpoints/model-pages", InteractionType.View)],
            interactions.Select(i => (i.Touchpoint, i.Type)).Order());
        var purchase = interactions.Single(i => i.Type == InteractionType.Purchase);
        Assert.Equal(("EUR", 129L), (purchase.Value.CurrencyCode, purchase.Value.Units));
        Assert.Contains(purchase.Identifiers, i => i.Kind == IdentifierKind.CustomerId && i.Value == $"{prefix}-user");

        var profiles = new ProfileService.ProfileServiceClient(platform.Channel);
        var profile = await SdkIdentity.LinkedProfileAsync(profiles, prefix);
        Assert.Equal("Ann", profile.Traits["first_name"]);

        // The host's side of it: the settings read and every message came from the page's origin and
        // were answered with it; the messages went as text/plain, each after a preflight the host
        // allowed (the SDK sends its key as Basic auth, which a browser preflights).
        var exchanges = Tracking(log);
        var settings = Assert.Single(exchanges, e => e.Method == "GET" && e.Path == $"/v1/projects/{key}/settings");
        Assert.Equal((200, site.Origin, site.Origin), (settings.Status, settings.Origin, settings.AllowOrigin));
        var sends = exchanges.Where(e => e.Method == "POST").ToList();
        Assert.Equal(["/v1/a", "/v1/i", "/v1/p", "/v1/t"], sends.Select(e => e.Path).Order());
        Assert.All(sends, e => Assert.Equal(("text/plain", site.Origin, 200, site.Origin), (e.ContentType, e.Origin, e.Status, e.AllowOrigin)));
        var preflights = exchanges.Where(e => e.Method == "OPTIONS").ToList();
        Assert.NotEmpty(preflights);
        Assert.All(preflights, e =>
        {
            Assert.Equal((204, site.Origin), (e.Status, e.AllowOrigin));
            Assert.Contains("authorization", e.RequestedHeaders, StringComparison.OrdinalIgnoreCase);
        });
        Assert.All(visit.Requests.Where(r => r.Method == "POST"), r => Assert.Equal(("text/plain", 200), (r.ContentType, r.Status)));
    }

    [SkippableFact]
    public async Task BrowserSdk_OnAnOriginTheSourceDoesNotAllow_StoresNothing()
    {
        HeadlessChromium.Require();
        var log = new HttpExchangeLog();
        await using var platform = await StartAsync(log);
        await using var allowed = await ShopAsync();
        await using var foreign = await ShopAsync();
        var key = await CreateSourceAsync(platform, [allowed.Origin]);
        var prefix = $"foreign-{Guid.NewGuid():N}"[..20];

        // The settings read is refused, so a page using cdnURL never sends; this page carries the
        // settings itself, so its messages do reach the host, which must refuse them all.
        var settingsVisit = await HeadlessChromium.VisitAsync(PageUrl(foreign, platform, key, prefix, "host"));
        var visit = await HeadlessChromium.VisitAsync(PageUrl(foreign, platform, key, prefix, "inline"));

        Assert.False(settingsVisit.Result.GetProperty("ok").GetBoolean(), settingsVisit.ToString());
        Assert.Contains(log.Exchanges, e => e.Method == "GET" && e.Path.EndsWith("/settings", StringComparison.Ordinal) && e.Status == 403 && e.AllowOrigin == "");
        Assert.True(await TestPlatform.EventuallyAsync(
            () => Task.FromResult(Tracking(log).Where(e => e.Method == "POST").Select(e => e.Path).Distinct().Count() == 4),
            TimeSpan.FromSeconds(30)), visit.ToString());
        Assert.All(Tracking(log).Where(e => e.Method == "POST"), e => Assert.Equal((foreign.Origin, 403, ""), (e.Origin, e.Status, e.AllowOrigin)));

        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        var interactions = await touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"{prefix}-anon" }) });
        Assert.Empty(interactions.Interactions);
        var sources = new TrackingSourceService.TrackingSourceServiceClient(platform.Channel);
        Assert.Empty((await sources.ListTrackingIssuesAsync(new ListTrackingIssuesRequest { Parent = "sources/web" })).Issues);
        var profiles = new ProfileService.ProfileServiceClient(platform.Channel);
        Assert.Null(await SdkIdentity.LookupAsync(profiles, new Identifier { Kind = IdentifierKind.CustomerId, Value = $"{prefix}-user" }));
    }

    [SkippableFact]
    public async Task BrowserSdk_WhenRateLimited_RetriesGetThrough()
    {
        HeadlessChromium.Require();
        var log = new HttpExchangeLog();
        await using var platform = await StartAsync(log);
        await using var site = await ShopAsync();
        var key = await CreateSourceAsync(platform, [site.Origin], requestsPerSecond: 1);
        var prefix = $"limited-{Guid.NewGuid():N}"[..20];

        // Eight messages at once against one request a second: most are answered 429 and sent again
        // by the SDK, with a retry header of its own that the browser preflights.
        await using var page = HeadlessChromium.Open(PageUrl(site, platform, key, prefix, "host", events: 4));
        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        var anonymous = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"{prefix}-anon" };
        var stored = 0;
        var landed = await TestPlatform.EventuallyAsync(async () =>
        {
            stored = (await touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(anonymous), PageSize = 100 })).Interactions.Count;
            return stored == 6;
        }, TimeSpan.FromSeconds(45));
        var visit = await page.CloseAsync();

        Assert.True(landed, $"{stored} of 6 interactions stored; host saw:\n  {string.Join("\n  ", Tracking(log))}\n{visit}");
        Assert.Contains(Tracking(log), e => e.Method == "POST" && e.Status == 429 && e.AllowOrigin == site.Origin);
        Assert.Contains(Tracking(log), e => e.Method == "OPTIONS" && e.RequestedHeaders.Contains("x-retry-count", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The tracking API's exchanges, without the test's own gRPC calls.</summary>
    private static List<HttpExchange> Tracking(HttpExchangeLog log) => [.. log.Exchanges.Where(e => e.Path.StartsWith("/v1/", StringComparison.Ordinal))];

    private static Task<TestPlatform> StartAsync(HttpExchangeLog log) => TestPlatform.StartAsync(
        [TouchpointModule.Definition, ProfileModule.Definition],
        new Dictionary<string, string?> { ["Journey:Hosting:HttpPort"] = "0" },
        log.AddTo);

    private static Task<StaticSite> ShopAsync() =>
        StaticSite.StartAsync(new Dictionary<string, string> { ["/sdk"] = Sdk }, new Dictionary<string, string> { ["/models/ev-1"] = Page });

    private static string PageUrl(StaticSite site, TestPlatform platform, string key, string prefix, string settings, int events = 0) =>
        $"{site.Origin}/models/ev-1?host={Uri.EscapeDataString(platform.HttpAddress!)}&writeKey={key}&prefix={prefix}&settings={settings}&events={events}";

    /// <summary>A source allowing <paramref name="origins"/> whose plan maps the page's messages; returns a write key.</summary>
    private static async Task<string> CreateSourceAsync(TestPlatform platform, IReadOnlyList<string> origins, int requestsPerSecond = 0)
    {
        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        foreach (var (id, stage) in new[] { ("dealer", JourneyStage.Purchase), ("model-pages", JourneyStage.Consideration), ("shop", JourneyStage.Evaluation) })
        {
            await touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
            {
                TouchpointId = id,
                Touchpoint = new Touchpoint.V1.Touchpoint { DisplayName = id, Channel = Channel.Web, Ownership = Ownership.Owned, Criticality = 3, Stages = { stage }, IntendedExperience = new IntendedExperience { TargetRating = 4 } },
            });
        }

        var sources = new TrackingSourceService.TrackingSourceServiceClient(platform.Channel);
        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "web",
            Source = new Source
            {
                DisplayName = "Web shop",
                AllowedOrigins = { origins },
                RequestsPerSecond = requestsPerSecond,
                TrackingPlan = new TrackingPlan
                {
                    Events =
                    {
                        new EventRule { Event = "Order Completed", Touchpoint = "touchpoints/dealer", Type = InteractionType.Purchase, RequiredProperties = { "order_id" } },
                        new EventRule { Event = "Product Added", Touchpoint = "touchpoints/shop", Type = InteractionType.CartAdd },
                    },
                    Pages = { new PageRule { PathPattern = "/models/*", Touchpoint = "touchpoints/model-pages", Type = InteractionType.View } },
                },
            },
        });
        return (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
    }
}
