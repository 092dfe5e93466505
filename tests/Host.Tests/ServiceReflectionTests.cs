using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reflection = Grpc.Reflection.V1;

namespace Journey.Host.Tests;

/// <summary>What a reflection client (buf curl, grpcurl, Postman) learns from a host: every service it serves, each method of it, nothing else.</summary>
public sealed class ServiceReflectionTests
{
    private static readonly string[] Platform =
    [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        Journey.Platform.V1.AuditService.Descriptor.FullName,
        Journey.Platform.V1.DeadLetterService.Descriptor.FullName,
        Journey.Platform.V1.DiagnosticsService.Descriptor.FullName,
    ];

    [Fact]
    public async Task ListServices_WhenEveryModuleRuns_ListsEachJourneyServiceWithEveryMethodItServes()
    {
        await using var platform = await StartAsync(new Dictionary<string, string?>());
        using var channel = platform.CreateAnonymousChannel();

        var listed = await ListServicesAsync(channel);

        Assert.Equal(
            Platform.Concat(
            [
                Journey.Touchpoint.V1.TouchpointService.Descriptor.FullName,
                Journey.Touchpoint.V1.TrackingSourceService.Descriptor.FullName,
                Journey.Profile.V1.ProfileService.Descriptor.FullName,
                Journey.Consent.V1.ConsentService.Descriptor.FullName,
                Journey.Recommendation.V1.RecommendationService.Descriptor.FullName,
            ]).Order(),
            listed.Order());
        await AssertEachListedServiceDescribesTheMethodsServedAsync(platform, channel, listed);
    }

    [Fact]
    public async Task ListServices_WhenOnlyTheProfileModuleRuns_ListsTheProfileAndPlatformServicesOnly()
    {
        await using var platform = await StartAsync(new Dictionary<string, string?> { ["Journey:Hosting:Modules"] = "profile" });
        using var channel = platform.CreateAnonymousChannel();

        var listed = await ListServicesAsync(channel);

        Assert.Equal(Platform.Append(Journey.Profile.V1.ProfileService.Descriptor.FullName).Order(), listed.Order());
        await AssertEachListedServiceDescribesTheMethodsServedAsync(platform, channel, listed);
    }

    private static Task<TestPlatform> StartAsync(Dictionary<string, string?> settings)
    {
        settings["Journey:Demo:Enabled"] = "false";
        return TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition], settings);
    }

    /// <summary>
    /// Each listed service, described by reflection, has exactly the methods the host routes for it;
    /// and every service the host routes is listed.
    /// </summary>
    private static async Task AssertEachListedServiceDescribesTheMethodsServedAsync(TestPlatform platform, GrpcChannel channel, List<string> listed)
    {
        // A transcoded method's JSON/HTTP endpoints carry the same gRPC method; count its gRPC route once.
        var served = platform.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Where(e => e.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is null)
            .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method)
            .OfType<IMethod>()
            .ToLookup(m => m.ServiceName, m => m.Name);
        Assert.Equal(served.Select(s => s.Key).Order(), listed.Order());
        foreach (var name in listed)
        {
            var response = await ServerReflection.AskAsync(channel, new Reflection.ServerReflectionRequest { FileContainingSymbol = name });
            Assert.True(response.MessageResponseCase == Reflection.ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse, $"{name}: {response.ErrorResponse?.ErrorMessage}");
            var files = response.FileDescriptorResponse.FileDescriptorProto.Select(bytes => FileDescriptorProto.Parser.ParseFrom(bytes));
            var service = Assert.Single(files.SelectMany(f => f.Service.Select(s => (Name: $"{f.Package}.{s.Name}", Service: s))), s => s.Name == name).Service;
            Assert.Equal(served[name].Order(), service.Method.Select(m => m.Name).Order());
        }
    }

    private static async Task<List<string>> ListServicesAsync(GrpcChannel channel) =>
        [.. (await ServerReflection.AskAsync(channel, new Reflection.ServerReflectionRequest { ListServices = "" })).ListServicesResponse.Service.Select(s => s.Name)];
}
