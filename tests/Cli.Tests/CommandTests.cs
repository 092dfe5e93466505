using System.Text.Json;
using Journey.Consent.V1;
using Journey.Testing;

namespace Journey.Cli.Tests;

public sealed class CommandTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("journey-cli-").FullName;

    private Task<CliResult> Run(params string[] args) => CliRun.RunAsync(fixture.Address, fixture.Token, args);

    private string File(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task TouchpointsDefine_ThenList_ShowsTheTouchpointInTableAndJson()
    {
        var defined = await Run("touchpoints", "define", "web-calculator", "--display-name", "Lease-vs-buy calculator", "--channel", "web", "--ownership", "owned", "--stage", "consideration", "--criticality", "4", "--target-rating", "4.5");
        Assert.True(defined.ExitCode == 0, defined.Error + defined.Out);
        Assert.Contains("touchpoints/web-calculator", defined.Out);

        var table = await Run("touchpoints", "list");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Lease-vs-buy calculator", table.Out);
        Assert.Contains("consideration", table.Out);

        var json = await Run("touchpoints", "list", "--output", "json");
        using var document = JsonDocument.Parse(json.Out);
        var names = document.RootElement.GetProperty("touchpoints").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Contains("touchpoints/web-calculator", names);
    }

    [Fact]
    public async Task Sources_CreateWithPlan_AddKey_ThenRotateAndRevoke_ShowsKeysOnlyOnce()
    {
        var touchpoint = await Run("touchpoints", "define", "cli-dealer", "--display-name", "Dealer", "--channel", "dealer-store", "--ownership", "owned", "--stage", "purchase", "--target-rating", "4");
        Assert.True(touchpoint.ExitCode == 0, touchpoint.Error);
        var plan = File("plan.json", """{"events":[{"event":"Order Completed","touchpoint":"touchpoints/cli-dealer","type":"INTERACTION_TYPE_PURCHASE"}],"consentCategories":[{"category":"Advertising","purpose":"purposes/marketing-ads"}]}""");

        var created = await Run("sources", "create", "cli-web", "--display-name", "Web shop", "--origin", "https://shop.example", "--plan", plan);
        var key = await Run("sources", "keys", "create", "cli-web");
        var shown = await Run("sources", "get", "cli-web", "--output", "json");

        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains("sources/cli-web", created.Out);
        Assert.True(key.ExitCode == 0, key.Error);
        var secret = key.Out.Split('\n').Single(l => l.StartsWith("write key: ", StringComparison.Ordinal))["write key: ".Length..].Trim();
        using var document = JsonDocument.Parse(shown.Out);
        var source = document.RootElement.GetProperty("source");
        Assert.Equal("Order Completed", source.GetProperty("trackingPlan").GetProperty("events")[0].GetProperty("event").GetString());
        var category = source.GetProperty("trackingPlan").GetProperty("consentCategories")[0];
        Assert.Equal(("Advertising", "purposes/marketing-ads"), (category.GetProperty("category").GetString(), category.GetProperty("purpose").GetString()));
        var keyName = source.GetProperty("writeKeys")[0].GetProperty("name").GetString()!;
        Assert.Equal(secret[^4..], source.GetProperty("writeKeys")[0].GetProperty("hint").GetString());
        Assert.DoesNotContain(secret, shown.Out);

        var rotated = await Run("sources", "keys", "rotate", keyName);
        var revokedAgain = await Run("sources", "keys", "revoke", keyName);
        var unknownPlan = await Run("sources", "set-plan", "cli-web", "--plan", File("bad.json", """{"events":[{"event":"X","touchpoint":"touchpoints/nowhere","type":"INTERACTION_TYPE_VIEW"}]}"""));

        Assert.True(rotated.ExitCode == 0, rotated.Error);
        Assert.Contains("write key: ", rotated.Out);
        Assert.True(revokedAgain.ExitCode == 0, revokedAgain.Error);
        Assert.Equal(4, unknownPlan.ExitCode);
        Assert.Contains("touchpoints/nowhere", unknownPlan.Error);
    }

    [Fact]
    public async Task TouchpointsDefine_WhenItExists_ReportsAlreadyExistsAndServerExitCode()
    {
        string[] args = ["touchpoints", "define", "twice", "--display-name", "Twice", "--channel", "email", "--ownership", "owned", "--stage", "consideration", "--target-rating", "4"];
        var first = await Run(args);
        Assert.True(first.ExitCode == 0, first.Error);

        var second = await Run(args);

        Assert.Equal(4, second.ExitCode);
        Assert.StartsWith("error: ALREADY_EXISTS", second.Error);
        Assert.Single(second.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task TouchpointsImport_Csv_CreatesGoodRowsAndReportsTheBadRowWithItsLine()
    {
        var path = File("catalog.csv", """
            id,display_name,channel,ownership,stages,criticality,target_rating,intended_experience,owning_team,topics
            csv-search,Search ad,search,paid,awareness,2,4,,,leasing
            csv-review,"Review, electric",third-party-review,earned,consideration;evaluation,3,4,honest,,electric-cars|reviews
            csv-bad,Broken,carrier-pigeon,owned,awareness,3,,,,
            csv-criticality,Too critical,web,owned,awareness,9,4,,,
            """);

        var result = await Run("touchpoints", "import", path);

        Assert.Equal(3, result.ExitCode);
        Assert.True(result.Out.Contains("created 2,"), result.Out + result.Error);
        Assert.Contains("rejected 2", result.Out);
        Assert.Contains("line 4", result.Out);
        Assert.Contains("carrier-pigeon", result.Out);
        Assert.Contains("line 5", result.Out);
        Assert.Contains("INVALID_ARGUMENT", result.Out);
        var listed = await Run("touchpoints", "get", "csv-review", "-o", "json");
        using var document = JsonDocument.Parse(listed.Out);
        Assert.Equal(2, document.RootElement.GetProperty("touchpoint").GetProperty("stages").GetArrayLength());

        var again = await Run("touchpoints", "import", path, "-o", "json");
        using var summary = JsonDocument.Parse(again.Out);
        Assert.Equal(0, summary.RootElement.GetProperty("created").GetInt32());
        Assert.Equal(2, summary.RootElement.GetProperty("existing").GetInt32());
    }

    [Fact]
    public async Task TouchpointsImport_Json_CreatesItemsAndRejectsAnUnknownFieldWithItsLine()
    {
        var path = File("catalog.json", """
            {"touchpoints": [
              {"name": "touchpoints/json-newsletter", "displayName": "Newsletter", "channel": "CHANNEL_EMAIL", "ownership": "OWNERSHIP_OWNED", "stages": ["JOURNEY_STAGE_CONSIDERATION"], "criticality": 3, "intendedExperience": {"targetRating": 4}},
              {"name": "touchpoints/json-bad", "colour": "red"}
            ]}
            """);

        var result = await Run("touchpoints", "import", path);

        Assert.Equal(3, result.ExitCode);
        Assert.True(result.Out.Contains("created 1,"), result.Out + result.Error);
        Assert.Contains("line 3", result.Out);
        Assert.Equal(0, (await Run("touchpoints", "get", "json-newsletter")).ExitCode);
    }

    [Fact]
    public async Task InteractionsRecord_WithMixedLines_SummarisesEveryLineAndThePersonCanBeLookedUp()
    {
        var web = await Run("touchpoints", "define", "rec-web", "--display-name", "Web", "--channel", "web", "--ownership", "owned", "--stage", "awareness", "--target-rating", "4");
        Assert.True(web.ExitCode == 0, web.Error);
        var now = DateTime.UtcNow.AddMinutes(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");
        string Line(string id, string touchpoint = "touchpoints/rec-web") =>
            $$"""{"interactionId":"{{id}}","touchpoint":"{{touchpoint}}","occurTime":"{{now}}","identifiers":[{"kind":"IDENTIFIER_KIND_EMAIL","value":"ada@example.com"}],"type":"INTERACTION_TYPE_VIEW"}""";
        var path = File("interactions.jsonl", string.Join('\n',
            Line("i-1"),
            Line("i-2"),
            "{not json",
            Line("i-1"),
            "",
            Line("i-3", "touchpoints/nowhere"),
            Line("i-4")));

        var result = await Run("interactions", "record", "--file", path, "--batch-size", "2", "-o", "json");

        Assert.Equal(3, result.ExitCode);
        using var summary = JsonDocument.Parse(result.Out);
        var root = summary.RootElement;
        Assert.Equal(7, root.GetProperty("lines").GetInt32());
        Assert.Equal(3, root.GetProperty("accepted").GetInt64());
        Assert.Equal(1, root.GetProperty("duplicates").GetInt64());
        Assert.Equal(2, root.GetProperty("rejected").GetInt64());
        var lines = root.GetProperty("rejections").EnumerateArray().Select(r => r.GetProperty("line").GetInt32()).ToList();
        Assert.Equal([3, 6], lines);

        var table = await Run("interactions", "record", "--file", path);
        Assert.Contains("7 lines: 0 accepted, 4 duplicate, 2 rejected", table.Out);

        CliResult lookup = null!;
        Assert.True(await TestPlatform.EventuallyAsync(async () => (lookup = await Run("profiles", "lookup", "--email", "ada@example.com", "-o", "json")).ExitCode == 0));
        using var profile = JsonDocument.Parse(lookup.Out);
        Assert.StartsWith("profiles/", profile.RootElement.GetProperty("profile").GetProperty("name").GetString());
        var human = await Run("profiles", "lookup", "--email", "ada@example.com");
        Assert.Contains("stage", human.Out);

        // The same person by their profile, as the other commands address them too.
        var name = profile.RootElement.GetProperty("profile").GetProperty("name").GetString()!;
        foreach (var given in new[] { name, name["profiles/".Length..] })
        {
            var byProfile = await Run("profiles", "lookup", "--profile", given, "-o", "json");
            Assert.True(byProfile.ExitCode == 0, byProfile.Error);
            using var found = JsonDocument.Parse(byProfile.Out);
            Assert.Equal(name, found.RootElement.GetProperty("profile").GetProperty("name").GetString());
        }

        var both = await Run("profiles", "lookup", "--profile", name, "--email", "ada@example.com");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("not both", both.Error);
        var check = await Run("consent", "check", "--purpose", "anything", "--profile", name, "-o", "json");
        Assert.NotEqual(2, check.ExitCode);
    }

    [Fact]
    public async Task InteractionsRecord_OnlyDrawsProgressWhenStderrIsATerminal()
    {
        var path = File("empty-ish.jsonl", "{broken\n");

        var terminal = await CliRun.RunAsync(fixture.Address, fixture.Token, interactive: true, "interactions", "record", "--file", path);
        var redirected = await CliRun.RunAsync(fixture.Address, fixture.Token, interactive: false, "interactions", "record", "--file", path);

        Assert.Contains("100.0%", terminal.Error);
        Assert.Contains("1 lines", terminal.Error);
        Assert.Empty(redirected.Error);
        Assert.Contains("1 lines: 0 accepted, 0 duplicate, 1 rejected", redirected.Out);
        Assert.Equal(3, redirected.ExitCode);
    }

    [Fact]
    public async Task InteractionsRecord_WhenTheFileIsMissing_ExitsWithInputError()
    {
        var result = await Run("interactions", "record", "--file", Path.Combine(_directory, "missing.jsonl"));

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot read", result.Error);
    }

    [Fact]
    public async Task ConsentCheck_AfterPurposeDefinedAndGranted_IsAllowed()
    {
        var purpose = await Run("purposes", "define", "cli-marketing", "--description", "Marketing e-mail", "--channel", "email");
        Assert.True(purpose.ExitCode == 0, purpose.Error);
        Assert.Contains("purposes/cli-marketing", (await Run("purposes", "list")).Out);
        var policy = await new ConsentService.ConsentServiceClient(fixture.Platform.Channel).CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "We write to you about cars." });

        var before = await Run("consent", "check", "--purpose", "cli-marketing", "--email", "grace@example.com", "-o", "json");
        Assert.True(before.ExitCode == 0, before.Error);
        using (var document = JsonDocument.Parse(before.Out))
        {
            Assert.False(document.RootElement.TryGetProperty("allowed", out var allowed) && allowed.GetBoolean());
        }

        var recorded = await Run("consent", "record", "--purpose", "cli-marketing", "--email", "grace@example.com", "--policy-version", policy.PolicyVersion.Version.ToString());
        Assert.True(recorded.ExitCode == 0, recorded.Error);

        var after = await Run("consent", "check", "--purpose", "cli-marketing", "--email", "grace@example.com", "-o", "json");
        using var granted = JsonDocument.Parse(after.Out);
        Assert.True(granted.RootElement.GetProperty("allowed").GetBoolean());
        Assert.Contains("granted", (await Run("consent", "check", "--purpose", "cli-marketing", "--email", "grace@example.com")).Out);
    }

    [Fact]
    public async Task Recommend_ForAnAnonymousVisitor_ReturnsDefinedContentAsJson()
    {
        var content = await Run("content", "define", "cli-guide", "--title", "Leasing explained", "--kind", "guide", "--stage", "awareness:1", "--stage", "consideration:0.8", "--generic", "--hardness", "0.1", "--channel", "web");
        Assert.True(content.ExitCode == 0, content.Error);
        Assert.Contains("contents/cli-guide", (await Run("content", "list")).Out);

        var result = await Run("recommend", "--touchpoint", "web-calculator", "--anonymous-id", "cookie-cli", "--count", "3", "-o", "json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(result.Out);
        var items = document.RootElement.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("content").GetString()).ToList();
        Assert.Contains("contents/cli-guide", items);
        Assert.Contains("Leasing explained", (await Run("recommend", "--touchpoint", "web-calculator", "--anonymous-id", "cookie-cli")).Out);
    }

    [Fact]
    public async Task AnyCommand_WithoutToken_SaysHowToPassOne()
    {
        var result = await CliRun.RunAsync(fixture.Address, null, "touchpoints", "list");

        Assert.Equal(6, result.ExitCode);
        Assert.Contains("UNAUTHENTICATED", result.Error);
        Assert.Contains("JOURNEY_TOKEN", result.Error);
        Assert.Empty(result.Out);
    }

    [Fact]
    public async Task AnyCommand_WhenTheAddressIsUnreachable_SaysSoAndExitsUnavailable()
    {
        var result = await CliRun.RunAsync("http://127.0.0.1:1", fixture.Token, "touchpoints", "list", "--timeout", "5");

        Assert.Equal(5, result.ExitCode);
        Assert.Contains("UNAVAILABLE", result.Error);
        Assert.Contains("127.0.0.1:1", result.Error);
    }

    [Fact]
    public async Task UnknownCommand_ExitsWithUsageError()
    {
        var result = await Run("touchpoints", "fly");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("fly", result.Error);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
