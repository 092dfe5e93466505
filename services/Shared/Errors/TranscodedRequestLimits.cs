using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http;

namespace Journey.Shared.Errors;

/// <summary>
/// Holds a request that came as JSON (transcoded, 0027) to the platform-wide ceilings of
/// <see cref="RequestLimits"/>. A gRPC request is checked by its guarded marshaller while it is
/// parsed; a JSON request is parsed by the transcoder, which never calls that marshaller, so the
/// check runs here, before the access checks as it does for gRPC.
/// </summary>
internal sealed class TranscodedRequestLimits(RequestLimits limits) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request, context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request, context);
        return continuation(request, responseStream, context);
    }

    private void Check(object request, ServerCallContext context)
    {
        if (request is IMessage message
            && context.GetHttpContext().GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null
            && limits.Check(message) is { } violation)
        {
            throw ErrorInterceptor.ToRpcException(new InvalidArgumentException([violation], ErrorReasons.RequestTooLarge));
        }
    }
}
