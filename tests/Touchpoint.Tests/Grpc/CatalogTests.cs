using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class CatalogTests() : HostedTests<TouchpointHost>(() => TouchpointHost.StartAsync())
{
    [Fact]
    public async Task Create_WhenValid_StoresEveryFieldAndPublishesTouchpointChanged()
    {
        var created = await Host.CreateAsync("price-page", TouchpointHost.NewTouchpoint(stages: [JourneyStage.Evaluation, JourneyStage.Consideration]));

        var read = (await Host.Client.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/price-page" })).Touchpoint;
        Assert.Equal(created, read);
        Assert.Equal("Price page", read.DisplayName);
        Assert.Equal([JourneyStage.Consideration, JourneyStage.Evaluation], read.Stages);
        Assert.Equal(4.0, read.IntendedExperience.TargetRating);
        Assert.Equal("trust in the price", read.IntendedExperience.Statement);
        Assert.Equal("web-team", read.OwningTeam);
        Assert.Equal(["pricing"], read.Topics);
        Assert.Equal("1", read.Etag);
        Assert.Equal(Timestamp.FromDateTimeOffset(TouchpointHost.Start), read.CreateTime);
        var changed = Assert.Single(await Host.PayloadsAsync<TouchpointChanged>(TouchpointTopics.TouchpointChanged));
        Assert.Equal("touchpoints/price-page", changed.Touchpoint);
        Assert.Equal(1, changed.Version);
    }

    [Fact]
    public async Task Create_WithoutId_PicksOne()
    {
        var created = await Host.CreateAsync("");

        Assert.StartsWith("touchpoints/", created.Name);
        Assert.Equal(48, created.Name.Length);
    }

    [Fact]
    public async Task Create_WhenIdTaken_IsAlreadyExists()
    {
        await Host.CreateAsync("dup");

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.CreateAsync("dup"));

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Theory]
    [InlineData("display_name")]
    [InlineData("channel")]
    [InlineData("ownership")]
    [InlineData("stages")]
    [InlineData("criticality")]
    [InlineData("intended_experience.target_rating")]
    [InlineData("intended_experience")]
    [InlineData("touchpoint_id")]
    public async Task Create_WhenFieldInvalid_IsInvalidArgumentNamingIt(string field)
    {
        var touchpoint = TouchpointHost.NewTouchpoint();
        var id = "ok";
        switch (field)
        {
            case "display_name": touchpoint.DisplayName = ""; break;
            case "channel": touchpoint.Channel = Channel.Unspecified; break;
            case "ownership": touchpoint.Ownership = (Ownership)99; break;
            case "stages": touchpoint.Stages.Clear(); break;
            case "criticality": touchpoint.Criticality = 6; break;
            case "intended_experience.target_rating": touchpoint.IntendedExperience.TargetRating = 5.5; break;
            case "intended_experience": touchpoint.IntendedExperience = null; break;
            default: id = "Bad Id"; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.CreateAsync(id, touchpoint));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
    }

    [Fact]
    public async Task Create_WithoutTouchpoint_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.CreateTouchpointAsync(new CreateTouchpointRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Get_WhenMissing_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/none" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Get_WhenNameMalformed_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetTouchpointAsync(new GetTouchpointRequest { Name = "price-page" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Update_WithMask_ChangesOnlyMaskedFieldsAndBumpsVersion()
    {
        var created = await Host.CreateAsync("tp");
        var change = created.Clone();
        change.DisplayName = "Renamed";
        change.Criticality = 5;
        change.IntendedExperience.Statement = "ignored";

        var updated = (await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest
        {
            Touchpoint = change,
            UpdateMask = new FieldMask { Paths = { "display_name", "intended_experience.target_rating" } },
        })).Touchpoint;

        Assert.Equal("Renamed", updated.DisplayName);
        Assert.Equal(3, updated.Criticality);
        Assert.Equal("trust in the price", updated.IntendedExperience.Statement);
        Assert.Equal("2", updated.Etag);
        Assert.Equal(2, (await Host.PayloadsAsync<TouchpointChanged>(TouchpointTopics.TouchpointChanged)).Count);
    }

    [Fact]
    public async Task Update_WithStaleEtag_IsAborted()
    {
        var created = await Host.CreateAsync("tp");
        var first = created.Clone();
        first.DisplayName = "One";
        await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = first, UpdateMask = new FieldMask { Paths = { "display_name" } } });

        var stale = created.Clone();
        stale.DisplayName = "Two";
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = stale, UpdateMask = new FieldMask { Paths = { "display_name" } } }));

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
    }

    [Fact]
    public async Task Update_WithUnknownMaskPath_IsInvalidArgument()
    {
        var created = await Host.CreateAsync("tp");

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = created, UpdateMask = new FieldMask { Paths = { "retired" } } }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("update_mask", error.Status.Detail);
    }

    [Fact]
    public async Task Update_WithEmptyMask_IsInvalidArgumentNamingTheMaskAndChangesNothing()
    {
        var created = await Host.CreateAsync("tp");
        var change = created.Clone();
        change.DisplayName = "Renamed";

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = change }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("update_mask", error.Status.Detail);
        Assert.Equal(created, (await Host.Client.GetTouchpointAsync(new GetTouchpointRequest { Name = created.Name })).Touchpoint);
    }

    [Fact]
    public async Task Update_WithWildcardMask_ReplacesEveryUpdatableField()
    {
        var created = await Host.CreateAsync("tp");
        var change = created.Clone();
        change.DisplayName = "Renamed";
        change.Criticality = 5;
        change.Topics.Clear();

        var updated = (await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = change, UpdateMask = new FieldMask { Paths = { "*" } } })).Touchpoint;

        Assert.Equal("Renamed", updated.DisplayName);
        Assert.Equal(5, updated.Criticality);
        Assert.Empty(updated.Topics);
    }

    [Theory]
    [InlineData("a23456789012345678901234567890123456789012345678901234567890123", true)]
    [InlineData("7-up", true)]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234", false)]
    [InlineData("-lead", false)]
    [InlineData("Upper", false)]
    public async Task Create_TouchpointIdRule_IsOneToSixtyThreeOfLowerLettersDigitsAndDashStartingWithLetterOrDigit(string id, bool accepted)
    {
        if (accepted)
        {
            Assert.Equal("touchpoints/" + id, (await Host.CreateAsync(id)).Name);
            return;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.CreateAsync(id));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("touchpoint_id", error.Status.Detail);
    }

    [Fact]
    public async Task Update_WhenRetired_IsFailedPrecondition()
    {
        await Host.CreateAsync("tp");
        var retired = (await Host.Client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/tp" })).Touchpoint;

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.UpdateTouchpointAsync(new UpdateTouchpointRequest { Touchpoint = retired, UpdateMask = new FieldMask { Paths = { "display_name" } } }));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task Retire_MarksRetiredOnceAndHidesFromDefaultListing()
    {
        await Host.CreateAsync("tp");

        var retired = (await Host.Client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/tp", Etag = "1" })).Touchpoint;
        var again = (await Host.Client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/tp" })).Touchpoint;

        Assert.True(retired.Retired);
        Assert.Equal("2", retired.Etag);
        Assert.Equal(retired, again);
        Assert.Empty((await Host.Client.ListTouchpointsAsync(new ListTouchpointsRequest())).Touchpoints);
        Assert.Single((await Host.Client.ListTouchpointsAsync(new ListTouchpointsRequest { IncludeRetired = true })).Touchpoints);
        Assert.True((await Host.PayloadsAsync<TouchpointChanged>(TouchpointTopics.TouchpointChanged))[^1].Retired);
    }

    [Fact]
    public async Task List_WithFilters_ReturnsOnlyMatchesInIdOrder()
    {
        await Host.CreateAsync("a-web-eval", TouchpointHost.NewTouchpoint(channel: Channel.Web, criticality: 5, stages: [JourneyStage.Evaluation]));
        await Host.CreateAsync("b-review", TouchpointHost.NewTouchpoint(channel: Channel.ThirdPartyReview, ownership: Ownership.Earned, criticality: 4, stages: [JourneyStage.Evaluation, JourneyStage.Consideration]));
        await Host.CreateAsync("c-web-aware", TouchpointHost.NewTouchpoint(channel: Channel.Web, criticality: 2, stages: [JourneyStage.Awareness]));
        await Host.CreateAsync("d-ad", TouchpointHost.NewTouchpoint(channel: Channel.PaidAd, ownership: Ownership.Paid, criticality: 1, stages: [JourneyStage.Awareness]));

        async Task<string[]> Ids(ListTouchpointsRequest request) =>
            (await Host.Client.ListTouchpointsAsync(request)).Touchpoints.Select(t => t.Name["touchpoints/".Length..]).ToArray();

        Assert.Equal(["a-web-eval", "c-web-aware"], await Ids(new() { Channel = Channel.Web }));
        Assert.Equal(["b-review"], await Ids(new() { Ownership = Ownership.Earned }));
        Assert.Equal(["a-web-eval", "b-review"], await Ids(new() { Stage = JourneyStage.Evaluation }));
        Assert.Equal(["a-web-eval", "b-review"], await Ids(new() { MinCriticality = 4 }));
        Assert.Equal(["c-web-aware"], await Ids(new() { Stage = JourneyStage.Awareness, Channel = Channel.Web }));
        Assert.Equal(["d-ad"], await Ids(new() { Stage = JourneyStage.Awareness, Ownership = Ownership.Paid, MinCriticality = 1 }));
    }

    [Fact]
    public async Task List_WithPageSize_PagesThroughEverythingOnce()
    {
        for (var i = 0; i < 7; i++)
        {
            await Host.CreateAsync($"tp-{i}");
        }

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await Host.Client.ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = 3, PageToken = token });
            Assert.True(page.Touchpoints.Count <= 3);
            seen.AddRange(page.Touchpoints.Select(t => t.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"touchpoints/tp-{i}"), seen);
    }

    [Theory]
    [InlineData(-1, "", 0)]
    [InlineData(0, "!!!", 0)]
    [InlineData(0, "", 9)]
    public async Task List_WithBadArguments_IsInvalidArgument(int pageSize, string token, int minCriticality)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.ListTouchpointsAsync(new ListTouchpointsRequest { PageSize = pageSize, PageToken = token, MinCriticality = minCriticality }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Create_WithOnlyWriteScope_IsPermissionDenied()
    {
        using var channel = Host.Platform.CreateChannel(TouchpointScopes.Write);
        var client = new TouchpointService.TouchpointServiceClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.CreateTouchpointAsync(new CreateTouchpointRequest { Touchpoint = TouchpointHost.NewTouchpoint() }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task List_WithoutToken_IsUnauthenticated()
    {
        using var channel = Host.Platform.CreateAnonymousChannel();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TouchpointService.TouchpointServiceClient(channel).ListTouchpointsAsync(new ListTouchpointsRequest()));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }
}
