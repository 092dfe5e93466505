using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Cli.Tests;

/// <summary>All four services in one in-process host, shared by the command tests.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public TestPlatform Platform { get; private set; } = null!;

    public string Address => Platform.Address;

    public string Token { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition]);
        Token = Platform.CreateToken([.. Platform.Services.GetRequiredService<KnownModules>().Scopes.All]);
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}
