using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Shared.Security;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Tests.Grpc;

/// <summary>The tracking source API's answers to bad input and to callers without its scope.</summary>
public sealed class TrackingSourceGrpcTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TrackingSourceService.TrackingSourceServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition]);
        _client = new TrackingSourceService.TrackingSourceServiceClient(_platform.Channel);
        await new TouchpointService.TouchpointServiceClient(_platform.Channel).CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "dealer", Touchpoint = TestData.Touchpoint() });
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    private static Source Web() => new()
    {
        DisplayName = "Web",
        TrackingPlan = new V1.TrackingPlan { Events = { new EventRule { Event = "Order Completed", Touchpoint = "touchpoints/dealer", Type = InteractionType.Purchase } } },
    };

    private static List<string> Fields(RpcException error) =>
        [.. error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field)];

    [Fact]
    public async Task Create_WithBadIdOriginRuleAndRate_IsInvalidArgumentNamingEachField()
    {
        var bad = Web();
        bad.AllowedOrigins.Add("https://shop.example/path");
        bad.RequestsPerSecond = -1;
        bad.TrackingPlan.Events.Add(new EventRule { Event = "Order Completed", Touchpoint = "dealer", Type = InteractionType.Unspecified });
        bad.TrackingPlan.Pages.Add(new PageRule { Touchpoint = "touchpoints/dealer", Type = InteractionType.View });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "Web Shop", Source = bad }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(
            [
                "source_id", "source.requests_per_second", "source.allowed_origins[0]", "source.tracking_plan.events[1].event",
                "source.tracking_plan.events[1].touchpoint", "source.tracking_plan.events[1].type", "source.tracking_plan.pages[0].name",
            ],
            Fields(error));
    }

    [Fact]
    public async Task Create_WithBadConsentCategories_IsInvalidArgumentNamingEachRule_AndGoodOnesRoundTrip()
    {
        var bad = Web();
        bad.TrackingPlan.ConsentCategories.Add(new ConsentCategoryRule { Category = "Advertising", Purpose = "purposes/marketing-ads" });
        bad.TrackingPlan.ConsentCategories.Add(new ConsentCategoryRule { Category = "Advertising", Purpose = "purposes/ads" });
        bad.TrackingPlan.ConsentCategories.Add(new ConsentCategoryRule { Category = "", Purpose = "marketing-ads" });
        bad.TrackingPlan.ConsentCategories.Add(new ConsentCategoryRule { Category = "Analytics", Purpose = "purposes/Analytics" });
        var tooMany = Web();
        tooMany.TrackingPlan.ConsentCategories.AddRange(Enumerable.Range(0, 51).Select(i => new ConsentCategoryRule { Category = $"c{i}", Purpose = "purposes/analytics" }));
        var good = Web();
        good.TrackingPlan.ConsentCategories.Add(new ConsentCategoryRule { Category = "Advertising", Purpose = "purposes/marketing-ads" });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = bad }));
        var limit = await Assert.ThrowsAsync<RpcException>(async () => await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = tooMany }));
        var created = (await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = good })).Source;

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(
            [
                "source.tracking_plan.consent_categories[1].category", "source.tracking_plan.consent_categories[2].category",
                "source.tracking_plan.consent_categories[2].purpose", "source.tracking_plan.consent_categories[3].purpose",
            ],
            Fields(error));
        Assert.Equal(["source.tracking_plan.consent_categories"], Fields(limit));
        Assert.Equal(good.TrackingPlan.ConsentCategories, created.TrackingPlan.ConsentCategories);
    }

    [Fact]
    public async Task Create_WithAPlanNamingATouchpointTheCatalogLacks_IsInvalidArgumentNamingIt()
    {
        var source = Web();
        source.TrackingPlan.AdTouchpoint = "touchpoints/search-ads";

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = source }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("touchpoints/search-ads", error.Status.Detail);
    }

    [Fact]
    public async Task UnknownSourceOrKey_IsNotFound_AndMalformedNamesInvalidArgument()
    {
        await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = Web() });

        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _client.GetSourceAsync(new GetSourceRequest { Name = "sources/app" }))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _client.RevokeWriteKeyAsync(new RevokeWriteKeyRequest { Name = "sources/web/writeKeys/nope" }))).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await _client.RotateWriteKeyAsync(new RotateWriteKeyRequest { Name = "web/keys/1" }))).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "x" }))).StatusCode);
    }

    [Fact]
    public async Task Update_WithAStaleEtagOrAnUnknownMaskPath_IsAbortedOrInvalidArgument()
    {
        await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = Web() });
        var renamed = await _client.UpdateSourceAsync(new UpdateSourceRequest { Source = new Source { Name = "sources/web", DisplayName = "Shop", Etag = "1" }, UpdateMask = new FieldMask { Paths = { "display_name" } } });

        var stale = await Assert.ThrowsAsync<RpcException>(async () => await _client.UpdateSourceAsync(new UpdateSourceRequest { Source = new Source { Name = "sources/web", DisplayName = "Old", Etag = "1" }, UpdateMask = new FieldMask { Paths = { "display_name" } } }));
        var unknownPath = await Assert.ThrowsAsync<RpcException>(async () => await _client.UpdateSourceAsync(new UpdateSourceRequest { Source = new Source { Name = "sources/web" }, UpdateMask = new FieldMask { Paths = { "write_keys" } } }));
        var emptyMask = await Assert.ThrowsAsync<RpcException>(async () => await _client.UpdateSourceAsync(new UpdateSourceRequest { Source = new Source { Name = "sources/web", DisplayName = "Nothing" } }));

        Assert.Equal(("Shop", "2", 1), (renamed.Source.DisplayName, renamed.Source.Etag, renamed.Source.TrackingPlan.Events.Count));
        Assert.Equal(StatusCode.Aborted, stale.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, unknownPath.StatusCode);
        Assert.Contains("write_keys", unknownPath.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, emptyMask.StatusCode);
        Assert.Contains("update_mask", emptyMask.Status.Detail);
    }

    [Fact]
    public async Task Keys_NeedTheTrackingAdminScope_AndIssuesTouchpointsRead()
    {
        await _client.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = Web() });
        using var writer = _platform.CreateChannel(TouchpointScopes.Write, Scopes.Admin);
        using var reader = _platform.CreateChannel(TouchpointScopes.Read);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await new TrackingSourceService.TrackingSourceServiceClient(writer).CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" }));
        var issues = await new TrackingSourceService.TrackingSourceServiceClient(reader).ListTrackingIssuesAsync(new ListTrackingIssuesRequest { Parent = "sources/web" });

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Empty(issues.Issues);
    }
}
