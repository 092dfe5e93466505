using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Shared.Tests.Probe;
using Journey.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Journey.Shared.Tests.Hosting;

public sealed class ServiceReflectionTests
{
    private const string Health = "grpc.health.v1.Health";
    private const string ReflectionV1 = "grpc.reflection.v1.ServerReflection";
    private const string ReflectionV1Alpha = "grpc.reflection.v1alpha.ServerReflection";

    [Fact]
    public async Task ListServices_WhenServicesAreMappedGuarded_ListsEachServiceTheHostServes()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        using var channel = platform.CreateAnonymousChannel();

        var listed = await ListServicesAsync(channel);

        Assert.Equal(
            new[] { Health, "journey.platform.v1.AuditService", "journey.platform.v1.DeadLetterService", "journey.platform.v1.DiagnosticsService", ReflectionV1, ReflectionV1Alpha, ProbeService.Descriptor.FullName }.Order(),
            listed.Order());
        Assert.Equal(ServedServices(platform).Order(), listed.Order());
    }

    [Fact]
    public async Task ListServices_WhenEventsGoThroughDapr_LeavesOutTheDeadLetterServiceItDoesNotServe()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Events:Transport"] = "Dapr",
            ["Journey:Events:AppApiToken"] = "sidecar-secret",
        });
        using var channel = platform.CreateAnonymousChannel();

        var listed = await ListServicesAsync(channel);

        Assert.DoesNotContain("journey.platform.v1.DeadLetterService", listed);
        Assert.Contains(ProbeService.Descriptor.FullName, listed);
        Assert.Equal(ServedServices(platform).Order(), listed.Order());
    }

    [Fact]
    public async Task FileContainingSymbol_WhenAGuardedServiceIsAsked_DescribesEveryMethodItServes()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        using var channel = platform.CreateAnonymousChannel();

        var files = await FilesContainingSymbolAsync(channel, ProbeService.Descriptor.FullName);

        var service = files.SelectMany(f => f.Service).Single(s => s.Name == ProbeService.Descriptor.Name);
        var served = ServedMethods(platform).Where(m => m.ServiceName == ProbeService.Descriptor.FullName).Select(m => m.Name);
        Assert.Equal(served.Order(), service.Method.Select(m => m.Name).Order());
        Assert.Equal(["Upload", "Wait", "Watch"], service.Method.Select(m => m.Name).Order());
    }

    [Fact]
    public async Task ListServices_WhenAskedThroughV1Alpha_ListsTheGuardedServicesToo()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        using var channel = platform.CreateAnonymousChannel();
        var client = new V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = client.ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var listed = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.False(await call.ResponseStream.MoveNext());

        Assert.Contains(ProbeService.Descriptor.FullName, listed);
    }

    [Fact]
    public async Task Call_WhenRequestBytesAreMalformed_StillAnswersInvalidArgumentWithReflectionOn()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        var garbage = new Method<byte[], byte[]>(MethodType.Unary, ProbeService.Descriptor.FullName, "Wait", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await platform.Channel.CreateCallInvoker().AsyncUnaryCall(garbage, null, new CallOptions(), [0xFF, 0xFF, 0xFF]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("WaitRequest", error.Status.Detail);
    }

    /// <summary>The gRPC methods the host routes, as its endpoints say.</summary>
    private static List<IMethod> ServedMethods(TestPlatform platform) =>
        [.. platform.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method)
            .OfType<IMethod>()];

    private static List<string> ServedServices(TestPlatform platform) => [.. ServedMethods(platform).Select(m => m.ServiceName).Distinct()];

    private static async Task<List<string>> ListServicesAsync(GrpcChannel channel)
    {
        var response = await ServerReflection.AskAsync(channel, new V1.ServerReflectionRequest { ListServices = "" });
        return [.. response.ListServicesResponse.Service.Select(s => s.Name)];
    }

    private static async Task<List<FileDescriptorProto>> FilesContainingSymbolAsync(GrpcChannel channel, string symbol)
    {
        var response = await ServerReflection.AskAsync(channel, new V1.ServerReflectionRequest { FileContainingSymbol = symbol });
        Assert.Equal(V1.ServerReflectionResponse.MessageResponseOneofCase.FileDescriptorResponse, response.MessageResponseCase);
        return [.. response.FileDescriptorResponse.FileDescriptorProto.Select(bytes => FileDescriptorProto.Parser.ParseFrom(bytes))];
    }
}
