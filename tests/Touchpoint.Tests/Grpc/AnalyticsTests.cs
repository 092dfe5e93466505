using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Shared.Reports;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Touchpoint.Tests.Grpc.TouchpointHost;

namespace Journey.Touchpoint.Tests.Grpc;

/// <summary>
/// A small known journey data set, all on 2026-02-20 (day D) and 2026-02-22 (D+2); the clock stands at
/// 2026-03-01 with a silence period of 5 days and a purchase window of 3 days.
///   ann:  ad (awareness, D 10:00) -> review (evaluation, D 11:00, rating 2) -> store (purchase, D+2 09:00, PURCHASE, rating 5)
///   bob:  ad (D 10:00) -> review (D 12:00, rating 3) -> silent
///   cara: ad (D 10:00) -> silent
///   dan:  review (D 13:00, rating 4) -> web (evaluation, D 14:00) -> store (D+2 10:00, PURCHASE)
/// Touchpoints: ad crit 2 target 4.0; review crit 5 target 4.5; store crit 3 target 4.0; web crit 1 target 4.0.
/// </summary>
public sealed class AnalyticsTests() : HostedTests<TouchpointHost>(() => SeededAsync(TouchpointHost.Start))
{
    private static readonly DateTimeOffset D = new(2026, 2, 20, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A host holding the people above whose clock says <paramref name="now"/> (a test clock never goes back, so an earlier "now" needs a host of its own).</summary>
    private static async Task<TouchpointHost> SeededAsync(DateTimeOffset now, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Journey:Touchpoint:SilencePeriod"] = "5.00:00:00",
            ["Journey:Touchpoint:PurchaseWindow"] = "3.00:00:00",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var host = await StartAsync(settings, now);
        await host.CreateAsync("ad", NewTouchpoint("Ad", Channel.PaidAd, Ownership.Paid, 2, 4.0, JourneyStage.Awareness));
        await host.CreateAsync("review", NewTouchpoint("Review site", Channel.ThirdPartyReview, Ownership.Earned, 5, 4.5, JourneyStage.Evaluation));
        await host.CreateAsync("store", NewTouchpoint("Store", Channel.DealerStore, Ownership.Owned, 3, 4.0, JourneyStage.Purchase));
        await host.CreateAsync("web", NewTouchpoint("Web", Channel.Web, Ownership.Owned, 1, 4.0, JourneyStage.Evaluation));

        // Sent out of order, in two batches, to show the aggregates do not depend on arrival order.
        await RecordAsync(
            host,
            NewInteraction("a3", "touchpoints/store", D.AddDays(2).AddHours(9), "ann", InteractionType.Purchase, 5),
            NewInteraction("a1", "touchpoints/ad", D.AddHours(10), "ann"),
            NewInteraction("b1", "touchpoints/ad", D.AddHours(10), "bob"),
            NewInteraction("c1", "touchpoints/ad", D.AddHours(10), "cara"));
        await RecordAsync(
            host,
            NewInteraction("a2", "touchpoints/review", D.AddHours(11), "ann", InteractionType.Feedback, 2),
            NewInteraction("b2", "touchpoints/review", D.AddHours(12), "bob", InteractionType.Feedback, 3),
            NewInteraction("d1", "touchpoints/review", D.AddHours(13), "dan", InteractionType.Feedback, 4),
            NewInteraction("d2", "touchpoints/web", D.AddHours(14), "dan"),
            NewInteraction("d3", "touchpoints/store", D.AddDays(2).AddHours(10), "dan", InteractionType.Purchase));

        return host;
    }

    [Fact]
    public async Task Scorecard_MatchesHandComputedFigures()
    {
        var review = await ScorecardAsync("review");
        // 3 interactions by 3 people; ratings 2,3,4 -> 3.0 against 4.5 -> gap 1.5.
        // Ann (D 11:00) bought D+2 09:00 and Dan (D 13:00) D+2 10:00, both within 3 days; Bob never: 2 of 3.
        Assert.Equal(3, review.Interactions);
        Assert.Equal(3, review.UniquePeople);
        Assert.Equal(3, review.RatedInteractions);
        Assert.Equal(3.0, review.AverageRating, 9);
        Assert.Equal(1.5, review.ExperienceGap, 9);
        Assert.Equal(2, review.Purchasers);
        Assert.Equal(2.0 / 3, review.PurchaseRate, 9);
        Assert.Equal(TimeSpan.FromDays(3), review.PurchaseWindow.ToTimeSpan());
        Assert.Equal("Review site", review.DisplayName);
        Assert.Equal(5, review.Criticality);
        Assert.Equal(4.5, review.TargetRating);
        Assert.Equal(Period(D, D.AddDays(3)), review.Period);

        var ad = await ScorecardAsync("ad");
        // Ann bought 47 hours after the ad; Bob and Cara never: 1 of 3. No ratings: gap 0.
        Assert.Equal(3, ad.UniquePeople);
        Assert.Equal(1, ad.Purchasers);
        Assert.Equal(0, ad.RatedInteractions);
        Assert.Equal(0, ad.ExperienceGap);
    }

    [Fact]
    public async Task Scorecard_WhenPurchaseFallsOutsideTheWindow_DoesNotCountIt()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Journey:Touchpoint:PurchaseWindow"] = "1.00:00:00" });
        await host.CreateAsync("ad", NewTouchpoint("Ad", Channel.PaidAd, Ownership.Paid, 2, 4.0, JourneyStage.Awareness));
        await host.CreateAsync("store", NewTouchpoint("Store", Channel.DealerStore, Ownership.Owned, 3, 4.0, JourneyStage.Purchase));
        await host.Client.RecordInteractionsAsync(new RecordInteractionsRequest
        {
            Interactions =
            {
                NewInteraction("a1", "touchpoints/ad", D.AddHours(10), "ann"),
                NewInteraction("a2", "touchpoints/store", D.AddDays(2).AddHours(9), "ann", InteractionType.Purchase),
            },
        });

        var ad = (await host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/ad", Period = Period(D, D.AddDays(3)) })).Scorecard;

        Assert.Equal(1, ad.UniquePeople);
        Assert.Equal(0, ad.Purchasers);
    }

    [Fact]
    public async Task Funnel_MatchesHandComputedFigures()
    {
        var funnel = await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = Period(D, D.AddDays(3)) });

        // Awareness: ann, bob, cara = 3. Consideration: 0. Evaluation: ann, bob, dan = 3. Purchase: ann, dan = 2.
        Assert.Equal([3L, 0, 3, 2, 0, 0], funnel.Stages.Select(s => s.People));
        Assert.Equal(JourneyStage.Awareness, funnel.Stages[0].Stage);
        // Awareness -> consideration: 0 of 3; consideration -> evaluation: nobody at the stage; evaluation -> purchase: ann and dan, 2 of 3.
        Assert.Equal([0L, 0, 2, 0, 0, 0], funnel.Stages.Select(s => s.ConvertedToNext));
        Assert.Equal([0, 0, 2.0 / 3, 0, 0, 0], funnel.Stages.Select(s => s.ConversionToNext), new ToleranceComparer());
        // Touchpoints met before the purchase: ann ad+review = 2, dan review+web = 2 -> median 2, p90 2, mean 2.
        Assert.Equal(2, funnel.TouchpointsBeforePurchase.Purchases);
        Assert.Equal(2, funnel.TouchpointsBeforePurchase.Median);
        Assert.Equal(2, funnel.TouchpointsBeforePurchase.P90);
        Assert.Equal(2, funnel.TouchpointsBeforePurchase.Mean);
        Assert.Equal([(2L, 2L)], funnel.TouchpointsBeforePurchase.Distribution.Select(d => (d.Touchpoints, d.Purchases)));
        // Silent without buying for 5+ days: bob last at review, cara last at ad; each is half of those who went silent.
        Assert.Equal([("touchpoints/ad", "Ad", 1L, 0.5), ("touchpoints/review", "Review site", 1L, 0.5)], funnel.DropOffPoints.Select(d => (d.Touchpoint, d.DisplayName, d.People, d.Share)));
        Assert.Equal(TimeSpan.FromDays(5), funnel.SilenceAfter.ToTimeSpan());
        Assert.Equal(Period(D, D.AddDays(3)), funnel.Period);
        Assert.Equal(Host.Clock.GetUtcNow(), funnel.ComputeTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task Funnel_WhenKept_IsAnsweredUntilTooOldAndThenRefreshed()
    {
        // Every funnel counts as slow here, so each is kept for a minute.
        await using var host = await SeededAsync(TouchpointHost.Start, new Dictionary<string, string?>
        {
            ["Journey:Reports:KeepSlowerThan"] = "00:00:00",
            ["Journey:Reports:MaxAge"] = "00:01:00",
        });
        var request = new GetJourneyFunnelRequest { Period = Period(D, D.AddDays(3)) };
        var first = await host.Client.GetJourneyFunnelAsync(request);

        await RecordAsync(host, NewInteraction("e1", "touchpoints/ad", D.AddHours(15), "eve"));
        var kept = await host.Client.GetJourneyFunnelAsync(request);
        host.Clock.Advance(TimeSpan.FromMinutes(1));
        var stale = await host.Client.GetJourneyFunnelAsync(request);
        await host.Platform.Services.GetRequiredService<ReportCache<Journey.Touchpoint.Domain.FunnelKey, Journey.Touchpoint.Domain.Funnel>>().WhenComputedAsync();
        var refreshed = await host.Client.GetJourneyFunnelAsync(request);

        Assert.Equal(3, first.Stages[0].People);
        Assert.Equal(first, kept);
        Assert.Equal(first, stale);
        Assert.Equal(4, refreshed.Stages[0].People);
        Assert.Equal(host.Clock.GetUtcNow(), refreshed.ComputeTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task Paths_ToPurchase_MatchHandComputedFigures()
    {
        var paths = await Host.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest { Period = Period(D, D.AddDays(3)), End = PathEnd.Purchase });

        // ann: ad -> review -> store (bought there); dan: review -> web -> store. One person each, half of the two.
        Assert.Equal((2L, 2L), (paths.People, paths.PeopleConsidered));
        Assert.Equal(
            [("touchpoints/ad touchpoints/review touchpoints/store", false, 1L, 0.5), ("touchpoints/review touchpoints/web touchpoints/store", false, 1L, 0.5)],
            paths.Paths.Select(p => (string.Join(' ', p.Steps.Select(s => s.Touchpoint)), p.EarlierSteps, p.People, p.Share)));
        Assert.Equal(["Ad", "Review site", "Store"], paths.Paths[0].Steps.Select(s => s.DisplayName));
        // Counted from the end: both reached the purchase from the store; the other links carry one person each.
        Assert.Equal(
            [(1, "touchpoints/store", "", 2L), (3, "touchpoints/ad", "touchpoints/review", 1), (3, "touchpoints/review", "touchpoints/web", 1), (2, "touchpoints/review", "touchpoints/store", 1), (2, "touchpoints/web", "touchpoints/store", 1)],
            paths.Links.Select(l => (l.StepsBeforeEnd, l.FromTouchpoint, l.ToTouchpoint, l.People)));
        Assert.Equal("Web", paths.DisplayNames["touchpoints/web"]);
        Assert.Equal(Period(D, D.AddDays(3)), paths.Period);
    }

    [Fact]
    public async Task Paths_WithFewerStepsThanPeopleTook_KeepTheLastOnesAndSaySo()
    {
        var paths = await Host.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest { Period = Period(D, D.AddDays(3)), End = PathEnd.Purchase, MaxSteps = 1, LinkLimit = 1 });

        // Both paths end at the store: one path of two people, each with earlier steps.
        var path = Assert.Single(paths.Paths);
        Assert.Equal(("touchpoints/store", true, 2L, 1.0), (Assert.Single(path.Steps).Touchpoint, path.EarlierSteps, path.People, path.Share));
        Assert.Equal((1, "touchpoints/store", 2L), Assert.Single(paths.Links.Select(l => (l.StepsBeforeEnd, l.FromTouchpoint, l.People))));
    }

    [Fact]
    public async Task Paths_ToDropOff_AreThoseOfPeopleSilentWithoutBuying()
    {
        var paths = await Host.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest { Period = Period(D, D.AddDays(3)), End = PathEnd.DropOff });

        // bob: ad -> review -> silent; cara: ad -> silent.
        Assert.Equal((2L, 2L), (paths.People, paths.PeopleConsidered));
        Assert.Equal(["touchpoints/ad", "touchpoints/ad touchpoints/review"], paths.Paths.Select(p => string.Join(' ', p.Steps.Select(s => s.Touchpoint))));
        Assert.Equal(
            [(2, "touchpoints/ad", "touchpoints/review", 1L), (1, "touchpoints/ad", "", 1), (1, "touchpoints/review", "", 1)],
            paths.Links.Select(l => (l.StepsBeforeEnd, l.FromTouchpoint, l.ToTouchpoint, l.People)));
        Assert.Equal(TimeSpan.FromDays(5), paths.SilenceAfter.ToTimeSpan());

        await using var early = await SeededAsync(D.AddDays(3));
        Assert.Empty((await early.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest { Period = Period(D, D.AddDays(3)), End = PathEnd.DropOff })).Paths);
    }

    [Fact]
    public async Task Paths_ToATouchpoint_EndAtTheFirstMeetingWithIt()
    {
        var paths = await Host.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest
        {
            Period = Period(D, D.AddDays(3)),
            End = PathEnd.Touchpoint,
            EndTouchpoint = "touchpoints/review",
        });

        // ann and bob met the ad before the review; dan met the review first of all.
        Assert.Equal(("touchpoints/review", 3L, 3L), (paths.EndTouchpoint, paths.People, paths.PeopleConsidered));
        Assert.Equal(
            [("touchpoints/ad", 2L), ("", 1L)],
            paths.Paths.Select(p => (string.Join(' ', p.Steps.Select(s => s.Touchpoint)), p.People)));
        Assert.Equal((1, "touchpoints/ad", "", 2L), Assert.Single(paths.Links.Select(l => (l.StepsBeforeEnd, l.FromTouchpoint, l.ToTouchpoint, l.People))));
        Assert.Equal("Review site", paths.DisplayNames["touchpoints/review"]);
    }

    [Fact]
    public async Task Paths_FromAStart_CountOnlyThoseWhoMetIt_FromTheStart()
    {
        var paths = await Host.Client.GetJourneyPathsAsync(new GetJourneyPathsRequest
        {
            Period = Period(D, D.AddDays(3)),
            End = PathEnd.Purchase,
            StartTouchpoint = "touchpoints/review",
            MaxSteps = 2,
        });

        // Both buyers met the review: ann went on to the store and bought; dan to the web, then the store.
        Assert.Equal(("touchpoints/review", 2L, 2L), (paths.StartTouchpoint, paths.People, paths.PeopleThroughStart));
        Assert.Equal(
            [("touchpoints/review touchpoints/store", false, 1L, 0.5), ("touchpoints/review touchpoints/web", true, 1L, 0.5)],
            paths.Paths.Select(p => (string.Join(' ', p.Steps.Select(s => s.Touchpoint)), p.LaterSteps, p.People, p.Share)));
        Assert.Equal(
            [(1, "touchpoints/review", "touchpoints/store", 1L), (1, "touchpoints/review", "touchpoints/web", 1), (2, "touchpoints/store", "", 1)],
            paths.Links.Select(l => (l.StepsAfterStart, l.FromTouchpoint, l.ToTouchpoint, l.People)));
        Assert.All(paths.Links, l => Assert.Equal(0, l.StepsBeforeEnd));
    }

    [Theory]
    [InlineData(3, "", "", "end_touchpoint")]
    [InlineData(1, "touchpoints/store", "", "end_touchpoint")]
    [InlineData(1, "", "store", "start_touchpoint")]
    [InlineData(3, "touchpoints/store", "touchpoints/store", "start_touchpoint")]
    public async Task Paths_WithAMisplacedTouchpoint_AreInvalidArgumentNamingIt(int end, string endTouchpoint, string startTouchpoint, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyPathsAsync(
            new GetJourneyPathsRequest { End = (PathEnd)end, EndTouchpoint = endTouchpoint, StartTouchpoint = startTouchpoint }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Assert.Single(error.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field);
    }

    [Theory]
    [InlineData(0, 0, 0, 0, "end")]
    [InlineData(1, 11, 0, 0, "max_steps")]
    [InlineData(2, -1, 0, 0, "max_steps")]
    [InlineData(1, 0, 101, 0, "path_limit")]
    [InlineData(2, 0, 0, -1, "link_limit")]
    [InlineData(7, 0, 0, 0, "end")]
    public async Task Paths_WithBadRequest_AreInvalidArgumentNamingTheField(int end, int maxSteps, int pathLimit, int linkLimit, string field)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyPathsAsync(
            new GetJourneyPathsRequest { End = (PathEnd)end, MaxSteps = maxSteps, PathLimit = pathLimit, LinkLimit = linkLimit }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Assert.Single(error.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field);
    }

    [Fact]
    public async Task Funnel_WhenPeopleAreNotYetSilentLongEnough_ListsNoDropOffs()
    {
        await using var early = await SeededAsync(D.AddDays(3));

        var funnel = await early.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = Period(D, D.AddDays(3)) });

        Assert.Empty(funnel.DropOffPoints);
    }

    [Fact]
    public async Task ExperienceGaps_AreRankedByCriticalityTimesGap()
    {
        var gaps = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(3)) });

        // review: 5 x (4.5 - 3.0) = 7.5; store: rated 5 against 4.0 -> no gap; ad and web unrated.
        var gap = Assert.Single(gaps.Gaps);
        Assert.Equal("touchpoints/review", gap.Touchpoint);
        Assert.Equal(1.5, gap.Gap, 9);
        Assert.Equal(7.5, gap.Priority, 9);
        Assert.Equal(3, gap.RatedInteractions);
        Assert.Equal("Review site", gap.DisplayName);
        Assert.Equal("web-team", gap.OwningTeam);
    }

    [Fact]
    public async Task ExperienceGaps_PageThroughTheRanking()
    {
        await RecordAsync(
            NewInteraction("x1", "touchpoints/web", D.AddHours(15), "eve", InteractionType.Feedback, 1),
            NewInteraction("x2", "touchpoints/ad", D.AddHours(15), "eve", InteractionType.Feedback, 3));

        var first = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(3)), PageSize = 2 });
        var second = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(3)), PageSize = 2, PageToken = first.NextPageToken });

        // review 7.5, web 1 x 3.0 = 3.0, ad 2 x 1.0 = 2.0.
        Assert.Equal(["touchpoints/review", "touchpoints/web"], first.Gaps.Select(g => g.Touchpoint));
        Assert.Equal(["touchpoints/ad"], second.Gaps.Select(g => g.Touchpoint));
        Assert.Empty(second.NextPageToken);
    }

    [Fact]
    public async Task Analytics_WithBadPeriod_IsInvalidArgument()
    {
        var reversed = Period(D.AddDays(3), D);

        var errors = new[]
        {
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = new Period { EndTime = new Timestamp { Seconds = long.MaxValue } } })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = reversed })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(500)) })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/ad", Period = Period(D, D) })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { DropOffLimit = 101 })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { MinRatings = -1 })),
        };

        Assert.All(errors, e => Assert.Equal(StatusCode.InvalidArgument, e.StatusCode));
    }

    [Fact]
    public async Task Scorecard_WhenPeriodEndsOneNanosecondAfterMidnight_TakesInTheDayStartingThere()
    {
        var justAfter = Timestamp.FromDateTimeOffset(D);
        justAfter.Nanos = 1;

        var review = (await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest
        {
            Name = "touchpoints/review",
            Period = new Period { StartTime = Timestamp.FromDateTimeOffset(D.AddDays(-1)), EndTime = justAfter },
        })).Scorecard;

        // The instant D itself is inside [D - 1 day, D + 1 ns), so day D is reported with its three interactions.
        Assert.Equal(Period(D.AddDays(-1), D.AddDays(1)), review.Period);
        Assert.Equal(3, review.Interactions);
    }

    [Theory]
    [InlineData("end-first-instant", "period.end_time")]
    [InlineData("end-last-nanosecond", "period.end_time")]
    [InlineData("start-last-nanosecond", "period.start_time")]
    [InlineData("start-first-instant", "period")]
    public async Task Analytics_WhenPeriodCannotBeReported_AreInvalidArgumentNamingTheField(string @case, string field)
    {
        var first = new Timestamp { Seconds = -62_135_596_800 };
        var last = new Timestamp { Seconds = 253_402_300_799, Nanos = 999_999_999 };
        var period = @case switch
        {
            "end-first-instant" => new Period { EndTime = first },
            "end-last-nanosecond" => new Period { EndTime = last },
            "start-last-nanosecond" => new Period { StartTime = last },
            _ => new Period { StartTime = first },
        };

        var errors = new[]
        {
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = period })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = period })),
            await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/ad", Period = period })),
        };

        Assert.All(errors, e =>
        {
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal(field, Assert.Single(e.GetRpcStatus()!.GetDetail<Google.Rpc.BadRequest>().FieldViolations).Field);
        });
    }

    [Fact]
    public async Task Analytics_WhenPeriodEndsInTheFirstDayOfTheYear1_ReportThatDay()
    {
        var end = new Timestamp { Seconds = -62_135_596_800, Nanos = 1 };

        var funnel = await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest { Period = new Period { EndTime = end } });
        var gaps = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = new Period { EndTime = end } });
        var scorecard = await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/ad", Period = new Period { EndTime = end } });

        var firstDay = Period(DateTimeOffset.MinValue, DateTimeOffset.MinValue.AddDays(1));
        Assert.Equal(firstDay, funnel.Period);
        Assert.Equal(firstDay, gaps.Period);
        Assert.Equal(firstDay, scorecard.Scorecard.Period);
        Assert.All(funnel.Stages, s => Assert.Equal(0, s.People));
        Assert.Empty(gaps.Gaps);
    }

    [Fact]
    public async Task Analytics_WhenPeriodIsOpen_CoverTheLast30DaysUpToToday()
    {
        // The clock stands at 2026-03-01 09:00: the default period is 2026-01-31 to the end of 2026-03-01, covering every interaction.
        var funnel = await Host.Client.GetJourneyFunnelAsync(new GetJourneyFunnelRequest());
        var gaps = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = new Period { EndTime = Timestamp.FromDateTimeOffset(D.AddDays(1)) } });

        Assert.Equal(Period(new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero)), funnel.Period);
        Assert.Equal([3L, 0, 3, 2, 0, 0], funnel.Stages.Select(s => s.People));
        // Only day D: the review's three ratings fall on it.
        Assert.Equal(Period(D.AddDays(-29), D.AddDays(1)), gaps.Period);
        Assert.Equal(3, Assert.Single(gaps.Gaps).RatedInteractions);
    }

    [Fact]
    public async Task ExperienceGaps_WithMinRatings_SkipTouchpointsRatedLessOften()
    {
        await RecordAsync(NewInteraction("x1", "touchpoints/web", D.AddHours(15), "eve", InteractionType.Feedback, 1));

        var all = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(3)) });
        var often = await Host.Client.ListExperienceGapsAsync(new ListExperienceGapsRequest { Period = Period(D, D.AddDays(3)), MinRatings = 2 });

        Assert.Equal(["touchpoints/review", "touchpoints/web"], all.Gaps.Select(g => g.Touchpoint));
        Assert.Equal(["touchpoints/review"], often.Gaps.Select(g => g.Touchpoint));
    }

    [Fact]
    public async Task Scorecard_WhenTouchpointUnknown_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/none", Period = Period(D, D.AddDays(1)) }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    private async Task<TouchpointScorecard> ScorecardAsync(string id) =>
        (await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = $"touchpoints/{id}", Period = Period(D, D.AddDays(3)) })).Scorecard;

    private static Period Period(DateTimeOffset start, DateTimeOffset end) =>
        new() { StartTime = Timestamp.FromDateTimeOffset(start), EndTime = Timestamp.FromDateTimeOffset(end) };

    private Task RecordAsync(params V1.Interaction[] interactions) => RecordAsync(Host, interactions);

    private static async Task RecordAsync(TouchpointHost host, params V1.Interaction[] interactions)
    {
        var response = await host.Client.RecordInteractionsAsync(new RecordInteractionsRequest { Interactions = { interactions } });
        Assert.Empty(response.Rejected);
    }
}

internal sealed class ToleranceComparer : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

    public int GetHashCode(double obj) => 0;
}
