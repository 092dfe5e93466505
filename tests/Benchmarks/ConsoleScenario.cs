using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Host;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Journey.WebConsole.Components;

namespace Journey.Benchmarks;

/// <summary>
/// The web console as a person opens it: headless Chromium (Debian's <c>chromium</c>, installed by the
/// scenario when it can, skipped with the reason when not) signs in on the development form and loads
/// every view of the navigation, and the person view for a streamed person, once to warm up and then
/// <see cref="Loads"/> times each; the figure is the browser's own Navigation Timing, navigation start to
/// the end of the load event. Held: each view's median ≤ 1.5 s (issue 29); the ratio to the sign-in
/// page's load in the same browser on the same host is printed next to it. At the end of the default
/// run it reads the stores the catalog, ingestion and profile scenarios filled (and whatever the later
/// ones added); run alone, it fills them itself the same way.
/// </summary>
public sealed class ConsoleScenario : IScenario
{
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(1.5);

    public string Name => "console";

    /// <summary>Measured loads of each view after its warm-up load.</summary>
    private static int Loads(Settings settings) => settings.Quick ? 3 : 5;

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        if (await BrowserMissingAsync() is { } missing)
        {
            return [new("console: views loaded in headless Chromium", $"not measured: {missing}", "-", 0, "skipped", null)];
        }

        var (channel, settings, population) = (context.Channel, context.Settings, context.Population);
        var touchpoints = new TouchpointService.TouchpointServiceClient(channel);
        var profiles = new ProfileService.ProfileServiceClient(channel);
        if (!await ExistsAsync(touchpoints, $"touchpoints/catalog-{settings.Touchpoints - 1}"))
        {
            await CatalogListScenario.SeedAsync(touchpoints, settings.Touchpoints);
        }

        if (population.People == 0)
        {
            await Touchpoints.EnsureAsync(channel, "bench-web", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
            var clock = Stopwatch.StartNew();
            var now = DateTimeOffset.UtcNow;
            var streamed = await Touchpoints.StreamViewsAsync(channel, settings.Interactions, Population.AnonymousId, _ => now);
            population.People = settings.Interactions;
            await ProfileScenario.WaitUntilHandledAsync(profiles, population.People, TimeSpan.FromMinutes(settings.Quick ? 1 : 10));
            Console.WriteLine($"  streamed {streamed.AcceptedCount:N0} interactions from as many people; their profiles were ready after {clock.Elapsed.TotalSeconds:0} s");
        }

        // A person the stores know, with an interaction, found through the public API as the console finds them.
        var anonymousId = Population.AnonymousId(population.People / 2);
        var person = (await profiles.LookupProfileAsync(new LookupProfileRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId }),
        })).Profile;
        if (person.LastInteractionTime is null)
        {
            throw new InvalidOperationException($"The profile of {anonymousId} shows no interaction: the person view would be measured on an empty timeline.");
        }

        var catalog = await CountAsync(touchpoints);
        Console.WriteLine($"  the stores hold {catalog:N0} touchpoints and at least {population.People:N0} people with an interaction each");

        (string Name, string Path)[] views =
        [
            ("sign-in page (trivial baseline)", "/console/sign-in"),
            ("journey overview", "/console"),
            ("touchpoint priorities", "/console/touchpoints"),
            ("paths", "/console/paths"),
            ("a person", $"/console/people?kind=anonymous-id&value={Uri.EscapeDataString(anonymousId)}"),
            ("content", "/console/content"),
            ("leads", "/console/leads"),
            ("segments and audiences", "/console/segments"),
            ("data coming in", "/console/data"),
        ];
        await context.SettleAsync("console views");
        var loaded = await LoadInBrowserAsync(context, views, Loads(settings));

        var baseline = loaded[0];
        var figures = new List<Figure>
        {
            new($"console: {baseline.Name}, {baseline.Loads.Count} loads", baseline.Describe(), "itself", 1, "baseline", null),
        };
        foreach (var view in loaded.Skip(1))
        {
            var ratio = view.Median / baseline.Median;
            var shown = view.Status == 200;
            figures.Add(new($"console: {view.Name}, {view.Loads.Count} loads, {catalog:N0} touchpoints, {population.People:N0}+ people",
                view.Describe() + (shown ? "" : $"; answered {view.Status}"),
                $"sign-in page median {Millis(baseline.Median)}", ratio, "median ≤ 1.5 s", shown && view.Median <= Target));
        }

        var missed = loaded.Skip(1).Where(v => v.Median > Target).Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (call, took) in await TimeCallsAsync(context, person.Name, missed))
        {
            figures.Add(new($"console: API call {call}", Millis(took), "-", 1, "reported", null));
        }

        return figures;
    }

    /// <summary>
    /// The API calls of the views that missed, each timed once alone with the benchmark's own token
    /// (the browser's loads warmed them), so a slow view points at the call that makes it slow.
    /// </summary>
    private static async Task<List<(string Call, TimeSpan Took)>> TimeCallsAsync(BenchContext context, string profile, HashSet<string> views)
    {
        var touchpoints = new TouchpointService.TouchpointServiceClient(context.Channel);
        var profiles = new ProfileService.ProfileServiceClient(context.Channel);
        var contents = new RecommendationService.RecommendationServiceClient(context.Channel);
        var period = PeriodChoice.Of(null, DateTimeOffset.UtcNow);
        (string View, string Name, Func<Task> Call)[] calls =
        [
            ("journey overview", "DescribeAudience (everyone)", () => profiles.DescribeAudienceAsync(new DescribeAudienceRequest { Everyone = true }).ResponseAsync),
            ("journey overview", "GetJourneyFunnel (30 days; the view calls it for two periods)", () => touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = period.ToPeriod() }).ResponseAsync),
            ("touchpoint priorities", "ListExperienceGaps (30 days, 50)", () => touchpoints.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = period.ToPeriod(), PageSize = 50 }).ResponseAsync),
            ("touchpoint priorities", "ListTouchpoints, the whole catalog in pages of 500", () => CountAsync(touchpoints)),
            ("paths", "GetJourneyPaths (to a purchase, 4 steps)", () => touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest
            {
                Period = period.ToPeriod(), End = PathEnd.Purchase, MaxSteps = 4, PathLimit = 15, LinkLimit = 40,
            }).ResponseAsync),
            ("a person", "ListInteractions (a person, 50)", () => touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Profile(profile), PageSize = 50 }).ResponseAsync),
            ("content", "SummarizeContents (the whole library, 20 most shown)", () => contents.SummarizeContentsAsync(new SummarizeContentsRequest { MostShownSize = 20 }).ResponseAsync),
            ("segments and audiences", "DescribeAudience (each of the 6 stages, one after another)", async () =>
            {
                foreach (var stage in Labels.Stages)
                {
                    await profiles.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = stage });
                }
            }),
        ];
        var timed = new List<(string, TimeSpan)>();
        foreach (var (view, name, call) in calls.Where(c => views.Contains(c.View)))
        {
            var clock = Stopwatch.StartNew();
            await call();
            timed.Add(($"{name}, {view}", clock.Elapsed));
            Console.WriteLine($"  {view}: {name} took {Millis(clock.Elapsed)}");
        }

        return timed;
    }

    private static async Task<int> CountAsync(TouchpointService.TouchpointServiceClient client)
    {
        var (count, token) = (0, "");
        do
        {
            var page = await client.ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = 500, PageToken = token });
            (count, token) = (count + page.Touchpoints.Count, page.NextPageToken);
        }
        while (token.Length > 0);
        return count;
    }

    private static async Task<bool> ExistsAsync(TouchpointService.TouchpointServiceClient client, string name)
    {
        try
        {
            await client.GetTouchpointAsync(new GetTouchpointRequest { Name = name });
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Signs in and loads the views in one browser; kept apart from <see cref="RunAsync"/> so the
    /// browser's executable is looked up only after <see cref="BrowserMissingAsync"/> may have installed it.
    /// </summary>
    private static async Task<List<LoadedView>> LoadInBrowserAsync(BenchContext context, (string Name, string Path)[] views, int loads)
    {
        var settings = JsonSerializer.Serialize(new
        {
            scopes = JourneyServices.Known.Scopes.All,
            loads,
            pages = views.Select(v => new { name = v.Name, url = context.Host.HttpAddress + v.Path }),
        });
        var visit = await HeadlessChromium.VisitAsync(
            // Signed in onto a view that asks for no report, so each view's first load is its first request.
            $"{context.Host.HttpAddress}/console/sign-in?return=%2Fconsole%2Fdata", TimeSpan.FromMinutes(15), Path.Combine(Repository.Root, "tests", "Benchmarks", "console-load.cjs"),
            new Dictionary<string, string> { ["JOURNEY_CONSOLE_LOAD"] = settings });
        if (visit.Errors.Count > 0)
        {
            throw new InvalidOperationException($"The console's pages failed in the browser:\n{visit}");
        }

        var result = new List<LoadedView>();
        foreach (var page in visit.Result.GetProperty("pages").EnumerateArray())
        {
            var measured = page.GetProperty("loads").EnumerateArray().ToList();
            var last = measured[^1];
            var problems = last.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).ToList();
            if (problems.Count > 0)
            {
                Console.WriteLine($"  {page.GetProperty("name").GetString()} says: {string.Join(" | ", problems)}");
            }

            result.Add(new LoadedView(
                page.GetProperty("name").GetString()!,
                last.GetProperty("status").GetInt32(),
                TimeSpan.FromMilliseconds(page.GetProperty("warmup").GetProperty("load").GetDouble()),
                [.. measured.Select(l => TimeSpan.FromMilliseconds(l.GetProperty("load").GetDouble()))],
                [.. measured.Select(l => TimeSpan.FromMilliseconds(l.GetProperty("server").GetDouble()))],
                last.GetProperty("bytes").GetInt64()));
        }

        return result;
    }

    /// <summary>Why the browser cannot be driven here, or null; installs Debian's chromium first when it is missing and this is root.</summary>
    private static async Task<string?> BrowserMissingAsync()
    {
        if (Find("node") is null)
        {
            return "node is not installed (Debian: apt-get install nodejs); it drives the browser through puppeteer-core";
        }

        if (!File.Exists(Path.Combine(Repository.Root, "tests", "tooling", "node_modules", "puppeteer-core", "package.json")))
        {
            return "puppeteer-core is not installed in tests/tooling (npm ci there, or build a test project)";
        }

        if (Environment.GetEnvironmentVariable(HeadlessChromium.Variable) is not { Length: > 0 } && Find("chromium") is null && Find("chromium-browser") is null && Find("google-chrome") is null
            && Find("apt-get") is { } apt && Environment.UserName == "root")
        {
            Console.WriteLine("  chromium not found; installing Debian's chromium ...");
            var clock = Stopwatch.StartNew();
            // A fresh machine's package lists are empty until the first update.
            var (exit, output) = await Command.RunAsync(apt, Repository.Root, ["update", "-q"], TimeSpan.FromMinutes(5));
            if (exit == 0)
            {
                (exit, output) = await Command.RunAsync(apt, Repository.Root, ["install", "-y", "-q", "chromium"], TimeSpan.FromMinutes(10));
            }

            Console.WriteLine(exit == 0 ? $"  installed chromium in {clock.Elapsed.TotalSeconds:0} s" : $"  apt-get install chromium failed ({exit}): {output[^Math.Min(output.Length, 400)..]}");
        }

        return MissingChromium();
    }

    // Not inlined: HeadlessChromium looks for the executable once, when first used, which must be after the install above.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string? MissingChromium() => HeadlessChromium.Missing;

    private static string? Find(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, executable))
            .FirstOrDefault(File.Exists);

    private static string Millis(TimeSpan value) => value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

    /// <summary>One view's measured loads.</summary>
    private sealed record LoadedView(string Name, int Status, TimeSpan FirstLoad, IReadOnlyList<TimeSpan> Loads, IReadOnlyList<TimeSpan> Server, long Bytes)
    {
        public TimeSpan Median => MedianOf(Loads);

        // The first load is shown beside the held median: it pays what a kept report saves the later ones (ADR 0031).
        public string Describe() =>
            $"load median {Millis(Median)}, max {Millis(Loads.Max())}, first {Millis(FirstLoad)}; server (request to first byte) median {Millis(MedianOf(Server))}; {Bytes / 1024.0:0} KiB";

        private static TimeSpan MedianOf(IReadOnlyList<TimeSpan> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        }
    }
}
