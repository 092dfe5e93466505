using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Health.V1;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Platform.V1;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Xunit.Abstractions;

namespace Journey.Host.Tests;

/// <summary>
/// What a newcomer meets: the README's host on a fresh data directory, with the demo on, answers at
/// once, loads the demo's people in the background, and then every report, segment and audience has
/// figures. It runs alone, not beside other host processes, because it measures start-up.
/// </summary>
[Collection(nameof(DemoDataTests))]
public sealed class DemoDataTests(ITestOutputHelper output)
{
    private static readonly TimeSpan FirstAnswerLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LoadLimit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Start_OnAFreshDataDirectory_AnswersAtOnceAndLoadsPeopleEveryReportShows()
    {
        using var scratch = new ScratchDirectory("journey-demo-people-");
        var data = scratch.Path;
        var clock = Stopwatch.StartNew();
        await using var host = HostProcess.Start(data, "--Journey:Demo:Enabled=true");

        await host.WaitUntilListeningAsync();
        var listening = clock.Elapsed;
        using var anonymous = host.CreateChannel();
        var health = new Health.HealthClient(anonymous);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "live" })).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "ready" })).Status);
        using var channel = host.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        await new DiagnosticsService.DiagnosticsServiceClient(channel).PingAsync(new PingRequest());
        var firstAnswer = clock.Elapsed;

        var loaded = await TestPlatform.EventuallyAsync(() => Task.FromResult(host.Output.Contains(DemoData.LoadedMessage, StringComparison.Ordinal)), LoadLimit - clock.Elapsed);
        var load = clock.Elapsed;
        output.WriteLine($"listening {listening.TotalSeconds:0.0} s, first answer (live, ready, Ping) {firstAnswer.TotalSeconds:0.0} s after start; demo loaded {load.TotalSeconds:0.0} s after start");
        output.WriteLine(host.Output.Split('\n').LastOrDefault(l => l.Contains(DemoData.LoadedMessage, StringComparison.Ordinal)) ?? "");
        Assert.True(loaded, $"the demo was not loaded {LoadLimit.TotalSeconds} s after start:\n{host.Output}");
        Assert.DoesNotContain("Demo data not loaded", host.Output);
        Assert.DoesNotContain("were refused", host.Output);

        var touchpoints = new TouchpointService.TouchpointServiceClient(channel);
        var funnel = await touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest());
        Assert.True(funnel.Stages.Count(s => s.People > 0) >= 4, $"people in fewer than four stages: {funnel}");
        Assert.True(funnel.Stages.Single(s => s.Stage == JourneyStage.Purchase).People > 0, funnel.ToString());
        Assert.True(funnel.Stages.Single(s => s.Stage == JourneyStage.Awareness).ConvertedToNext > 0, funnel.ToString());
        var beforePurchase = funnel.TouchpointsBeforePurchase;
        Assert.True(beforePurchase.Purchases > 0, funnel.ToString());
        Assert.True(beforePurchase.Median > 0 && beforePurchase.P90 >= beforePurchase.Median && beforePurchase.Mean > 0, beforePurchase.ToString());

        // People who went silent longer than the silence period show only over a period reaching back before it.
        var longer = await touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest
        {
            Period = new Period { StartTime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-120)) },
        });
        Assert.NotEmpty(longer.DropOffPoints);
        Assert.All(longer.DropOffPoints, d => Assert.True(d.People > 0 && d.DisplayName.Length > 0, d.ToString()));

        var gaps = await touchpoints.ListExperienceGapsAsync(new ListExperienceGapsRequest());
        Assert.NotEmpty(gaps.Gaps);
        Assert.All(gaps.Gaps, g => Assert.True(g.Gap > 0 && g.AverageRating < g.TargetRating && g.RatedInteractions > 0, g.ToString()));

        var searchAd = (await touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/search-ad" })).Scorecard;
        Assert.True(searchAd.UniquePeople > 0 && searchAd.Interactions >= searchAd.UniquePeople, searchAd.ToString());
        var dealer = (await touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/dealer" })).Scorecard;
        Assert.True(dealer.Purchasers > 0 && dealer.RatedInteractions > 0, dealer.ToString());

        var profiles = new ProfileService.ProfileServiceClient(channel);
        foreach (var segment in DemoPeople.Segments)
        {
            var members = await profiles.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = segment, PageSize = 500 });
            output.WriteLine($"{segment}: {members.Profiles.Count} members");
        }

        var owners = await profiles.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/owners", PageSize = 500 });
        Assert.NotEmpty(owners.Profiles);
        var audience = await profiles.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = "segments/owners" });
        Assert.False(audience.BelowMinimum, audience.ToString());
        Assert.True(audience.Size >= audience.MinimumSize && audience.MinimumSize >= 10, audience.ToString());
        Assert.NotEmpty(audience.Stages);
        Assert.NotEmpty(audience.Channels);
        Assert.All(audience.Channels, c => Assert.True(c.Members >= audience.MinimumSize, c.ToString()));

        var ticketHolder = new Identifier { Kind = IdentifierKind.Email, Value = DemoPeople.OpenTicketEmail };
        Assert.Equal(1, (await profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(ticketHolder) })).Profile.OpenServiceTickets);
        var recommendations = new RecommendationService.RecommendationServiceClient(channel);
        RecommendResponse? recommended = null;
        var serviceOnly = await TestPlatform.EventuallyAsync(async () =>
        {
            recommended = await recommendations.RecommendAsync(new RecommendRequest { Person = Persons.Of(ticketHolder), Touchpoint = "touchpoints/model-pages", Count = 5 });
            return recommended.Items.Count > 0 && recommended.Items.All(i => i.Reasons.Any(r => r.Code == ReasonCode.ServiceTicketOpen));
        }, TimeSpan.FromSeconds(15));
        Assert.True(serviceOnly, $"the owner with an open ticket was recommended: {recommended}");
        foreach (var item in recommended!.Items)
        {
            Assert.Equal(ContentPurpose.Service, (await recommendations.GetContentAsync(new GetContentRequest { Name = item.Content })).Content.Purpose);
        }

        var withdrawn = await new ConsentService.ConsentServiceClient(channel).CheckConsentAsync(new CheckConsentRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = DemoPeople.WithdrawnEmail }),
            Purpose = "purposes/marketing-email",
            Channel = Channel.Email,
        });
        Assert.False(withdrawn.Allowed);
        Assert.Equal(DecisionReason.Withdrawn, withdrawn.Reason);

        // Checked last, so a slow start still shows whether everything else holds.
        Assert.True(firstAnswer < FirstAnswerLimit, $"the host first answered {firstAnswer.TotalSeconds:0.0} s after start (listening after {listening.TotalSeconds:0.0} s)");
    }

    [Fact]
    public void DemoOptions_ByDefault_LoadFourHundredPeople()
    {
        var options = new DemoOptions();

        Assert.True(options.Enabled);
        Assert.Equal(400, options.People);
        Assert.True(new DemoOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2001)]
    public async Task Start_WhenDemoPeopleIsOutOfRange_ExitsWithOneLineNamingIt(int people)
    {
        using var scratch = new ScratchDirectory("journey-demo-people-");
        await using var host = HostProcess.Start(scratch.Path, "--Journey:Demo:Enabled=true", $"--Journey:Demo:People={people}");

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
        Assert.Contains("Journey:Demo: ", line);
        Assert.Contains("People", line);
    }

    [Fact]
    public void Create_WithTheSameMoment_GivesTheSamePeopleWithinRetentionAndBeforeNow()
    {
        var now = new DateTimeOffset(2026, 5, 4, 10, 30, 15, TimeSpan.Zero);
        var retention = TimeSpan.FromDays(400);

        var first = DemoPeople.Create(400, now, TimeSpan.FromDays(30), retention);
        var second = DemoPeople.Create(400, now, TimeSpan.FromDays(30), retention);

        var interactions = first.SelectMany(p => p.Interactions).ToList();
        Assert.Equal(interactions, second.SelectMany(p => p.Interactions));
        Assert.Equal(first.SelectMany(p => p.Consents), second.SelectMany(p => p.Consents));
        Assert.All(interactions, i => Assert.InRange(i.OccurTime.ToDateTimeOffset(), now - retention, now));
        Assert.Equal(interactions.Count, interactions.Select(i => i.InteractionId).Distinct().Count());
        Assert.Single(first, p => p.Withdrawal is not null);
        Assert.Contains(first, p => p.Interactions.Any(i => i.Type == InteractionType.Purchase));
    }

    [Fact]
    public void Create_WhenRetentionIsShort_LeavesOutOnlyWhatIsOlder()
    {
        var now = new DateTimeOffset(2026, 5, 4, 10, 30, 15, TimeSpan.Zero);

        var people = DemoPeople.Create(400, now, TimeSpan.FromDays(30), TimeSpan.FromDays(20));

        var interactions = people.SelectMany(p => p.Interactions).ToList();
        Assert.NotEmpty(interactions);
        Assert.All(interactions, i => Assert.True(i.OccurTime.ToDateTimeOffset() > now - TimeSpan.FromDays(20), i.ToString()));
        Assert.True(interactions.Count < DemoPeople.Create(400, now, TimeSpan.FromDays(30), TimeSpan.FromDays(400)).Sum(p => p.Interactions.Count));
    }
}

/// <summary>Runs the demo's start-up measurement with no other test class beside it.</summary>
[CollectionDefinition(nameof(DemoDataTests), DisableParallelization = true)]
public sealed class DemoDataCollection;
