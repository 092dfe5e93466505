using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Security;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.Extensions.DependencyInjection;
using ProtoService = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Journey.Host.Tests;

/// <summary>Every method of every proto service the platform serves declares the scope it needs.</summary>
public sealed class PolicyCoverageTests
{
    [Fact]
    public async Task EveryMethodOfEveryProtoService_HasADeclaredScope()
    {
        await using var platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition]);
        var scopes = platform.Services.GetRequiredService<MethodScopes>();
        var services = typeof(Journey.Touchpoint.V1.TouchpointService).Assembly.GetTypes()
            .Concat(typeof(Journey.Profile.V1.ProfileService).Assembly.GetTypes())
            .Concat(typeof(Journey.Consent.V1.ConsentService).Assembly.GetTypes())
            .Concat(typeof(Journey.Recommendation.V1.RecommendationService).Assembly.GetTypes())
            .Concat(typeof(Journey.Platform.V1.DeadLetterService).Assembly.GetTypes())
            .Select(t => t.GetProperty("Descriptor", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.GetValue(null))
            .OfType<ProtoService>()
            .ToList();

        var uncovered = services.SelectMany(s => s.Methods).Where(m => scopes.ScopeFor($"/{m.Service.FullName}/{m.Name}") is null).Select(m => m.FullName).ToList();

        Assert.Equal(8, services.Count);
        Assert.True(uncovered.Count == 0, "Methods without a declared scope: " + string.Join(", ", uncovered));
        Assert.True(scopes.All.Count >= 44, $"only {scopes.All.Count} methods have scopes");
    }
}
