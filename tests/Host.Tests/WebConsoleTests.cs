using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation;
using Journey.Recommendation.V1;
using Journey.Shared.Security;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Journey.WebConsole;
using Journey.WebConsole.Components;
using Microsoft.AspNetCore.Http;

namespace Journey.Host.Tests;

/// <summary>A host with the demo journey loaded, started the way the README starts it, for the console's tests.</summary>
public sealed class DemoHostFixture : IAsyncLifetime, IDisposable
{
    private readonly ScratchDirectory _scratch = new("journey-console-");

    public HostProcess Host { get; private set; } = default!;

    public string Data => _scratch.Path;

    public async Task InitializeAsync()
    {
        Host = HostProcess.Start(Data, "--Journey:Demo:Enabled=true", "--Journey:Demo:People=120");
        await Host.WaitUntilListeningAsync();
        Assert.True(
            await TestPlatform.EventuallyAsync(() => Task.FromResult(Host.Output.Contains(DemoData.LoadedMessage, StringComparison.Ordinal)), TimeSpan.FromSeconds(90)),
            $"the demo was not loaded:\n{Host.Output}");
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _scratch.Dispose();
    }

    public void Dispose() => _scratch.Dispose();
}

/// <summary>
/// The console as a person meets it: over HTTP/1.1 on the host's HTTP listener, signing in with the
/// development issuer, and reading on each view the same figures the public gRPC API answers.
/// </summary>
public sealed partial class WebConsoleTests(DemoHostFixture fixture) : IClassFixture<DemoHostFixture>
{
    private HostProcess Host => fixture.Host;

    [Fact]
    public async Task Start_LogsTheConsoleAddressOnTheHttpListener()
    {
        Assert.Contains($"Console: {Host.HttpAddress}/console", Host.Output, StringComparison.Ordinal);
        using var http = Browser();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/console/sign-in")).StatusCode);
    }

    [Fact]
    public async Task AView_WithoutASignIn_SendsToTheSignInPageAndBack()
    {
        using var http = Browser();

        var response = await http.GetAsync("/console/touchpoints?days=7");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/console/sign-in?return=%2Fconsole%2Ftouchpoints%3Fdays%3D7", new Uri(http.BaseAddress!, response.Headers.Location!).PathAndQuery);
        var signedIn = await SignInAsync(http, [TouchpointScopes.Read], "/console/touchpoints?days=7");
        Assert.Equal("/console/touchpoints?days=7", signedIn.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/console/touchpoints?days=7")).StatusCode);
    }

    [Fact]
    public async Task Overview_ShowsTheFunnelAndTouchpointsBeforePurchaseTheApiAnswers()
    {
        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.Read, ProfileScopes.Read]);

        var page = await http.GetStringAsync("/console?days=90");

        var period = PeriodChoice.Of(90, DateTimeOffset.UtcNow);
        var touchpoints = new TouchpointService.TouchpointServiceClient(ApiChannel());
        var funnel = await touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = period.ToPeriod() });
        Assert.True(funnel.Stages.Sum(s => s.People) > 0, "the demo put nobody in the funnel");
        foreach (var stage in funnel.Stages)
        {
            var row = Row(page, "data-stage", Labels.Of(stage.Stage));
            Assert.Equal(stage.People, Number(row, "people"));
            if (stage.Stage != JourneyStage.Loyalty)
            {
                Assert.Equal(stage.ConvertedToNext, Number(row, "converted"));
                Assert.Equal(stage.ConversionToNext * 100, Number(row, "conversion-percent"), 9);
            }
        }

        var current = Row(page, "data-period", "current");
        Assert.Equal(funnel.TouchpointsBeforePurchase.Purchases, Number(current, "purchases"));
        Assert.Equal(funnel.TouchpointsBeforePurchase.Median, Number(current, "median"), 9);
        Assert.Equal(funnel.TouchpointsBeforePurchase.P90, Number(current, "p90"), 9);
        var previous = await touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = period.Previous.ToPeriod() });
        Assert.Equal(previous.TouchpointsBeforePurchase.Purchases, Number(Row(page, "data-period", "previous"), "purchases"));

        // The charts draw the same figures: people per stage, and purchases by touchpoints passed (1, 2, ... the most).
        var charts = Charts(page);
        Assert.Equal(2, charts.Count);
        Assert.Equal(funnel.Stages.Select(s => s.People), charts[0].GetProperty("series")[0].GetProperty("data").EnumerateArray().Select(v => v.GetInt64()));
        var most = funnel.TouchpointsBeforePurchase.Distribution.Concat(previous.TouchpointsBeforePurchase.Distribution).Max(d => d.Touchpoints);
        Assert.Equal(
            Enumerable.Range(1, (int)most).Select(n => funnel.TouchpointsBeforePurchase.Distribution.FirstOrDefault(d => d.Touchpoints == n)?.Purchases ?? 0),
            charts[1].GetProperty("series")[0].GetProperty("data").EnumerateArray().Select(v => v.GetInt64()));
        Assert.Equal(funnel.TouchpointsBeforePurchase.Purchases, funnel.TouchpointsBeforePurchase.Distribution.Sum(d => d.Purchases));

        var everyone = await new ProfileService.ProfileServiceClient(ApiChannel()).DescribeAudienceAsync(new DescribeAudienceRequest { Everyone = true });
        Assert.Equal([CustomerType.Known, CustomerType.Anonymous], everyone.CustomerTypes.Select(t => t.CustomerType));
        Assert.Equal(everyone.CustomerTypes[0].Members, Number(Row(page, "data-customer-type", "known"), "customers"));
        Assert.Equal(everyone.CustomerTypes[1].Members, Number(Row(page, "data-customer-type", "anonymous"), "customers"));
        Assert.Equal(everyone.Size, Number(Row(page, "data-customer-type", "all"), "customers"));

        // Without profiles:read the funnel still shows, and the people section names the scope it lacks.
        var (status, text) = await PageAsync("/console", TouchpointScopes.Read);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("profiles:read", text, StringComparison.Ordinal);
        Assert.DoesNotContain("data-customer-type=", text, StringComparison.Ordinal);
        Assert.Contains("data-stage=", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TouchpointPriorities_RankTheGapsAsTheApiAndOpenEachScorecard()
    {
        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.Read]);

        var page = await http.GetStringAsync("/console/touchpoints");

        var touchpoints = new TouchpointService.TouchpointServiceClient(ApiChannel());
        var gaps = await touchpoints.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = PeriodChoice.Of(null, DateTimeOffset.UtcNow).ToPeriod(), PageSize = 50 });
        Assert.NotEmpty(gaps.Gaps);
        Assert.Equal(gaps.Gaps.Select(g => Labels.Id(g.Touchpoint)), TouchpointRowPattern().Matches(page).Select(m => m.Groups[1].Value));
        foreach (var gap in gaps.Gaps)
        {
            Assert.Equal(gap.Priority, Number(Row(page, "data-touchpoint", Labels.Id(gap.Touchpoint)), "priority"), 9);
        }

        // A click on the first opens its scorecard.
        var first = gaps.Gaps[0];
        var scorecard = (await touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = first.Touchpoint, Period = PeriodChoice.Of(30, DateTimeOffset.UtcNow).ToPeriod() })).Scorecard;
        var detail = await http.GetStringAsync($"/console/touchpoints/{Labels.Id(first.Touchpoint)}?days=30");
        Assert.Contains($"<h1>{WebUtility.HtmlEncode(first.DisplayName)}</h1>", detail, StringComparison.Ordinal);
        Assert.Equal(scorecard.Interactions, Number(detail, "interactions"));
        Assert.Equal(scorecard.UniquePeople, Number(detail, "people"));
        Assert.Equal(scorecard.Purchasers, Number(detail, "purchasers"));

        var missing = await http.GetAsync("/console/touchpoints/no-such-touchpoint");
        Assert.Equal(HttpStatusCode.OK, missing.StatusCode);
        Assert.Contains("touchpoints/no-such-touchpoint", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var catalog = await touchpoints.ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = 500 });
        var web = Row(page, "data-channel", "Web");
        Assert.Equal(catalog.Touchpoints.Count(t => t.Channel == Journey.Common.V1.Channel.Web && t.Stages.Contains(JourneyStage.Awareness)), Number(web, "Awareness"));
    }

    [Theory]
    [InlineData("purchase", PathEnd.Purchase)]
    [InlineData("drop-off", PathEnd.DropOff)]
    public async Task Paths_DrawAndListTheLinksAndPathsTheApiAnswers(string end, PathEnd pathEnd)
    {
        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.Read]);

        var page = await http.GetStringAsync($"/console/paths?days=365&end={end}&steps=3");

        var touchpoints = new TouchpointService.TouchpointServiceClient(ApiChannel());
        var paths = await touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest { Period = PeriodChoice.Of(365, DateTimeOffset.UtcNow).ToPeriod(), End = pathEnd, MaxSteps = 3, PathLimit = 15, LinkLimit = 40 });
        Assert.True(paths.People > 0, $"the demo gave no path to {end}");
        Assert.Equal(paths.People, Number(page[page.IndexOf("data-figure=\"people\"", StringComparison.Ordinal)..], "people"));
        foreach (var link in paths.Links)
        {
            var key = $"{link.StepsBeforeEnd}:{Labels.Id(link.FromTouchpoint)}:{(link.ToTouchpoint.Length == 0 ? "" : Labels.Id(link.ToTouchpoint))}";
            Assert.Equal(link.People, Number(Row(page, "data-link", key), "people"));
        }

        foreach (var path in paths.Paths)
        {
            var row = Row(page, "data-path", (path.EarlierSteps ? "*," : "") + string.Join(",", path.Steps.Select(s => Labels.Id(s.Touchpoint))));
            Assert.Equal(path.People, Number(row, "people"));
        }

        // The chart draws one band per link, each carrying its link's people.
        Assert.Equal(paths.Links.Select(l => l.People).Order(), SankeyValues(page).Order());
    }

    [Fact]
    public async Task Paths_AnchoredAtAnEndTouchpointAndAStart_ShowWhatTheApiAnswers()
    {
        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.Read]);
        var touchpoints = new TouchpointService.TouchpointServiceClient(ApiChannel());
        var period = PeriodChoice.Of(365, DateTimeOffset.UtcNow).ToPeriod();
        var toBooking = await touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest
        {
            Period = period,
            End = PathEnd.Touchpoint,
            EndTouchpoint = "touchpoints/test-drive-booking",
            MaxSteps = 3,
            PathLimit = 15,
            LinkLimit = 40,
        });
        Assert.True(toBooking.People > 0, "the demo gave nobody who booked a test drive");
        var start = toBooking.Paths.First(p => p.Steps.Count > 0).Steps[0].Touchpoint;
        var fromStart = await touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest
        {
            Period = period,
            End = PathEnd.Touchpoint,
            EndTouchpoint = "touchpoints/test-drive-booking",
            StartTouchpoint = start,
            MaxSteps = 3,
            PathLimit = 15,
            LinkLimit = 40,
        });

        var endPage = await http.GetStringAsync("/console/paths?days=365&end=touchpoint&to=test-drive-booking&steps=3");
        var startPage = await http.GetStringAsync($"/console/paths?days=365&end=touchpoint&to=test-drive-booking&from={Labels.Id(start)}&steps=3");

        Assert.Equal(toBooking.People, Number(endPage[endPage.IndexOf("data-figure=\"people\"", StringComparison.Ordinal)..], "people"));
        foreach (var path in toBooking.Paths)
        {
            Assert.Equal(path.People, Number(Row(endPage, "data-path", (path.EarlierSteps ? "*," : "") + string.Join(",", path.Steps.Select(s => Labels.Id(s.Touchpoint)))), "people"));
        }

        Assert.True(fromStart.PeopleThroughStart > 0);
        Assert.Equal(fromStart.PeopleThroughStart, Number(startPage[startPage.IndexOf("data-figure=\"through-start\"", StringComparison.Ordinal)..], "through-start"));
        foreach (var link in fromStart.Links)
        {
            var key = $"after-{link.StepsAfterStart}:{Labels.Id(link.FromTouchpoint)}:{(link.ToTouchpoint.Length == 0 ? "" : Labels.Id(link.ToTouchpoint))}";
            Assert.Equal(link.People, Number(Row(startPage, "data-link", key), "people"));
        }

        foreach (var path in fromStart.Paths)
        {
            Assert.Equal(path.People, Number(Row(startPage, "data-path", string.Join(",", path.Steps.Select(s => Labels.Id(s.Touchpoint))) + (path.LaterSteps ? ",*" : "")), "people"));
        }

        Assert.Equal(fromStart.Links.Select(l => l.People).Order(), SankeyValues(startPage).Order());
    }

    [Fact]
    public async Task Touchpoints_CatalogList_FindsSortsAndLinksAsTheApiHoldsIt()
    {
        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.Read]);
        var catalog = (await new TouchpointService.TouchpointServiceClient(ApiChannel()).ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = 500 })).Touchpoints;

        var byName = await http.GetStringAsync("/console/touchpoints?days=30&sort=name");
        var found = await http.GetStringAsync("/console/touchpoints?days=30&q=DEALER");

        var expected = catalog.OrderBy(t => t.DisplayName, StringComparer.OrdinalIgnoreCase).Select(t => Labels.Id(t.Name)).ToList();
        Assert.Equal(expected, CatalogRowPattern().Matches(byName).Select(m => m.Groups[1].Value));
        Assert.Contains("aria-sort=\"ascending\"><a href=\"/console/touchpoints?days=30&amp;sort=name&amp;page=1#catalog\">Touchpoint</a>", byName, StringComparison.Ordinal);
        var dealers = catalog.Where(t => t.DisplayName.Contains("dealer", StringComparison.OrdinalIgnoreCase) || t.Name.Contains("dealer", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(dealers);
        Assert.Equal(dealers.Select(t => Labels.Id(t.Name)).Order(), CatalogRowPattern().Matches(found).Select(m => m.Groups[1].Value).Order());
        var first = dealers[0];
        Assert.Equal(first.Criticality, Number(Row(found, "data-catalog", Labels.Id(first.Name)), "criticality"));
    }

    [Fact]
    public void CatalogView_PagesFiftyAtATimeInTheChosenOrder()
    {
        var catalog = Enumerable.Range(1, 120)
            .Select(i => new Journey.Touchpoint.V1.Touchpoint { Name = $"touchpoints/tp-{i:000}", DisplayName = $"Touchpoint {i:000}", Criticality = i % 5 + 1 })
            .ToList();

        var second = CatalogView.Of(catalog, null, "name", 2);
        var last = CatalogView.Of(catalog, "", "criticality", 99);
        var found = CatalogView.Of(catalog, "point 11", "bogus", null);

        Assert.Equal((120, 2, 3, "name"), (second.Matches, second.Page, second.Pages, second.Sort));
        Assert.Equal("Touchpoint 051", second.Rows[0].DisplayName);
        Assert.Equal(50, second.Rows.Count);
        // A page past the end is the last; criticality 1 comes last, ties by name.
        Assert.Equal((3, 20, "Touchpoint 120"), (last.Page, last.Rows.Count, last.Rows[^1].DisplayName));
        Assert.All(last.Rows, t => Assert.Equal(1, t.Criticality));
        // "point 11" matches names 110 to 119, not 011; an unknown order is the default.
        Assert.Equal((10, "criticality"), (found.Matches, found.Sort));
    }

    [Fact]
    public void SankeyChart_PutsEachNodeInTheColumnOfItsStepsBeforeTheEndWithThePeopleThroughIt()
    {
        var links = new[]
        {
            Link(1, "dealer", "", 60), Link(1, "web", "", 20), Link(2, "web", "dealer", 45), Link(2, "review", "dealer", 15),
            Link(2, "ad", "web", 20), Link(3, "ad", "web", 30), Link(3, "review", "web", 15),
        };

        var chart = SankeyChart.Of(links);

        // Columns left to right: three steps out (ad, review), two (web, review, ad), one (dealer, web) and the end;
        // review two steps out: 15 leave for the dealer, 15 arrive from three steps out; ad two steps out: 20 leave, none arrive;
        // the dealer one step out: 45 + 15 arrive, 60 leave; the end: 80 arrive.
        Assert.Equal(
            [(0, "touchpoints/ad", 30L), (0, "touchpoints/review", 15), (1, "touchpoints/web", 45), (1, "touchpoints/ad", 20), (1, "touchpoints/review", 15), (2, "touchpoints/dealer", 60), (2, "touchpoints/web", 20), (3, "", 80)],
            chart.Nodes.Select(n => (n.Column, n.Touchpoint, n.People)));
        // Every link joins a node to one in the next column, busiest first.
        var column = chart.Nodes.ToDictionary(n => n.Key, n => n.Column);
        Assert.All(chart.Links, l => Assert.Equal(column[l.Source] + 1, column[l.Target]));
        Assert.Equal(links.Select(l => l.People).OrderDescending(), chart.Links.Select(l => l.Link.People));
        Assert.Empty(SankeyChart.Of([]).Links);
    }

    [Fact]
    public void SankeyChart_FromAStart_PutsTheStartLeftAndEachEndWherePathsEnd()
    {
        // From the review: 30 go to the dealer and buy there; 10 go to the web, then the dealer, then buy.
        var links = new[]
        {
            After(1, "review", "dealer", 30), After(1, "review", "web", 10), After(2, "dealer", "", 30), After(2, "web", "dealer", 10), After(3, "dealer", "", 10),
        };

        var chart = SankeyChart.Of(links);

        Assert.Equal(
            [(0, "touchpoints/review", 40L), (1, "touchpoints/dealer", 30), (1, "touchpoints/web", 10), (2, "", 30), (2, "touchpoints/dealer", 10), (3, "", 10)],
            chart.Nodes.Select(n => (n.Column, n.Touchpoint, n.People)));
        var column = chart.Nodes.ToDictionary(n => n.Key, n => n.Column);
        Assert.All(chart.Links, l => Assert.Equal(column[l.Source] + 1, column[l.Target]));
    }

    [Fact]
    public void SankeyChart_Option_GivesEchartsEachNodesColumnAndLiteralLabels()
    {
        var chart = SankeyChart.Of([Link(2, "ad", "web", 20), Link(1, "web", "", 20)]);

        var option = System.Text.Json.JsonSerializer.SerializeToElement(chart.Option(t => t.Length == 0 ? "Purchase" : t == "touchpoints/ad" ? "Ad {b}" : "Web"), ChartJson.Options);

        var series = option.GetProperty("series")[0];
        Assert.Equal("sankey", series.GetProperty("type").GetString());
        Assert.Equal(
            [("0:touchpoints/ad", 0, "Ad (b)"), ("1:touchpoints/web", 1, "Web"), ("2:", 2, "Purchase")],
            series.GetProperty("data").EnumerateArray().Select(n => (n.GetProperty("name").GetString(), n.GetProperty("depth").GetInt32(), n.GetProperty("label").GetProperty("formatter").GetString())));
        Assert.Equal(
            [("0:touchpoints/ad", "1:touchpoints/web", 20L), ("1:touchpoints/web", "2:", 20L)],
            series.GetProperty("links").EnumerateArray().Select(l => (l.GetProperty("source").GetString(), l.GetProperty("target").GetString(), l.GetProperty("value").GetInt64())));
    }

    private static JourneyPathLink After(int steps, string from, string to, long people) =>
        new() { StepsAfterStart = steps, FromTouchpoint = $"touchpoints/{from}", ToTouchpoint = to.Length == 0 ? "" : $"touchpoints/{to}", People = people };

    private static JourneyPathLink Link(int steps, string from, string to, long people) =>
        new() { StepsBeforeEnd = steps, FromTouchpoint = $"touchpoints/{from}", ToTouchpoint = to.Length == 0 ? "" : $"touchpoints/{to}", People = people };

    [GeneratedRegex("<tr data-catalog=\"([^\"]+)\"")]
    private static partial Regex CatalogRowPattern();

    /// <summary>The options of the page's charts, as ECharts receives them.</summary>
    private static List<System.Text.Json.JsonElement> Charts(string page) =>
        [.. ChartPattern().Matches(page).Select(m => System.Text.Json.JsonDocument.Parse(WebUtility.HtmlDecode(m.Groups[1].Value)).RootElement)];

    /// <summary>The people on each link of the page's Sankey chart.</summary>
    private static List<long> SankeyValues(string page) =>
        [.. Assert.Single(Charts(page)).GetProperty("series")[0].GetProperty("links").EnumerateArray().Select(l => l.GetProperty("value").GetInt64())];

    [GeneratedRegex("data-chart=\"([^\"]+)\"")]
    private static partial Regex ChartPattern();

    [Fact]
    public async Task DataComingIn_ListsEachSourceAndWhatItsPlanDoesNotTake()
    {
        var sources = new TrackingSourceService.TrackingSourceServiceClient(ApiChannel());
        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "console-shop",
            Source = new Source
            {
                DisplayName = "Console shop",
                TrackingPlan = new TrackingPlan { Events = { new EventRule { Event = "Order Completed", Touchpoint = "touchpoints/dealer", Type = InteractionType.Purchase } } },
            },
        });
        var key = (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/console-shop" })).Secret;
        using (var sdk = new HttpClient { BaseAddress = new Uri(Host.HttpAddress) })
        {
            for (var i = 0; i < 3; i++)
            {
                var sent = await sdk.PostAsync("/v1/track", new StringContent(
                    $$"""{"writeKey":"{{key}}","anonymousId":"a-{{i}}","event":"Wishlist Shared","messageId":"console-{{i}}"}""", System.Text.Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
            }
        }

        using var http = Browser();
        await SignInAsync(http, [TouchpointScopes.TrackingAdmin, TouchpointScopes.Read, Scopes.Admin]);

        var page = await http.GetStringAsync("/console/data");

        var issues = (await sources.ListTrackingIssuesAsync(new ListTrackingIssuesRequest { Parent = "sources/console-shop" })).Issues;
        var unmapped = Assert.Single(issues);
        Assert.Equal(3, unmapped.Count);
        Assert.Equal(1, Number(Row(page, "data-source", "console-shop"), "active-keys"));
        var table = page[page.IndexOf("<table data-issues=\"console-shop\"", StringComparison.Ordinal)..];
        Assert.Contains("Wishlist Shared", table[..table.IndexOf("</table>", StringComparison.Ordinal)], StringComparison.Ordinal);
        Assert.Equal(unmapped.Count, Number(table, "count"));
        Assert.Contains("No dead letters", page, StringComparison.Ordinal);

        // Without the scopes, each section says which one it needs; nothing about the sources shows.
        var (status, refused) = await PageAsync("/console/data", TouchpointScopes.Read);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("tracking:admin", refused, StringComparison.Ordinal);
        Assert.Contains("&#x27;admin&#x27;", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("console-shop", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Segments_DefinedOnTheForm_AreCreatedThroughTheApiAndShown()
    {
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read, Scopes.Admin]);
        var id = $"ready-{Guid.NewGuid():N}"[..20];

        var posted = await http.PostAsync("/console/segments/define", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["id"] = id,
            ["display_name"] = "Ready to buy",
            ["match"] = "all",
            ["field1"] = "readiness",
            ["op1"] = "ge",
            ["value1"] = "60",
            ["field2"] = "stage",
            ["op2"] = "ge",
            ["value2"] = "evaluation",
            ["field3"] = "",
            ["op3"] = "eq",
            ["value3"] = "",
        }));

        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        Assert.StartsWith($"/console/segments?created={id}", posted.Headers.Location!.OriginalString, StringComparison.Ordinal);
        var segment = (await new ProfileService.ProfileServiceClient(ApiChannel()).GetSegmentAsync(new GetSegmentRequest { Name = $"segments/{id}" })).Segment;
        Assert.Equal("Ready to buy", segment.DisplayName);
        Assert.Equal(
            [(SegmentField.Readiness, SegmentOperator.GreaterOrEqual, "60"), (SegmentField.Stage, SegmentOperator.GreaterOrEqual, "Evaluation")],
            segment.Rule.All.Rules.Select(r => (r.Condition.Field, r.Condition.Operator, r.Condition.HasNumber ? r.Condition.Number.ToString(CultureInfo.InvariantCulture) : Labels.Of(r.Condition.Stage))));
        var page = await http.GetStringAsync(posted.Headers.Location!.OriginalString);
        Assert.Contains($"data-created=\"{id}\"", page, StringComparison.Ordinal);
        Assert.Contains($"<section data-segment=\"{id}\"", page, StringComparison.Ordinal);
        // A link naming a segment that is not there claims nothing.
        Assert.DoesNotContain("data-created", await http.GetStringAsync("/console/segments?created=no-such-segment"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, "lots", "Condition 1: \"lots\" is not a number")]
    [InlineData(true, "60", "segment_id")]
    [InlineData(false, "60", "Your sign-in may not define segments")]
    public async Task Segments_RefusedOnTheForm_ComeBackWithTheDraftAndWhatToFix(bool admin, string readiness, string problem)
    {
        using var http = Browser();
        await SignInAsync(http, admin ? [ProfileScopes.Read, Scopes.Admin] : [ProfileScopes.Read]);
        // "Bad Id" breaks the service's id rule; the form leaves that to the service.
        var id = readiness == "60" && admin ? "Bad Id" : "well-formed-id";

        var posted = await http.PostAsync("/console/segments/define", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["id"] = id,
            ["display_name"] = "Draft",
            ["field1"] = "readiness",
            ["op1"] = "gt",
            ["value1"] = readiness,
        }));
        var page = await http.GetStringAsync(posted.Headers.Location!.OriginalString);

        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        var shown = Regex.Match(page, "<p class=\"problem\" role=\"alert\" data-form-problem>([^<]*)</p>");
        Assert.True(shown.Success, "the page does not say why the segment was refused");
        Assert.Contains(problem, WebUtility.HtmlDecode(shown.Groups[1].Value), StringComparison.Ordinal);
        Assert.Contains($"name=\"value1\" value=\"{readiness}\"", page, StringComparison.Ordinal);
        Assert.Contains("<option value=\"readiness\" selected", page, StringComparison.Ordinal);
        // Said once: the next visit shows the page without it.
        Assert.DoesNotContain("data-form-problem", await http.GetStringAsync("/console/segments"), StringComparison.Ordinal);
        Assert.Null((await new ProfileService.ProfileServiceClient(ApiChannel()).ListSegmentsAsync(new ListSegmentsRequest { PageSize = 500 }))
            .Segments.FirstOrDefault(s => s.DisplayName == "Draft"));
    }

    [Fact]
    public void SegmentForm_ReadsConditionsOfEachFieldsType_AndSaysWhichRowIsWrong()
    {
        var form = new Dictionary<string, string>
        {
            ["id"] = " vip ",
            ["display_name"] = "VIP",
            ["match"] = "any",
            ["field1"] = "customer-type",
            ["op1"] = "eq",
            ["value1"] = "Known",
            ["field2"] = "abandoned-cart",
            ["op2"] = "eq",
            ["value2"] = "yes",
            ["field3"] = "trait",
            ["key3"] = "tier",
            ["op3"] = "exists",
            ["value3"] = "",
            ["field4"] = "interest",
            ["key4"] = "electric-cars",
            ["op4"] = "gt",
            ["value4"] = "0.5",
        };

        var (request, problem) = SegmentForm.Read(name => form.GetValueOrDefault(name, ""));

        Assert.Null(problem);
        Assert.Equal("vip", request!.SegmentId);
        var rules = request.Segment.Rule.Any.Rules.Select(r => r.Condition).ToList();
        Assert.Equal(CustomerType.Known, rules[0].CustomerType);
        Assert.True(rules[1].Flag);
        Assert.Equal(("tier", SegmentOperator.Exists, SegmentCondition.ValueOneofCase.None), (rules[2].Key, rules[2].Operator, rules[2].ValueCase));
        Assert.Equal(("electric-cars", 0.5), (rules[3].Key, rules[3].Number));

        form["value2"] = "maybe";
        form["value4"] = "NaN";
        Assert.Equal(
            "Condition 2: \"maybe\" is not yes or no. Condition 4: \"NaN\" is not a number (write it like 0.5 or 60).",
            SegmentForm.Read(name => form.GetValueOrDefault(name, "")).Problem);
        Assert.Equal("Give at least one condition.", SegmentForm.Read(_ => "").Problem);
    }

    [Fact]
    public async Task Segments_DescribeEachAudienceAsTheApiDoes()
    {
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read]);

        var page = await http.GetStringAsync("/console/segments");

        var profiles = new ProfileService.ProfileServiceClient(ApiChannel());
        var segments = (await profiles.ListSegmentsAsync(new ListSegmentsRequest())).Segments;
        Assert.NotEmpty(segments);
        foreach (var segment in segments)
        {
            var audience = await profiles.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = segment.Name });
            var start = page.IndexOf($"<section data-segment=\"{Labels.Id(segment.Name)}\"", StringComparison.Ordinal);
            Assert.True(start >= 0, $"no section for {segment.Name}");
            var section = page[start..page.IndexOf("</section>", start, StringComparison.Ordinal)];
            if (audience.BelowMinimum)
            {
                Assert.Equal(audience.MinimumSize, Number(section, "minimum"));
                Assert.DoesNotContain("data-name=\"size\"", section, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal(audience.Size, Number(section, "size"));
                Assert.All(audience.Stages, s => Assert.Equal(s.Members, Number(section, $"stage-{Labels.Of(s.Stage)}")));
            }
        }

        var evaluation = await profiles.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Evaluation });
        var row = Row(page, "data-stage", "Evaluation");
        Assert.Equal(evaluation.BelowMinimum ? evaluation.MinimumSize : evaluation.Size, Number(row, evaluation.BelowMinimum ? "minimum" : "people"));
    }

    [Fact]
    public async Task Content_CountsTheLibraryByStageAndTopicAndMarksTheHoles()
    {
        var (status, page) = await PageAsync("/console/content", RecommendationScopes.Read);

        var library = (await new RecommendationService.RecommendationServiceClient(ApiChannel()).ListContentsAsync(new ListContentsRequest { PageSize = 500 })).Contents;
        Assert.NotEmpty(library);
        var holes = 0;
        foreach (var topic in library.SelectMany(c => c.Topics).Distinct())
        {
            var row = Row(page, "data-topic", topic);
            foreach (var stage in Labels.Stages)
            {
                var count = library.Count(c => c.Topics.Contains(topic) && c.Stages.Any(s => s.Stage == stage && s.Weight >= 0.5));
                if (count == 0)
                {
                    holes++;
                    Assert.Contains($"data-name=\"hole-{Labels.Of(stage)}\"", row, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(count, Number(row, Labels.Of(stage)));
                }
            }
        }

        Assert.True(holes > 0, "the demo library covers every topic at every stage, so no hole was checked");
        var purchase = Row(page, "data-stage", "Purchase");
        Assert.Equal(library.Count(c => c.Stages.Any(s => s.Stage == JourneyStage.Purchase && s.Weight >= 0.5) && c.Hardness >= 0.67), Number(purchase, "hard"));

        // What was learned from the demo's feedback: the most shown item at a stage, as the full view answers.
        var full = (await new RecommendationService.RecommendationServiceClient(ApiChannel()).ListContentsAsync(new ListContentsRequest { PageSize = 500, View = ContentView.Full })).Contents;
        var (item, learned) = full.SelectMany(c => c.Performance.Select(p => (c, p))).MaxBy(x => x.p.Impressions);
        Assert.True(learned.Impressions > 0 && full.Sum(c => c.Performance.Sum(p => p.Clicks)) > 0, "the demo reported no feedback");
        var learnedRow = Row(page, "data-learned", $"{Labels.Id(item.Name)}:{Labels.Of(learned.Stage)}");
        Assert.Equal(learned.Impressions, Number(learnedRow, "impressions"));
        Assert.Equal(learned.ClickRate * 100, Number(learnedRow, "click-percent"), 6);
        Assert.Equal(learned.LearnedClickRate * 100, Number(learnedRow, "learned-click-percent"), 6);

        // Experiments need the admin scope; the library still shows without it, so the page is a 200 that says what is missing.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("&#x27;admin&#x27;", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leads_ListTheSegmentsMembersReadiestFirstAndLeaveOutThoseWithoutConsent()
    {
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read]);

        var page = await http.GetStringAsync("/console/leads?segment=ready-to-buy");

        var profiles = new ProfileService.ProfileServiceClient(ApiChannel());
        var members = (await profiles.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/ready-to-buy", PageSize = 500 })).Profiles;
        Assert.NotEmpty(members);
        var readiness = new Dictionary<string, int>();
        foreach (var member in members)
        {
            readiness[Labels.Id(member)] = (await profiles.GetProfileAsync(new GetProfileRequest { Name = member })).Profile.Readiness;
        }

        var listed = LeadRowPattern().Matches(page).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(Math.Min(50, members.Count), listed.Count);
        Assert.Equal(members.Count, Number(page, "members"));
        Assert.All(listed, id => Assert.Equal(readiness[id], Number(Row(page, "data-profile", id), "readiness")));
        Assert.Equal(listed.Select(id => readiness[id]).OrderDescending(), listed.Select(id => readiness[id]));

        // Reachable by e-mail: those without marketing e-mail consent are counted, not listed.
        var byEmail = await http.GetStringAsync("/console/leads?segment=ready-to-buy&channel=email");
        var gated = await profiles.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/ready-to-buy", PageSize = 500, Channel = Journey.Common.V1.Channel.Email });
        Assert.Equal(Math.Min(50, gated.Profiles.Count), LeadRowPattern().Count(byEmail));
        if (gated.WithheldCount > 0)
        {
            Assert.Equal(gated.WithheldCount, Number(byEmail, "withheld"));
        }
    }

    [Fact]
    public async Task Person_FoundByEmail_ShowsTheProfileTimelineAndConsentTheApisAnswer()
    {
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read, TouchpointScopes.Read, ConsentScopes.Read]);

        var page = await http.GetStringAsync($"/console/people?kind=email&value={Uri.EscapeDataString(DemoPeople.WithdrawnEmail)}");

        var person = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = DemoPeople.WithdrawnEmail });
        var profile = (await new ProfileService.ProfileServiceClient(ApiChannel()).LookupProfileAsync(new LookupProfileRequest { Person = person })).Profile;
        Assert.Contains($"<code data-name=\"profile\">{profile.Name}</code>", page, StringComparison.Ordinal);
        Assert.Equal(profile.Readiness, Number(page, "readiness"));
        Assert.Equal(profile.OpenServiceTickets, Number(page, "open-tickets"));
        var timeline = await new TouchpointService.TouchpointServiceClient(ApiChannel()).ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Profile(profile.Name), PageSize = 50 });
        Assert.NotEmpty(timeline.Interactions);
        Assert.Equal(timeline.Interactions.Select(i => i.Interaction.InteractionId), InteractionRowPattern().Matches(page).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)));
        var consent = new Journey.Consent.V1.ConsentService.ConsentServiceClient(ApiChannel());
        var history = await consent.ListConsentHistoryAsync(new Journey.Consent.V1.ListConsentHistoryRequest { Person = person, PageSize = 100 });
        Assert.NotEmpty(history.Records);
        Assert.Equal(history.Records.Select(r => r.Name), RecordRowPattern().Matches(page).Select(m => m.Groups[1].Value));
        Assert.Contains("withdrawn", page, StringComparison.Ordinal);
        var chain = await consent.VerifyConsentChainAsync(new Journey.Consent.V1.VerifyConsentChainRequest { Person = person });
        Assert.True(chain.Intact);
        Assert.Equal(chain.RecordsChecked, Number(page, "records-checked"));

        // Without recommendations:read the page shows the rest and says, where the preview would be, which scope it lacks.
        Assert.Contains("recommendations:read", page, StringComparison.Ordinal);
        Assert.DoesNotContain("data-section=\"recommendation\"", page, StringComparison.Ordinal);

        // Without profiles:read the person's profile stays hidden and the page says why.
        var (_, refused) = await PageAsync($"/console/people?kind=email&value={Uri.EscapeDataString(DemoPeople.WithdrawnEmail)}", TouchpointScopes.Read);
        Assert.Contains("profiles:read", refused, StringComparison.Ordinal);
        Assert.DoesNotContain(profile.Name, refused, StringComparison.Ordinal);
        Assert.DoesNotContain("data-name=\"readiness\"", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Person_WhoNeverDecidedOnConsent_IsShownWithAnEmptyConsentSectionNotAProblem()
    {
        var visitor = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "console-no-consent" };
        await new ProfileService.ProfileServiceClient(ApiChannel()).IdentifyAsync(new IdentifyRequest { Identifiers = { visitor } });
        var (status, page) = await PageAsync("/console/people?kind=anonymous-id&value=console-no-consent", ProfileScopes.Read, ConsentScopes.Read);

        var consent = new Journey.Consent.V1.ConsentService.ConsentServiceClient(ApiChannel());
        var error = await Assert.ThrowsAsync<RpcException>(async () => await consent.ListConsentHistoryAsync(new Journey.Consent.V1.ListConsentHistoryRequest { Person = Persons.Of(visitor) }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-section=\"consent\"", page, StringComparison.Ordinal);
        Assert.Contains("No consent decision has been recorded for this person.", page, StringComparison.Ordinal);
        Assert.DoesNotContain(error.Status.Detail, WebUtility.HtmlDecode(page), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Person_ListsTheProfilesMergedIntoItNewestFirst()
    {
        var profiles = new ProfileService.ProfileServiceClient(ApiChannel());
        var known = (await profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { new Identifier { Kind = IdentifierKind.CustomerId, Value = "console-merge-known" } } })).Profile.Name;
        var visitor = (await profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "console-merge-cookie" } } })).Profile.Name;
        await profiles.MergeProfilesAsync(new MergeProfilesRequest { Survivor = known, Merged = visitor, Reason = "console test: one person" });
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read]);

        var page = await http.GetStringAsync("/console/people?kind=customer-id&value=console-merge-known");

        var merges = await profiles.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = known, PageSize = 20 });
        Assert.Equal([visitor], merges.Merges.Select(m => m.Merged));
        Assert.Equal([visitor], MergeRowPattern().Matches(page).Select(m => m.Groups[1].Value));
        Assert.Contains("an operator&#x27;s merge", page, StringComparison.Ordinal);
        Assert.Contains($"POST /v1/{known}:split", page, StringComparison.Ordinal);

        // Split, the merge is gone from the survivor's page and the visitor has a page of its own again.
        await profiles.SplitProfileAsync(new SplitProfileRequest { Name = known, Merged = visitor, Reason = "console test: two people after all" });
        var after = await http.GetStringAsync("/console/people?kind=customer-id&value=console-merge-known");
        Assert.Empty(MergeRowPattern().Matches(after));
        Assert.Contains("No other profile was merged into this one.", after, StringComparison.Ordinal);
        var restored = await http.GetStringAsync("/console/people?kind=anonymous-id&value=console-merge-cookie");
        Assert.Contains($"<code data-name=\"profile\">{visitor}</code>", restored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Person_ShowsWhatWeWouldRecommendWhereTheyWereLastSeenWithoutRecordingIt()
    {
        using var http = Browser();
        await SignInAsync(http, [ProfileScopes.Read, TouchpointScopes.Read, RecommendationScopes.Read]);
        var person = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = DemoPeople.WithdrawnEmail });
        var profile = (await new ProfileService.ProfileServiceClient(ApiChannel()).LookupProfileAsync(new LookupProfileRequest { Person = person })).Profile;
        var timeline = await new TouchpointService.TouchpointServiceClient(ApiChannel()).ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Profile(profile.Name), PageSize = 50 });
        var lastSeen = timeline.Interactions[0].Interaction.Touchpoint;
        var elsewhere = timeline.Interactions.Select(i => i.Interaction.Touchpoint).FirstOrDefault(t => t != lastSeen);

        var page = await http.GetStringAsync($"/console/people?kind=email&value={Uri.EscapeDataString(DemoPeople.WithdrawnEmail)}");

        var recommendations = new RecommendationService.RecommendationServiceClient(ApiChannel());
        var preview = await recommendations.RecommendAsync(new RecommendRequest { Person = Persons.Profile(profile.Name), Touchpoint = lastSeen, Count = 5, ValidateOnly = true });
        Assert.NotEmpty(preview.Items);
        var section = page[page.IndexOf("data-section=\"recommendation\"", StringComparison.Ordinal)..];
        Assert.Contains($"<option value=\"{Labels.Id(lastSeen)}\" selected", section, StringComparison.Ordinal);
        Assert.Contains($"ranked for the {Labels.Of(preview.Stage).ToLowerInvariant()} stage", section, StringComparison.Ordinal);
        Assert.Equal(preview.Items.Count, ContentRowPattern().Count(section));
        Assert.Equal(preview.Withheld.Select(w => Labels.Id(w.Purpose)), WithheldPattern().Matches(section).Select(m => m.Groups[1].Value));

        if (elsewhere is not null)
        {
            var there = await http.GetStringAsync($"/console/people?kind=email&value={Uri.EscapeDataString(DemoPeople.WithdrawnEmail)}&at={Labels.Id(elsewhere)}");
            Assert.Contains($"At <a href=\"/console/touchpoints/{Labels.Id(elsewhere)}\">", there, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex("<tr data-merge=\"([^\"]+)\"")]
    private static partial Regex MergeRowPattern();

    [GeneratedRegex("<tr data-content=\"([^\"]+)\"")]
    private static partial Regex ContentRowPattern();

    [GeneratedRegex("<li data-withheld=\"([^\"]+)\"")]
    private static partial Regex WithheldPattern();

    [Fact]
    public async Task AView_WhoseScopeTheSignInLacks_SaysWhichAndShowsNoFigures()
    {
        var (status, page) = await PageAsync("/console/touchpoints", ProfileScopes.Read);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("touchpoints:read", page, StringComparison.Ordinal);
        Assert.Contains("class=\"problem\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<tr data-touchpoint=", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<tr data-channel=", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_WithAnUnknownScopeOrNoName_IsRefusedWithTheReason()
    {
        using var http = Browser();

        var unknown = await SignInAsync(http, ["touchpoints:everything"]);
        var unnamed = await http.PostAsync("/console/session", new FormUrlEncodedContent([new("name", ""), new("scope", TouchpointScopes.Read)]));

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("touchpoints:everything", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, unnamed.StatusCode);
        Assert.DoesNotContain(unknown.Headers, h => h.Key == "Set-Cookie");
    }

    [Fact]
    public async Task EveryView_GivenQueryValuesItCannotRead_AnswersWithoutAServerError()
    {
        using var http = Browser();
        await SignInAsync(http, [.. JourneyServices.Known.Scopes.All]);
        var views = typeof(App).Assembly.GetTypes()
            .Select(type => (Type: type, Route: type.GetCustomAttributes(typeof(Microsoft.AspNetCore.Components.RouteAttribute), false).Cast<Microsoft.AspNetCore.Components.RouteAttribute>().SingleOrDefault()))
            .Where(view => view.Route is not null)
            .ToList();
        Assert.NotEmpty(views);
        var asked = 0;
        foreach (var (type, route) in views)
        {
            var path = Regex.Replace(route!.Template, "{[^}]+}", "no-such-id");
            var names = type.GetProperties()
                .Select(p => (p.GetCustomAttributes(typeof(Microsoft.AspNetCore.Components.SupplyParameterFromQueryAttribute), false).SingleOrDefault() as Microsoft.AspNetCore.Components.SupplyParameterFromQueryAttribute)?.Name ?? null)
                .OfType<string>();
            foreach (var name in names)
            {
                foreach (var value in new[] { "1", "not-a-value", "-1", "99999999999999999999", "%E2%9C%97" })
                {
                    var response = await http.GetAsync($"{path}?{name}={value}");
                    asked++;
                    Assert.True((int)response.StatusCode < 500, $"{path}?{name}={value} answered {(int)response.StatusCode}");
                }
            }
        }

        Assert.True(asked > 20, $"only {asked} query values were tried");
    }

    [Fact]
    public async Task TheChartLibrary_IsServedByTheHostCompressedAndCachedUnderItsHash()
    {
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = new Uri(Host.HttpAddress) };
        Assert.Matches("^/console/assets/echarts-[0-9a-f]{12}\\.min\\.js$", ChartLibrary.Path);

        var plain = await http.GetAsync(ChartLibrary.Path);
        using var asking = new HttpRequestMessage(HttpMethod.Get, ChartLibrary.Path) { Headers = { { "Accept-Encoding", "gzip" } } };
        var gzipped = await http.SendAsync(asking);

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("text/javascript", plain.Content.Headers.ContentType!.MediaType);
        Assert.Contains("immutable", plain.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        var script = await plain.Content.ReadAsByteArrayAsync();
        Assert.Contains("Apache Software Foundation", System.Text.Encoding.UTF8.GetString(script, 0, 1_000), StringComparison.Ordinal);
        Assert.Equal(["gzip"], gzipped.Content.Headers.ContentEncoding);
        await using var unzipped = new System.IO.Compression.GZipStream(await gzipped.Content.ReadAsStreamAsync(), System.IO.Compression.CompressionMode.Decompress);
        using var copy = new MemoryStream();
        await unzipped.CopyToAsync(copy);
        Assert.Equal(script, copy.ToArray());
        Assert.True(gzipped.Content.Headers.ContentLength < script.Length / 2, $"{gzipped.Content.Headers.ContentLength} bytes gzipped of {script.Length}");
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/console/assets/echarts-000000000000.min.js")).StatusCode);
    }

    [Fact]
    public async Task AnEndedSignIn_SendsToTheSignInPageWhichSaysSo()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(Host.HttpAddress) };
        http.DefaultRequestHeaders.Add("Cookie", $"{ConsoleApi.TokenCookie}=not-a-token");

        var response = await http.GetAsync("/console/touchpoints");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.Contains("expired=1", location, StringComparison.Ordinal);
        var page = await http.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Your sign-in has ended", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_SetsAStrictHttpOnlyCookieAndSignOutRemovesIt()
    {
        using var http = Browser();

        var signedIn = await SignInAsync(http, [TouchpointScopes.Read]);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"));
        var signedOut = await http.PostAsync("/console/sign-out", new StringContent(""));

        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/console", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await http.GetAsync("/console")).StatusCode);
    }

    [SkippableFact]
    public async Task InABrowser_ASignedInPersonOpensEveryViewAndClicksThroughWithNoSeriousAccessibilityViolation()
    {
        HeadlessChromium.Require();
        var screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "console-screenshots")).FullName;
        string[] views = ["/console", "/console/touchpoints", "/console/paths", "/console/people", "/console/content", "/console/leads", "/console/segments", "/console/data"];
        var walk = System.Text.Json.JsonSerializer.Serialize(new
        {
            scopes = new[] { TouchpointScopes.Read, ProfileScopes.Read, RecommendationScopes.Read, TouchpointScopes.TrackingAdmin, Scopes.Admin },
            views,
            screenshots,
            axe = Path.Combine(Repository.Root, "tests", "tooling", "node_modules", "axe-core", "axe.min.js"),
        });

        var visit = await HeadlessChromium.VisitAsync(
            $"{Host.HttpAddress}/console", TimeSpan.FromSeconds(120), Path.Combine(Repository.Root, "tests", "Host.Tests", "Browser", "console-walk.cjs"),
            new Dictionary<string, string> { ["JOURNEY_CONSOLE_WALK"] = walk });

        Assert.Empty(visit.Errors);
        Assert.All(visit.Requests, r => Assert.True(r.IsLoopback, $"the console reached off the machine: {r}"));
        var result = visit.Result;
        Assert.Contains("/console/sign-in", result.GetProperty("signIn").GetString(), StringComparison.Ordinal);
        var walked = result.GetProperty("views").EnumerateArray().ToList();
        Assert.Equal(views, walked.Select(v => new Uri(v.GetProperty("url").GetString()!).AbsolutePath));
        foreach (var view in walked)
        {
            var where = view.GetProperty("view").GetString();
            Assert.True(view.GetProperty("status").GetInt32() == 200, $"{where} answered {view.GetProperty("status")}: {view}");
            Assert.Empty(view.GetProperty("problems").EnumerateArray());
            Assert.True(view.GetProperty("serious").GetArrayLength() == 0, $"{where}: {view.GetProperty("serious")}");
            Assert.True(File.Exists(view.GetProperty("screenshot").GetString()), $"no screenshot of {where}");
            foreach (var number in view.GetProperty("numbers").EnumerateArray())
            {
                // The page formats each number for the reader's locale: en-US in headless Chromium, whose
                // separators are the invariant culture's (grouping, at most the number's fraction digits).
                var value = double.Parse(number.GetProperty("value").GetString()!, CultureInfo.InvariantCulture);
                var digits = number.GetProperty("digits").GetInt32();
                Assert.Equal(value.ToString("#,0." + new string('#', digits), CultureInfo.InvariantCulture), number.GetProperty("text").GetString());
            }
        }

        // ECharts, served by the host, drew every chart the pages hold: two on the overview, the Sankey on the paths view.
        var charts = walked.ToDictionary(v => v.GetProperty("view").GetString()!, v => v.GetProperty("charts").EnumerateArray().Select(c => c.GetProperty("drawn").GetInt32()).ToList());
        Assert.Equal(2, charts["/console"].Count);
        Assert.Single(charts["/console/paths"]);
        Assert.All(charts.Values.SelectMany(c => c), drawn => Assert.True(drawn > 0, "a chart drew nothing"));
        Assert.Contains(visit.Requests, r => r.Url.Contains(ChartLibrary.Path, StringComparison.Ordinal) && r.Status == 200);

        var overview = walked[0].GetProperty("numbers").EnumerateArray().ToList();
        var funnel = await new TouchpointService.TouchpointServiceClient(ApiChannel()).GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = PeriodChoice.Of(null, DateTimeOffset.UtcNow).ToPeriod() });
        Assert.Equal(funnel.Stages.Select(s => (double)s.People), overview.Where(n => n.GetProperty("name").GetString() == "people").Select(n => double.Parse(n.GetProperty("value").GetString()!, CultureInfo.InvariantCulture)));

        var gaps = await new TouchpointService.TouchpointServiceClient(ApiChannel()).ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = PeriodChoice.Of(null, DateTimeOffset.UtcNow).ToPeriod() });
        var scorecard = result.GetProperty("scorecard");
        Assert.Equal($"/console/touchpoints/{Labels.Id(gaps.Gaps[0].Touchpoint)}", new Uri(scorecard.GetProperty("url").GetString()!).AbsolutePath);
        Assert.Equal(gaps.Gaps[0].DisplayName, scorecard.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("/console/touchpoints?days=7", "/console/touchpoints?days=7")]
    [InlineData("/console", "/console")]
    [InlineData("https://elsewhere.example/console", "/console")]
    [InlineData("//elsewhere.example/console", "/console")]
    [InlineData("/console//elsewhere.example", "/console")]
    [InlineData("/consoles", "/console")]
    [InlineData(null, "/console")]
    public void LocalReturn_GoesBackOnlyToAConsolePage(string? target, string expected)
    {
        Assert.Equal(expected, WebConsoleRegistration.LocalReturn(target));
    }

    [Theory]
    [InlineData("127.0.0.1", null, true)]
    [InlineData("::1", null, true)]
    [InlineData("10.1.2.3", null, false)]
    [InlineData("127.0.0.1", "https://login.example.com/realms/journey", false)]
    public void MaySignInLocally_OnlyFromThisMachineWithTheDevelopmentIssuer(string remote, string? authority, bool expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);

        Assert.Equal(expected, WebConsoleRegistration.MaySignInLocally(context, new AuthOptions { Authority = authority }));
    }

    private HttpClient Browser()
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        return new HttpClient(handler) { BaseAddress = new Uri(Host.HttpAddress) };
    }

    private Grpc.Net.Client.GrpcChannel ApiChannel() => Host.CreateChannel(fixture.Data, [.. JourneyServices.Known.Scopes.All]);

    /// <summary>The status and text of the page at <paramref name="path"/> for someone signed in with <paramref name="scopes"/>.</summary>
    private async Task<(HttpStatusCode Status, string Page)> PageAsync(string path, params string[] scopes)
    {
        using var http = Browser();
        await SignInAsync(http, scopes);
        var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string[] scopes, string returnTo = "/console")
    {
        var form = new List<KeyValuePair<string, string>> { new("name", "cx-lead"), new("return", returnTo) };
        form.AddRange(scopes.Select(s => new KeyValuePair<string, string>("scope", s)));
        return await http.PostAsync("/console/session", new FormUrlEncodedContent(form));
    }

    /// <summary>The table row marked <paramref name="attribute"/>="<paramref name="value"/>".</summary>
    private static string Row(string page, string attribute, string value)
    {
        var start = page.IndexOf($"<tr {attribute}=\"{value}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no row {attribute}={value} on the page");
        return page[start..page.IndexOf("</tr>", start, StringComparison.Ordinal)];
    }

    /// <summary>The machine-readable value of the number named <paramref name="name"/> in <paramref name="html"/>.</summary>
    private static double Number(string html, string name)
    {
        var match = Regex.Match(html, $"<data class=\"n\" value=\"([^\"]*)\"[^>]*data-name=\"{Regex.Escape(name)}\"");
        Assert.True(match.Success, $"no number named {name}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("<tr data-interaction=\"([^\"]+)\"")]
    private static partial Regex InteractionRowPattern();

    [GeneratedRegex("<tr data-record=\"([^\"]+)\"")]
    private static partial Regex RecordRowPattern();

    [GeneratedRegex("<tr data-profile=\"([^\"]+)\"")]
    private static partial Regex LeadRowPattern();

    [GeneratedRegex("<tr data-touchpoint=\"([^\"]+)\"")]
    private static partial Regex TouchpointRowPattern();
}
