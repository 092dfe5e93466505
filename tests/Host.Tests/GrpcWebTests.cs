using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Journey.Shared.Security;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// gRPC-Web as the clients that need it send it: Microsoft's gRPC-Web client over HTTP/1.1 to the
/// HTTP listener, in both of its encodings, answered with the same statuses and scopes as gRPC.
/// </summary>
public sealed class GrpcWebTests(TranscodingHostFixture fixture) : IClassFixture<TranscodingHostFixture>
{
    [Theory]
    [InlineData(GrpcWebMode.GrpcWeb)]
    [InlineData(GrpcWebMode.GrpcWebText)]
    public async Task AMethod_OverHttp11_AnswersAsGrpcDoes(GrpcWebMode mode)
    {
        using var channel = Channel(mode, fixture.Token(TouchpointScopes.Read, Scopes.Admin));
        var client = new TouchpointService.TouchpointServiceClient(channel);
        var id = $"web-{mode}".ToLowerInvariant();

        await client.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = id,
            Touchpoint = new Journey.Touchpoint.V1.Touchpoint
            {
                DisplayName = "Reached over gRPC-Web",
                Channel = Journey.Common.V1.Channel.Web,
                Ownership = Journey.Common.V1.Ownership.Owned,
                Stages = { Journey.Common.V1.JourneyStage.Awareness },
                Criticality = 2,
                IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "quick" },
            },
        });
        var read = await client.GetTouchpointAsync(new GetTouchpointRequest { Name = $"touchpoints/{id}" });
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/no-such-one" }));

        Assert.Equal("Reached over gRPC-Web", read.Touchpoint.DisplayName);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task AMethod_WithoutItsScope_IsPermissionDenied()
    {
        using var channel = Channel(GrpcWebMode.GrpcWeb, fixture.Token(TouchpointScopes.Read));
        var client = new TouchpointService.TouchpointServiceClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/anything" }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    private GrpcChannel Channel(GrpcWebMode mode, string token) =>
        GrpcChannel.ForAddress(fixture.Host.HttpAddress, new GrpcChannelOptions
        {
            HttpHandler = new GrpcWebHandler(mode, new HttpClientHandler()),
            HttpVersion = HttpVersion.Version11,
            HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        });
}
