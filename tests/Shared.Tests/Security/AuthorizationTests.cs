using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Security;
using Journey.Testing;

namespace Journey.Shared.Tests.Security;

public sealed class AuthorizationTests
{
    [Fact]
    public async Task Call_WithoutToken_IsUnauthenticated()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        using var channel = platform.CreateAnonymousChannel();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new DeadLetterService.DeadLetterServiceClient(channel).ListDeadLettersAsync(new ListDeadLettersRequest()));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task Call_WithTokenLackingTheScope_IsPermissionDeniedNamingTheScope()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        using var channel = platform.CreateChannel("touchpoints:write");

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new DeadLetterService.DeadLetterServiceClient(channel).ListDeadLettersAsync(new ListDeadLettersRequest()));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("'admin'", error.Status.Detail);
    }

    [Fact]
    public async Task Call_WithTokenFromAnotherKey_IsUnauthenticated()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        await using var other = await TestPlatform.StartAsync([]);
        using var forged = TestPlatform.ChannelWithToken(platform.Address, other.CreateToken(Scopes.Admin));

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new DeadLetterService.DeadLetterServiceClient(forged).ListDeadLettersAsync(new ListDeadLettersRequest()));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task Call_WithTheScope_Succeeds()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        using var channel = platform.CreateChannel(Scopes.Admin);

        var response = await new DeadLetterService.DeadLetterServiceClient(channel).ListDeadLettersAsync(new ListDeadLettersRequest());

        Assert.Empty(response.DeadLetters);
    }

    [Fact]
    public async Task Health_WithoutToken_IsOpen()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        using var channel = platform.CreateAnonymousChannel();

        var response = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());

        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Call_WhenAuthDisabled_NeedsNoToken()
    {
        await using var platform = await TestPlatform.StartAsync([], new Dictionary<string, string?> { ["Journey:Auth:Enabled"] = "false" });
        using var channel = platform.CreateAnonymousChannel();

        var response = await new DeadLetterService.DeadLetterServiceClient(channel).ListDeadLettersAsync(new ListDeadLettersRequest());

        Assert.Empty(response.DeadLetters);
    }

    [Fact]
    public void Add_WhenAMethodHasNoScope_FailsNamingIt()
    {
        var scopes = new MethodScopes(new ScopeCatalog([]));

        var error = Assert.Throws<InvalidOperationException>(() =>
            scopes.Add(DeadLetterService.Descriptor, new Dictionary<string, string> { ["ListDeadLetters"] = Scopes.Admin }));

        Assert.Contains("ReplayDeadLetters", error.Message);
    }
}
