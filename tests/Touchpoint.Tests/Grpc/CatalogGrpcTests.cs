using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class CatalogGrpcTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TouchpointService.TouchpointServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition]);
        _client = new TouchpointService.TouchpointServiceClient(_platform.Channel);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task CreateThenGet_RoundTripsEveryField()
    {
        var created = (await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "lease-calculator", Touchpoint = TestData.Touchpoint(stages: [JourneyStage.Evaluation, JourneyStage.Consideration]) })).Touchpoint;

        var fetched = (await _client.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/lease-calculator" })).Touchpoint;

        Assert.Equal(created, fetched);
        Assert.Equal("touchpoints/lease-calculator", fetched.Name);
        Assert.Equal("Lease-vs-buy calculator", fetched.DisplayName);
        Assert.Equal(Channel.Web, fetched.Channel);
        Assert.Equal(Ownership.Owned, fetched.Ownership);
        Assert.Equal([JourneyStage.Consideration, JourneyStage.Evaluation], fetched.Stages);
        Assert.Equal(3, fetched.Criticality);
        Assert.Equal(4.5, fetched.IntendedExperience.TargetRating);
        Assert.Equal("trust in the price", fetched.IntendedExperience.Statement);
        Assert.Equal("digital-sales", fetched.OwningTeam);
        Assert.Equal(["leasing", "electric-cars"], fetched.Topics);
        Assert.False(fetched.Retired);
        Assert.Equal("1", fetched.Etag);
    }

    [Fact]
    public async Task Create_WhenIdTaken_IsAlreadyExists()
    {
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "review-site", Touchpoint = TestData.Touchpoint() });

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "review-site", Touchpoint = TestData.Touchpoint() }));

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Fact]
    public async Task Create_WhenFieldsInvalid_ListsEachFieldWithItsRule()
    {
        var bad = TestData.Touchpoint(Channel.Unspecified, criticality: 9);
        bad.Stages.Clear();
        bad.IntendedExperience.TargetRating = 7;

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "Bad Id", Touchpoint = bad }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var fields = error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();
        Assert.Equal(["touchpoint_id", "touchpoint.channel", "touchpoint.stages", "touchpoint.criticality", "touchpoint.intended_experience.target_rating"], fields);
    }

    [Fact]
    public async Task Create_WithoutTouchpoint_IsInvalidArgumentNotInternal()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "x" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("touchpoint", error.Status.Detail);
    }

    [Fact]
    public async Task Get_WhenMissing_IsNotFound_AndMalformedNameIsInvalid()
    {
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/nowhere" }));
        var malformed = await Assert.ThrowsAsync<RpcException>(async () => await _client.GetTouchpointAsync(new GetTouchpointRequest { Name = "nowhere" }));

        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
    }

    [Fact]
    public async Task List_FiltersAndPagesInIdOrder()
    {
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "a-web", Touchpoint = TestData.Touchpoint(Channel.Web, criticality: 5, stages: JourneyStage.Awareness) });
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "b-review", Touchpoint = TestData.Touchpoint(Channel.ThirdPartyReview, Ownership.Earned, 2, JourneyStage.Evaluation) });
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "c-web", Touchpoint = TestData.Touchpoint(Channel.Web, criticality: 4, stages: JourneyStage.Evaluation) });
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "d-web", Touchpoint = TestData.Touchpoint(Channel.Web, criticality: 1, stages: JourneyStage.Evaluation) });

        var web = await _client.ListTouchpointsAsync(new ListTouchpointsRequest { Channel = Channel.Web, PageSize = 2 });
        var webNext = await _client.ListTouchpointsAsync(new ListTouchpointsRequest { Channel = Channel.Web, PageSize = 2, PageToken = web.NextPageToken });
        var evaluationCritical = await _client.ListTouchpointsAsync(new ListTouchpointsRequest { Stage = JourneyStage.Evaluation, MinCriticality = 2 });
        var earned = await _client.ListTouchpointsAsync(new ListTouchpointsRequest { Ownership = Ownership.Earned });

        Assert.Equal(["touchpoints/a-web", "touchpoints/c-web"], web.Touchpoints.Select(t => t.Name));
        Assert.Equal(["touchpoints/d-web"], webNext.Touchpoints.Select(t => t.Name));
        Assert.Equal("", webNext.NextPageToken);
        Assert.Equal(["touchpoints/b-review", "touchpoints/c-web"], evaluationCritical.Touchpoints.Select(t => t.Name));
        Assert.Equal(["touchpoints/b-review"], earned.Touchpoints.Select(t => t.Name));
    }

    [Fact]
    public async Task Retire_HidesFromListsUnlessAsked_AndStaleEtagIsAborted()
    {
        var created = (await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "old-form", Touchpoint = TestData.Touchpoint() })).Touchpoint;

        var retired = (await _client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = created.Name, Etag = created.Etag })).Touchpoint;
        var stale = await Assert.ThrowsAsync<RpcException>(async () => await _client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = created.Name, Etag = created.Etag }));

        Assert.True(retired.Retired);
        Assert.Equal(StatusCode.Aborted, stale.StatusCode);
        Assert.Empty((await _client.ListTouchpointsAsync(new ListTouchpointsRequest())).Touchpoints);
        Assert.Single((await _client.ListTouchpointsAsync(new ListTouchpointsRequest { IncludeRetired = true })).Touchpoints);
    }

    [Fact]
    public async Task List_WhenPageTokenForged_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.ListTouchpointsAsync(new ListTouchpointsRequest { PageToken = "'; DROP TABLE" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }
}
