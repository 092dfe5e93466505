using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Consent.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation;
using Journey.Recommendation.Domain;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Host.Tests;

/// <summary>
/// Two customers, each with a history, are merged by an operator, go on through both sides'
/// identifiers, and are split again, through the public APIs of a host running all four services with
/// events crossing the bus. Every service's view of both people is then compared with a run that never
/// merged: the profile, the timelines by profile and by each identifier, the touchpoint analytics (scorecard,
/// funnel, paths), the consent checks and chains, and the recommendation service's person rows. Each run
/// has a platform of its own, so the analytics count only that run's people.
/// </summary>
public abstract class SplitEndToEndTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TouchpointService.TouchpointServiceClient _touchpoints = null!;
    private ProfileService.ProfileServiceClient _profiles = null!;
    private ConsentService.ConsentServiceClient _consent = null!;
    private int _policy;

    /// <summary>The store settings of the run; null for the default (SQLite in a fresh data directory).</summary>
    protected virtual IReadOnlyDictionary<string, string?>? Settings => null;

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task StartAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition], Settings);
        _touchpoints = new TouchpointService.TouchpointServiceClient(_platform.Channel);
        _profiles = new ProfileService.ProfileServiceClient(_platform.Channel);
        _consent = new ConsentService.ConsentServiceClient(_platform.Channel);
        foreach (var (id, stage) in new[] { ("dealer-site", JourneyStage.Consideration), ("showroom", JourneyStage.Purchase) })
        {
            var touchpoint = WebTouchpoints.Create(id, stage, "find a car");
            touchpoint.Topics.Add("suv");
            await _touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = id, Touchpoint = touchpoint });
        }

        _policy = (await _consent.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "We use your data as the purposes say." })).PolicyVersion.Version;
        foreach (var purpose in new[] { "marketing-email", "personalisation" })
        {
            await _consent.CreatePurposeAsync(new CreatePurposeRequest
            {
                PurposeId = purpose,
                Purpose = new Purpose { Description = purpose, LegalBasis = LegalBasis.Consent, DefaultDecision = DefaultDecision.Deny, Channels = { Channel.Email, Channel.Web } },
            });
        }
    }

    public Task DisposeAsync() => StopAsync();

    private async Task StopAsync()
    {
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
            _platform = null!;
        }
    }

    [ContractFact]
    public async Task SplitProfile_AfterMergeAndActivity_LeavesEveryServicesViewAsARunThatNeverMerged()
    {
        var split = await RunAsync("split", mergeAndSplit: true, eraseSurvivor: false);
        var never = await RunAsync("never", mergeAndSplit: false, eraseSurvivor: false);

        Assert.Equal(never.Profiles, split.Profiles);
        Assert.Equal(never.Timelines, split.Timelines);
        Assert.Equal(never.Analytics, split.Analytics);
        Assert.Equal(never.Consent, split.Consent);
        Assert.Equal(never.People, split.People);
        Assert.Contains("crm-after", split.Timelines);
        Assert.Contains("shop-after", split.Timelines);
        Assert.Contains("shop personalisation: True", split.Consent);
        Assert.Contains("chain intact", split.Consent);
    }

    [ContractFact]
    public async Task SplitProfile_ThenTheSurvivorErased_LeavesTheRestoredPersonsInteractionsAsARunThatNeverMerged()
    {
        var split = await RunAsync("split", mergeAndSplit: true, eraseSurvivor: true);
        var never = await RunAsync("never", mergeAndSplit: false, eraseSurvivor: true);

        Assert.Equal(never.Timelines, split.Timelines);
        Assert.Equal(never.Analytics, split.Analytics);
        Assert.Contains("shop-tablet", split.Timelines);
    }

    private async Task<(string Profiles, string Timelines, string Analytics, string Consent, string People)> RunAsync(string run, bool mergeAndSplit, bool eraseSurvivor)
    {
        await StopAsync();
        await StartAsync();
        Identifier Customer(string who) => Identifier(IdentifierKind.CustomerId, $"{run}-{who}");
        Identifier Cookie(string who) => Identifier(IdentifierKind.AnonymousId, $"{run}-{who}-cookie");
        Identifier Device(string who) => Identifier(IdentifierKind.DeviceId, $"{run}-{who}-device");
        var crm = (await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { Customer("crm"), Cookie("crm") } })).Profile.Name;
        var shop = (await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { Customer("shop"), Cookie("shop") } })).Profile.Name;
        await RecordAsync($"{run}-crm-before", InteractionType.View, "dealer-site", Customer("crm"));
        await RecordAsync($"{run}-shop-before", InteractionType.CartAdd, "dealer-site", Customer("shop"), Device("shop"));
        // A tablet the household shares: the log links it to the crm customer, who used it first.
        await RecordAsync($"{run}-crm-tablet", InteractionType.View, "dealer-site", Customer("crm"), Device("tablet"));
        await RecordAsync($"{run}-shop-tablet", InteractionType.View, "dealer-site", Customer("shop"), Device("tablet"));
        // The shop customer's own device, on its own.
        await RecordAsync($"{run}-shop-device-only", InteractionType.View, "dealer-site", Device("shop"));
        // The consent ledger learns a profile id only from a record that names it or from a merge.
        await GrantAsync("personalisation", Customer("crm"), Identifier(IdentifierKind.ProfileId, crm["profiles/".Length..]));
        await GrantAsync("marketing-email", Customer("shop"), Identifier(IdentifierKind.ProfileId, shop["profiles/".Length..]));
        await _platform.DrainAsync();
        if (mergeAndSplit)
        {
            await _profiles.MergeProfilesAsync(new MergeProfilesRequest { Survivor = crm, Merged = shop, Reason = "looked like one household" });
            await _platform.DrainAsync();
        }

        await RecordAsync($"{run}-shop-after", InteractionType.TestDriveBooked, "dealer-site", Cookie("shop"));
        await RecordAsync($"{run}-crm-after", InteractionType.ContentConsumed, "dealer-site", Cookie("crm"));
        await RecordAsync($"{run}-shop-purchase", InteractionType.Purchase, "showroom", Cookie("shop"), Device("shop"));
        // Decisions taken while merged, each through one person's own identifier, are that person's alone.
        await GrantAsync("personalisation", Customer("shop"));
        await WithdrawAsync(Customer("crm"), "marketing-email");
        await _platform.DrainAsync();
        if (mergeAndSplit)
        {
            var response = await _profiles.SplitProfileAsync(new SplitProfileRequest { Name = crm, Merged = shop, Reason = "two people after all" });
            Assert.Equal(shop, response.Restored.Name);
            await _platform.DrainAsync();
        }

        var everyone = new[] { ("crm", crm), ("shop", shop) };
        if (eraseSurvivor)
        {
            // The crm customer holds the tablet when erased: their use of it goes, the shop customer's stays.
            await RecordAsync($"{run}-crm-tablet-again", InteractionType.View, "dealer-site", Customer("crm"), Device("tablet"));
            await _platform.DrainAsync();
            await _consent.RequestErasureAsync(new RequestErasureRequest { Person = Persons.Of(Customer("crm")) });
            await _platform.DrainAsync();
            everyone = [("shop", shop)];
        }

        var profiles = new List<string>();
        var timelines = new List<string>();
        var consent = new List<string>();
        var people = new List<string>();
        var audience = _platform.Services.GetRequiredService<IAudienceStore>();
        foreach (var (who, name) in everyone)
        {
            var profile = (await _profiles.GetProfileAsync(new GetProfileRequest { Name = name })).Profile;
            profiles.Add($"{who}: {profile.Stage} {string.Join(",", profile.Identifiers.Select(i => $"{i.Kind}={i.Value}").Order(StringComparer.Ordinal))} "
                + $"{string.Join(",", profile.Channels.Select(c => $"{c.Channel}={c.Interactions}"))} {profile.Purchases} {string.Join(",", profile.Interests.Select(i => i.Topic))} "
                + $"{string.Join(",", profile.ConsumedContents)} {string.Join(",", profile.Segments)}");
            foreach (var person in new[] { Identifier(IdentifierKind.ProfileId, name["profiles/".Length..]), Customer(who), Cookie(who), Device(who) })
            {
                var timeline = (await _touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(person), PageSize = 100 })).Interactions;
                timelines.Add($"{who} by {person.Kind}: {string.Join(",", timeline.Select(e => $"{e.Interaction.InteractionId}@{(e.Profile == name ? who : e.Profile)}"))}");
            }

            foreach (var purpose in new[] { "marketing-email", "personalisation" })
            {
                var check = await _consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(Customer(who)), Purpose = "purposes/" + purpose });
                consent.Add($"{who} {purpose}: {check.Allowed} {check.Reason}");
            }

            var chain = await _consent.VerifyConsentChainAsync(new VerifyConsentChainRequest { Person = Persons.Of(Customer(who)) });
            consent.Add($"{who}: chain {(chain.Intact ? "intact" : $"broken {chain.Break} at {chain.FirstBrokenSequence}")}");

            var row = (await audience.ReadContextAsync("dealer-site", [IdentifierKeys.ForProfile(name)], DateOnly.FromDateTime(DateTime.UtcNow), default)).Person;
            people.Add(row is null
                ? $"{who}: none"
                : $"{who}: {row.Key == IdentifierKeys.ForProfile(name)} {row.Stage} {string.Join(",", row.IdentifierKeys.Where(k => !k.StartsWith("7:", StringComparison.Ordinal)).Order(StringComparer.Ordinal))} "
                    + $"{string.Join(",", row.Consumed)} {string.Join(",", row.AllowedPurposes.Order(StringComparer.Ordinal))}");
        }

        var shared = (await _touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Device("tablet")), PageSize = 100 })).Interactions;
        timelines.Add($"by the shared {IdentifierKind.DeviceId}: {string.Join(",", shared.Select(e => $"{e.Interaction.InteractionId}@{everyone.FirstOrDefault(p => p.Item2 == e.Profile).Item1 ?? e.Profile}"))}");

        var analytics = new List<string>();
        foreach (var touchpoint in new[] { "dealer-site", "showroom" })
        {
            analytics.Add((await _touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/" + touchpoint })).Scorecard.ToString());
        }

        // When the funnel was computed differs between the two runs by their start; its figures may not.
        var funnel = await _touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest());
        funnel.ComputeTime = null;
        analytics.Add(funnel.ToString());
        analytics.Add((await _touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest { End = PathEnd.Purchase })).ToString());
        analytics.Add((await _touchpoints.GetJourneyPathsAsync(new GetJourneyPathsRequest { End = PathEnd.Touchpoint, EndTouchpoint = "touchpoints/showroom" })).ToString());

        return (Strip(profiles, run), Strip(timelines, run), Strip(analytics, run), Strip(consent, run), Strip(people, run));
    }

    private static string Strip(List<string> lines, string run) => string.Join("\n", lines).Replace(run + "-", "", StringComparison.Ordinal);

    private static Identifier Identifier(IdentifierKind kind, string value) => new() { Kind = kind, Value = value };

    private async Task RecordAsync(string id, InteractionType type, string touchpoint, params Identifier[] identifiers)
    {
        var interaction = new Interaction
        {
            InteractionId = id,
            Touchpoint = "touchpoints/" + touchpoint,
            OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Type = type,
        };
        if (type == InteractionType.ContentConsumed)
        {
            interaction.Content = "contents/suv-guide";
        }

        interaction.Identifiers.AddRange(identifiers);
        Assert.False((await _touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction })).Duplicate);
    }

    private async Task GrantAsync(string purpose, params Identifier[] who) =>
        await _consent.RecordConsentAsync(new RecordConsentRequest
        {
            Person = Persons.Of(who),
            Purpose = "purposes/" + purpose,
            Decision = Journey.Consent.V1.ConsentDecision.Granted,
            PolicyVersion = _policy,
            CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Touchpoint = "dealer-site",
        });

    private async Task WithdrawAsync(Identifier who, string purpose) =>
        await _consent.WithdrawConsentAsync(new WithdrawConsentRequest
        {
            Person = Persons.Of(who),
            Purpose = "purposes/" + purpose,
            PolicyVersion = _policy,
            CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Touchpoint = "dealer-site",
        });
}

/// <summary>The split end to end with every service on SQLite files.</summary>
public sealed class SqliteSplitEndToEndTests : SplitEndToEndTests;

/// <summary>The split end to end with every service on MongoDB (each run in databases of its own); runs where <c>JOURNEY_TEST_MONGODB</c> names a replica set.</summary>
public sealed class MongoSplitEndToEndTests : SplitEndToEndTests, IRequiresMongo
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Journey:Storage:Provider"] = "Mongo",
        ["Journey:Storage:Mongo:ConnectionString"] = MongoTestServer.ConnectionString,
        // Read once per run: each run's platform gets databases of its own.
        ["Journey:Storage:Mongo:DatabasePrefix"] = $"journey-split-{Guid.NewGuid():N}"[..24] + "-",
        ["Journey:Privacy:IdentifierHashKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        ["Journey:Privacy:EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };
}
