using Grpc.Net.Client;
using Grpc.Reflection.V1;
using Xunit;

namespace Journey.Testing;

/// <summary>Asks a host's <c>grpc.reflection.v1</c> service one question, as buf curl and grpcurl do.</summary>
public static class ServerReflection
{
    /// <summary>Sends <paramref name="request"/> and returns the one answer, reading the call to its end.</summary>
    public static async Task<ServerReflectionResponse> AskAsync(GrpcChannel channel, ServerReflectionRequest request)
    {
        using var call = new Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var response = call.ResponseStream.Current;
        // Read to the end, so the call ends normally instead of being reset under the server.
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        return response;
    }
}
