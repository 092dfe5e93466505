using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Recommendation.V1;
using Journey.Testing;

namespace Journey.Recommendation.Tests.Grpc;

public sealed class ContentGrpcTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private RecommendationService.RecommendationServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([RecommendationModule.Definition]);
        _client = new RecommendationService.RecommendationServiceClient(_platform.Channel);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    internal static ContentItem Guide() => new()
    {
        Name = "contents/lease-vs-buy-guide",
        Title = "Lease or buy? A guide",
        Kind = ContentKind.Guide,
        Stages = { new StageWeight { Stage = JourneyStage.Consideration, Weight = 0.9 }, new StageWeight { Stage = JourneyStage.Awareness, Weight = 0.4 } },
        Topics = { "leasing" },
        Channels = { Channel.Web, Channel.Email },
        Hardness = 0.1,
        Marketing = true,
        RequiredPurpose = "purposes/personalisation",
        ValidFrom = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        ValidUntil = Timestamp.FromDateTimeOffset(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)),
    };

    [Fact]
    public async Task UpsertThenGet_RoundTripsEveryFieldAndVersionsEachUpsert()
    {
        var first = (await _client.UpsertContentAsync(new UpsertContentRequest { Content = Guide() })).Content;
        var changed = Guide();
        changed.Title = "Lease or buy? The 2026 guide";
        var second = (await _client.UpsertContentAsync(new UpsertContentRequest { Content = changed })).Content;

        var fetched = (await _client.GetContentAsync(new GetContentRequest { Name = "contents/lease-vs-buy-guide" })).Content;

        Assert.Equal("1", first.Etag);
        Assert.Equal("2", second.Etag);
        Assert.Equal(second, fetched);
        var expected = changed.Clone();
        expected.Etag = "2";
        expected.Stages.Clear();
        expected.Stages.Add(new StageWeight { Stage = JourneyStage.Awareness, Weight = 0.4 });
        expected.Stages.Add(new StageWeight { Stage = JourneyStage.Consideration, Weight = 0.9 });
        Assert.Equal(expected, fetched);
    }

    public static TheoryData<string, Action<ContentItem>> InvalidItems => new()
    {
        { "content.stages", c => c.Stages.Clear() },
        { "content.stages", c => c.Stages[0].Weight = 1.5 },
        { "content.stages", c => c.Stages.Add(new StageWeight { Stage = JourneyStage.Consideration, Weight = 0.1 }) },
        { "content.valid_until", c => c.ValidUntil = c.ValidFrom },
        { "content.kind", c => c.Kind = ContentKind.Unspecified },
        { "content.channels", c => c.Channels.Clear() },
        { "content.hardness", c => c.Hardness = -0.1 },
        { "content.name", c => c.Name = "lease-vs-buy-guide" },
        { "content.required_purpose", c => c.RequiredPurpose = "personalisation" },
    };

    [Theory]
    [MemberData(nameof(InvalidItems))]
    public async Task Upsert_WhenInvalid_IsInvalidArgumentNamingTheField(string field, Action<ContentItem> spoil)
    {
        var item = Guide();
        spoil(item);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.UpsertContentAsync(new UpsertContentRequest { Content = item }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field));
    }

    [Fact]
    public async Task Get_WhenMissing_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.GetContentAsync(new GetContentRequest { Name = "contents/none" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}
