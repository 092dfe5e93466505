using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Profile.Tests.Grpc;

/// <summary>Profiles as other services see them: fed by the touchpoint service's events, read over gRPC.</summary>
public sealed class ProfileGrpcTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TouchpointService.TouchpointServiceClient _touchpoints = null!;
    private ProfileService.ProfileServiceClient _profiles = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition]);
        _touchpoints = new TouchpointService.TouchpointServiceClient(_platform.Channel);
        _profiles = new ProfileService.ProfileServiceClient(_platform.Channel);
        await DefineAsync("search-ad", Channel.Search, JourneyStage.Awareness);
        await DefineAsync("lease-calculator", Channel.Web, JourneyStage.Consideration);
        await DefineAsync("dealer", Channel.DealerStore, JourneyStage.Evaluation, JourneyStage.Purchase);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Lookup_AfterInteractions_ShowsOneProfileWithStageCountAndHashedEmail()
    {
        await RecordAsync("e1", "search-ad", InteractionType.Click, new Identifier { Kind = IdentifierKind.AdClickId, Value = "gclid-1" });
        await RecordAsync("e2", "lease-calculator", InteractionType.ContentConsumed, new Identifier { Kind = IdentifierKind.AdClickId, Value = "gclid-1" }, new Identifier { Kind = IdentifierKind.Email, Value = "Anna@Example.com" });

        var profile = await EventuallyAsync(new Identifier { Kind = IdentifierKind.Email, Value = "anna@example.com" }, p => p.InteractionCount == 2);

        Assert.Equal(JourneyStage.Consideration, profile.Stage);
        Assert.Equal(Journey.Events.V1.CustomerType.Known, profile.CustomerType);
        Assert.DoesNotContain(profile.Identifiers, i => i.Value.Contains('@'));
        var byClick = (await _profiles.LookupProfileAsync(new LookupProfileRequest { Identifier = new Identifier { Kind = IdentifierKind.AdClickId, Value = "gclid-1" } })).Profile;
        Assert.Equal(profile.Name, byClick.Name);
        Assert.Equal(profile, (await _profiles.GetProfileAsync(new GetProfileRequest { Name = profile.Name })).Profile);
    }

    [Fact]
    public async Task Purchase_MovesTheProfileToOwnership()
    {
        var visitor = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-buyer" };
        await RecordAsync("p1", "lease-calculator", InteractionType.View, visitor);
        await RecordAsync("p2", "dealer", InteractionType.Purchase, visitor);

        var profile = await EventuallyAsync(visitor, p => p.InteractionCount == 2);

        Assert.Equal(JourneyStage.Ownership, profile.Stage);
        Assert.Equal(Journey.Events.V1.CustomerType.Anonymous, profile.CustomerType);
    }

    [Fact]
    public async Task Lookup_WhenUnknownOrInvalid_IsNotFoundOrInvalidArgument()
    {
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await _profiles.LookupProfileAsync(new LookupProfileRequest { Identifier = new Identifier { Kind = IdentifierKind.CustomerId, Value = "C-404" } }));
        var noIdentifier = await Assert.ThrowsAsync<RpcException>(async () => await _profiles.LookupProfileAsync(new LookupProfileRequest()));
        var noKind = await Assert.ThrowsAsync<RpcException>(async () => await _profiles.LookupProfileAsync(new LookupProfileRequest { Identifier = new Identifier { Value = "x" } }));
        var badName = await Assert.ThrowsAsync<RpcException>(async () => await _profiles.GetProfileAsync(new GetProfileRequest { Name = "profiles/not-a-uuid" }));

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, noIdentifier.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, noKind.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
    }

    private async Task<V1.Profile> EventuallyAsync(Identifier identifier, Func<V1.Profile, bool> condition)
    {
        V1.Profile? last = null;
        await TestPlatform.EventuallyAsync(async () =>
        {
            try
            {
                last = (await _profiles.LookupProfileAsync(new LookupProfileRequest { Identifier = identifier })).Profile;
                return condition(last);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                return false;
            }
        });
        Assert.NotNull(last);
        Assert.True(condition(last), $"profile never reached the expected state: {last}");
        return last;
    }

    private Task<CreateTouchpointResponse> DefineAsync(string id, Channel channel, params JourneyStage[] stages) =>
        _touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = id,
            Touchpoint = new Touchpoint.V1.Touchpoint
            {
                DisplayName = id,
                Channel = channel,
                Ownership = Ownership.Owned,
                Stages = { stages },
                Criticality = 3,
                IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "helpful" },
            },
        }).ResponseAsync;

    private Task<RecordInteractionResponse> RecordAsync(string id, string touchpoint, InteractionType type, params Identifier[] identifiers) =>
        _touchpoints.RecordInteractionAsync(new RecordInteractionRequest
        {
            Interaction = new Interaction
            {
                InteractionId = id,
                Touchpoint = $"touchpoints/{touchpoint}",
                OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
                Identifiers = { identifiers },
                Type = type,
            },
        }).ResponseAsync;
}
