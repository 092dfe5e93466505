using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Errors;

namespace Journey.Shared.Hosting;

/// <summary>The empty call: benchmarks measure every other call against it.</summary>
internal sealed class DiagnosticsGrpcService : DiagnosticsService.DiagnosticsServiceBase
{
    private const int MaxPayloadBytes = 64 * 1024;

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context)
    {
        if (request.Payload.Length > MaxPayloadBytes)
        {
            throw new InvalidArgumentException("payload", $"must be at most {MaxPayloadBytes} bytes");
        }

        return Task.FromResult(new PingResponse { Payload = request.Payload });
    }
}
