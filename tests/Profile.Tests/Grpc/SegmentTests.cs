using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Profile.V1;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

// These tests check which figures a description shows; noise this small rounds away, so the
// figures are exact. AudienceDifferencingTests runs with the default noise.
public sealed class SegmentTests() : HostedTests<ProfileHost>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Profile:AudienceNoiseEpsilon"] = "1000" }))
{
    public static TheoryData<string, string> InvalidRules => new()
    {
        { "missing-rule", "segment.rule" },
        { "empty-group", "segment.rule.all.rules" },
        { "readiness-out-of-range", "segment.rule.all.rules[1].condition.number" },
        { "operator-does-not-apply", "segment.rule.condition.operator" },
        { "interest-without-key", "segment.rule.any.rules[0].condition.key" },
        { "stage-without-value", "segment.rule.not.condition.stage" },
        { "field-missing", "segment.rule.condition.field" },
        { "trait-exists-with-value", "segment.rule.condition" },
        { "bad-id", "segment_id" },
        { "no-name", "segment.display_name" },
    };

    [Theory]
    [MemberData(nameof(InvalidRules))]
    public async Task CreateSegment_WhenRuleInvalid_NamesTheField(string @case, string field)
    {
        var request = new CreateSegmentRequest { SegmentId = "s-" + @case, Segment = new Segment { DisplayName = "Test" } };
        switch (@case)
        {
            case "missing-rule":
                break;
            case "empty-group":
                request.Segment.Rule = new SegmentRule { All = new SegmentRuleGroup() };
                break;
            case "readiness-out-of-range":
                request.Segment.Rule = All(Condition(SegmentField.Stage, SegmentOperator.GreaterOrEqual, c => c.Stage = JourneyStage.Evaluation), Condition(SegmentField.Readiness, SegmentOperator.GreaterThan, c => c.Number = 140));
                break;
            case "operator-does-not-apply":
                request.Segment.Rule = Condition(SegmentField.AbandonedCart, SegmentOperator.GreaterThan, c => c.Flag = true);
                break;
            case "interest-without-key":
                request.Segment.Rule = new SegmentRule { Any = Group(Condition(SegmentField.Interest, SegmentOperator.GreaterThan, c => c.Number = 0.5)) };
                break;
            case "stage-without-value":
                request.Segment.Rule = new SegmentRule { Not = Condition(SegmentField.Stage, SegmentOperator.Equals, _ => { }) };
                break;
            case "field-missing":
                request.Segment.Rule = Condition(SegmentField.Unspecified, SegmentOperator.Equals, c => c.Number = 1);
                break;
            case "trait-exists-with-value":
                request.Segment.Rule = Condition(SegmentField.Trait, SegmentOperator.Exists, c => { c.Key = "fleet"; c.Text = "yes"; });
                break;
            case "bad-id":
                request.SegmentId = "Bad_Id";
                request.Segment.Rule = ReadyRule(50);
                break;
            case "no-name":
                request.Segment.DisplayName = "  ";
                request.Segment.Rule = ReadyRule(50);
                break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.CreateSegmentAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, IdentityTests.Violations(error));
    }

    [Fact]
    public async Task CreateSegment_WhenIdTaken_IsAlreadyExists()
    {
        await CreateAsync("twice", ReadyRule(50));

        var error = await Assert.ThrowsAsync<RpcException>(() => CreateAsync("twice", ReadyRule(60)));

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Fact]
    public async Task Segments_CanBeReadListedPagedAndDeleted()
    {
        var rule = All(
            Condition(SegmentField.CustomerType, SegmentOperator.Equals, c => c.CustomerType = CustomerType.Known),
            new SegmentRule { Not = Condition(SegmentField.Trait, SegmentOperator.Exists, c => c.Key = "fleet") },
            Condition(SegmentField.DaysSinceLastInteraction, SegmentOperator.LessOrEqual, c => c.Number = 30));
        var created = await CreateAsync("a-known", rule);
        await CreateAsync("b-ready", ReadyRule(50));
        await CreateAsync("c-ready", ReadyRule(70));

        var read = (await Host.Client.GetSegmentAsync(new GetSegmentRequest { Name = "segments/a-known" })).Segment;
        var first = await Host.Client.ListSegmentsAsync(new ListSegmentsRequest { PageSize = 2 });
        var second = await Host.Client.ListSegmentsAsync(new ListSegmentsRequest { PageSize = 2, PageToken = first.NextPageToken });
        await Host.Client.DeleteSegmentAsync(new DeleteSegmentRequest { Name = "segments/b-ready" });
        var missing = await Assert.ThrowsAsync<RpcException>(() => Host.Client.GetSegmentAsync(new GetSegmentRequest { Name = "segments/b-ready" }).ResponseAsync);
        var deleteAgain = await Assert.ThrowsAsync<RpcException>(() => Host.Client.DeleteSegmentAsync(new DeleteSegmentRequest { Name = "segments/b-ready" }).ResponseAsync);

        Assert.Equal(created, read);
        Assert.Equal(rule, read.Rule);
        Assert.Equal(["segments/a-known", "segments/b-ready"], first.Segments.Select(s => s.Name));
        Assert.Equal(["segments/c-ready"], second.Segments.Select(s => s.Name));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal(StatusCode.NotFound, deleteAgain.StatusCode);
    }

    [Fact]
    public async Task Membership_WhenProfilesChange_EntersAndLeaves()
    {
        await CreateAsync("hot-leads", All(
            Condition(SegmentField.Readiness, SegmentOperator.GreaterOrEqual, c => c.Number = 50),
            Condition(SegmentField.Interest, SegmentOperator.GreaterThan, c => { c.Key = "suv"; c.Number = 0.2; })));
        var t = Host.Clock.GetUtcNow();
        var lead = Cookie("lead-1");
        var browser = Cookie("browser-1");

        var leadProfile = await Host.RecordAsync(lead, Interaction(lead, InteractionType.TestDriveBooked, t, topics: ["suv"]), Interaction(lead, InteractionType.CartAdd, t, topics: ["suv"]));
        var browserProfile = await Host.RecordAsync(browser, Interaction(browser, InteractionType.View, t, topics: ["suv"]));

        Assert.Equal(["segments/hot-leads"], leadProfile.Segments);
        Assert.Empty(browserProfile.Segments);
        var members = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/hot-leads" });
        Assert.Equal([leadProfile.Name], members.Profiles);

        // Buying ends the lead: readiness drops, so the profile leaves.
        Host.Clock.Advance(TimeSpan.FromMinutes(1));
        var bought = await Host.RecordAsync(lead, Interaction(lead, InteractionType.Purchase, t.AddMinutes(1)));
        Assert.Empty(bought.Segments);
        Assert.Empty((await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/hot-leads" })).Profiles);
    }

    [Fact]
    public async Task Membership_WhenTimeAlonePassesTheRule_LeavesAtTheNextReevaluation()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Journey:Profile:SegmentReevaluationInterval"] = "00:00:01" });
        await host.Client.CreateSegmentAsync(new CreateSegmentRequest
        {
            SegmentId = "active-week",
            Segment = new Segment { DisplayName = "Active this week", Rule = Condition(SegmentField.DaysSinceLastInteraction, SegmentOperator.LessOrEqual, c => c.Number = 7) },
        });
        var visitor = Cookie("weekly-1");
        var profile = await host.RecordAsync(visitor, Interaction(visitor, InteractionType.View, host.Clock.GetUtcNow()));
        Assert.Equal(["segments/active-week"], profile.Segments);

        // A re-evaluation six days on, run here rather than waited for, keeps it in.
        host.Clock.Advance(TimeSpan.FromDays(6));
        await host.Platform.Services.GetRequiredService<Journey.Profile.Domain.MembershipUseCases>().ReevaluateTimedSegmentsAsync(CancellationToken.None);
        Assert.Equal(["segments/active-week"], (await host.GetAsync(profile.Name)).Segments);

        host.Clock.Advance(TimeSpan.FromDays(2));
        var left = await TestPlatform.EventuallyAsync(async () => (await host.GetAsync(profile.Name)).Segments.Count == 0);

        Assert.True(left, "the profile did not leave the segment after eight quiet days");
        Assert.Empty((await host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/active-week" })).Profiles);
    }

    [Fact]
    public async Task ReevaluateTimedSegments_WhenNoRuleDependsOnTime_WritesNothing()
    {
        await CreateAsync("known", Condition(SegmentField.CustomerType, SegmentOperator.Equals, c => c.CustomerType = CustomerType.Known));
        var known = await Host.IdentifyAsync(Customer("steady"));
        Host.Clock.Advance(TimeSpan.FromDays(30));

        var changed = await Host.Platform.Services.GetRequiredService<Journey.Profile.Domain.MembershipUseCases>().ReevaluateTimedSegmentsAsync(CancellationToken.None);

        Assert.Equal(0, changed);
        Assert.Equal(known.Profile.Version, (await Host.GetAsync(known.Profile.Name)).Version);
    }

    [Fact]
    public async Task CreateSegment_WhenProfilesAlreadyMatch_PutsThemInAtOnce()
    {
        var fleet = await Host.IdentifyAsync(Customer("fleet-buyer"));
        var other = await Host.IdentifyAsync(Cookie("not-known"));

        await CreateAsync("known-later", Condition(SegmentField.CustomerType, SegmentOperator.Equals, c => c.CustomerType = CustomerType.Known));

        var members = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/known-later" });
        Assert.Equal([fleet.Profile.Name], members.Profiles);
        Assert.Equal(["segments/known-later"], (await Host.GetAsync(fleet.Profile.Name)).Segments);
        Assert.Empty((await Host.GetAsync(other.Profile.Name)).Segments);
    }

    [Fact]
    public async Task ListSegmentMembers_WhenManyMembers_Pages()
    {
        await CreateAsync("anonymous", Condition(SegmentField.CustomerType, SegmentOperator.Equals, c => c.CustomerType = CustomerType.Anonymous));
        var names = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            names.Add((await Host.IdentifyAsync(Cookie($"member-{i}"))).Profile.Name);
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/anonymous", PageSize = 2, PageToken = token });
            Assert.True(page.Profiles.Count <= 2);
            seen.AddRange(page.Profiles);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(names.Order(StringComparer.Ordinal), seen);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task DescribeAudience_BelowMinimum_ReturnsNoFigures()
    {
        await CreateAsync("small", Condition(SegmentField.Trait, SegmentOperator.Equals, c => { c.Key = "club"; c.Text = "small"; }));
        for (var i = 0; i < 9; i++)
        {
            await IdentifyWithTraitAsync($"small-{i}", "club", "small");
        }

        var small = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = "segments/small" });
        await IdentifyWithTraitAsync("small-9", "club", "small");
        var enough = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = "segments/small" });

        Assert.True(small.BelowMinimum);
        Assert.Equal(10, small.MinimumSize);
        Assert.Equal(0, small.Size);
        Assert.Empty(small.Stages);
        Assert.False(enough.BelowMinimum);
        Assert.Equal(10, enough.Size);
    }

    [Fact]
    public async Task DescribeAudience_ForAStage_GivesAggregatesAndHidesSmallBuckets()
    {
        var t = Host.Clock.GetUtcNow();
        for (var i = 0; i < 12; i++)
        {
            var who = Cookie($"aud-{i}");
            var interactions = new List<InteractionRecorded>
            {
                Interaction(who, InteractionType.ContentConsumed, t, [JourneyStage.Consideration], ["electric"], channel: Channel.Web),
            };
            if (i < 3)
            {
                interactions.Add(Interaction(who, InteractionType.View, t, [JourneyStage.Consideration], ["caravans"], channel: Channel.Social));
            }

            await Host.RecordAsync(who, [.. interactions]);
        }

        var audience = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Consideration });

        Assert.False(audience.BelowMinimum);
        Assert.Equal(12, audience.Size);
        var interest = Assert.Single(audience.TopInterests);
        Assert.Equal("electric", interest.Topic);
        Assert.Equal(12, interest.Members);
        Assert.Equal([new StageCount { Stage = JourneyStage.Consideration, Members = 12 }], audience.Stages);
        Assert.Equal([new ChannelCount { Channel = Channel.Web, Members = 12 }], audience.Channels);
        var none = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Loyalty });
        Assert.True(none.BelowMinimum);
        Assert.Equal(Host.Clock.GetUtcNow(), audience.ComputeTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task DescribeAudience_ForEveryone_CountsEachCustomerTypeAndHidesOneUnderTheFloor()
    {
        var t = Host.Clock.GetUtcNow();
        for (var i = 0; i < 12; i++)
        {
            var who = Cookie($"visitor-{i}");
            await Host.RecordAsync(who, Interaction(who, InteractionType.View, t, [JourneyStage.Awareness], ["electric"], channel: Channel.Web));
        }

        for (var i = 0; i < 3; i++)
        {
            await IdentifyCustomerAsync($"everyone-known-{i}");
        }

        var everyone = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Everyone = true });

        Assert.Equal(15, everyone.Size);
        // Three known customers are fewer than the floor of 10: their bucket would describe them, so it is left out.
        Assert.Equal([new CustomerTypeCount { CustomerType = CustomerType.Anonymous, Members = 12 }], everyone.CustomerTypes);
        for (var i = 3; i < 12; i++)
        {
            await IdentifyCustomerAsync($"everyone-known-{i}");
        }

        var more = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Everyone = true });
        Assert.Equal(
            [new CustomerTypeCount { CustomerType = CustomerType.Known, Members = 12 }, new CustomerTypeCount { CustomerType = CustomerType.Anonymous, Members = 12 }],
            more.CustomerTypes);
    }

    [Fact]
    public async Task DescribeAudience_WhenTargetMissing_IsInvalidArgument()
    {
        var none = await Assert.ThrowsAsync<RpcException>(() => Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest()).ResponseAsync);
        var unspecified = await Assert.ThrowsAsync<RpcException>(() => Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Unspecified }).ResponseAsync);
        var nobody = await Assert.ThrowsAsync<RpcException>(() => Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Everyone = false }).ResponseAsync);

        Assert.Equal(["audience"], IdentityTests.Violations(none));
        Assert.Equal(["stage"], IdentityTests.Violations(unspecified));
        Assert.Equal(["everyone"], IdentityTests.Violations(nobody));
    }

    [Fact]
    public async Task ListSegmentMembers_ForEmail_ListsOnlyMembersWhoGrantedMarketingEmail()
    {
        await CreateAsync("subscribers", Condition(SegmentField.Trait, SegmentOperator.Equals, c => { c.Key = "list"; c.Text = "newsletter"; }));
        var granter = await IdentifyCustomerAsync("gate-granter");
        var withdrawer = await IdentifyCustomerAsync("gate-withdrawer");
        var undecided = await IdentifyCustomerAsync("gate-undecided");
        var t = Host.Clock.GetUtcNow();

        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", MarketingEmail("gate-granter", granted: true, t));
        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", MarketingEmail("gate-withdrawer", granted: true, t), MarketingEmail("gate-withdrawer", granted: false, t.AddMinutes(2)));
        // An older grant delivered after the withdrawal does not undo it.
        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", MarketingEmail("gate-withdrawer", granted: true, t.AddMinutes(1)));
        Assert.True(await TestPlatform.EventuallyAsync(async () => await Host.PendingAsync() == 0));

        var email = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/subscribers", Channel = Channel.Email });
        var all = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/subscribers" });
        var web = await Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/subscribers", Channel = Channel.Web });

        Assert.Equal([granter], email.Profiles);
        Assert.Equal(2, email.WithheldCount);
        Assert.Equal(new[] { granter, withdrawer, undecided }.Order(StringComparer.Ordinal), all.Profiles);
        Assert.Equal(0, all.WithheldCount);
        Assert.Equal(all.Profiles, web.Profiles);
        Assert.Equal(0, web.WithheldCount);
    }

    [Fact]
    public async Task ListSegmentMembers_WhenChannelUnknown_IsInvalidArgument()
    {
        await CreateAsync("any-channel", ReadyRule(50));

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ListSegmentMembersAsync(new ListSegmentMembersRequest { Parent = "segments/any-channel", Channel = (Channel)99 }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["channel"], IdentityTests.Violations(error));
    }

    private static ConsentChanged MarketingEmail(string customerId, bool granted, DateTimeOffset effectiveAt)
    {
        var decision = new ConsentChanged
        {
            Subject = "subjects/" + customerId,
            Purpose = "purposes/marketing-email",
            Granted = granted,
            PolicyVersion = "1",
            EffectiveTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(effectiveAt),
            Record = "subjects/" + customerId + "/records/" + Guid.NewGuid().ToString("N"),
        };
        decision.Identifiers.Add(Customer(customerId));
        decision.Channels.Add(Channel.Email);
        return decision;
    }

    private async Task<string> IdentifyCustomerAsync(string customerId)
    {
        var request = new IdentifyRequest();
        request.Identifiers.Add(Customer(customerId));
        request.Traits["list"] = "newsletter";
        return (await Host.Client.IdentifyAsync(request)).Profile.Name;
    }

    private async Task IdentifyWithTraitAsync(string cookie, string key, string value)
    {
        var request = new IdentifyRequest();
        request.Identifiers.Add(Cookie(cookie));
        request.Traits[key] = value;
        await Host.Client.IdentifyAsync(request);
    }

    private async Task<Segment> CreateAsync(string id, SegmentRule rule) =>
        (await Host.Client.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = id, Segment = new Segment { DisplayName = id, Rule = rule } })).Segment;

    private static SegmentRule ReadyRule(double readiness) => Condition(SegmentField.Readiness, SegmentOperator.GreaterOrEqual, c => c.Number = readiness);

    private static SegmentRule All(params SegmentRule[] rules) => new() { All = Group(rules) };

    private static SegmentRuleGroup Group(params SegmentRule[] rules)
    {
        var group = new SegmentRuleGroup();
        group.Rules.AddRange(rules);
        return group;
    }

    private static SegmentRule Condition(SegmentField field, SegmentOperator op, Action<SegmentCondition> value)
    {
        var condition = new SegmentCondition { Field = field, Operator = op };
        value(condition);
        return new SegmentRule { Condition = condition };
    }
}

public sealed class AudienceDifferencingTests() : HostedTests<ProfileHost>(() => StartAsync())
{
    [Fact]
    public async Task DescribeAudience_WhenTwoAudiencesDifferByOnePerson_TheirMeansDoNotGiveThatPersonsAffinity()
    {
        var t = Host.Clock.GetUtcNow();
        for (var i = 0; i < 11; i++)
        {
            var request = new IdentifyRequest();
            request.Identifiers.Add(Cookie($"diff-{i}"));
            request.Traits["club"] = "diff";
            if (i == 0)
            {
                request.Traits["watched"] = "yes";
            }

            await Host.Client.IdentifyAsync(request);
            var interactions = Enumerable.Range(0, 1 + (i % 4))
                .Select(n => Interaction(Cookie($"diff-{i}"), InteractionType.ContentConsumed, t.AddMinutes(-n - i), [JourneyStage.Consideration], ["electric"]))
                .ToArray();
            await Host.RecordAsync(Cookie($"diff-{i}"), interactions);
        }

        var club = Trait("club", "diff");
        await Host.Client.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "club-all", Segment = new Segment { DisplayName = "Club", Rule = club } });
        var allButOne = new SegmentRule { All = new SegmentRuleGroup { Rules = { club, new SegmentRule { Not = Trait("watched", "yes") } } } };
        await Host.Client.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "club-but-one", Segment = new Segment { DisplayName = "Club but one", Rule = allButOne } });

        var a = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = "segments/club-all" });
        var b = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Segment = "segments/club-but-one" });
        var person = (await Host.TryLookupAsync(Cookie("diff-0")))!;

        Assert.False(a.BelowMinimum);
        Assert.False(b.BelowMinimum);
        var truth = person.Interests.Single(i => i.Topic == "electric").Affinity;
        var inA = a.TopInterests.SingleOrDefault(i => i.Topic == "electric");
        var inB = b.TopInterests.SingleOrDefault(i => i.Topic == "electric");
        if (inA is not null && inB is not null)
        {
            var derived = (inA.MeanAffinity * inA.Members) - (inB.MeanAffinity * inB.Members);
            Assert.True(Math.Abs(derived - truth) >= 0.00005, $"the two descriptions give the person's affinity {truth:F4} to four decimals");
        }
    }

    private static SegmentRule Trait(string key, string value) =>
        new() { Condition = new SegmentCondition { Field = SegmentField.Trait, Operator = SegmentOperator.Equals, Key = key, Text = value } };
}
