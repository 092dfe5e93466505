using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Errors;

/// <summary>
/// Maps gRPC services so that a request whose bytes are not a valid message is refused with
/// INVALID_ARGUMENT. A request is parsed before any interceptor runs, and grpc-dotnet reports a
/// parse failure as UNKNOWN; wrapping each method's request marshaller turns it into a status the
/// caller can act on. The same place checks every parsed request against the platform-wide size
/// ceilings (<see cref="RequestLimits"/>), so an oversized field is refused before any handler runs.
/// </summary>
public static class GuardedGrpcServices
{
    /// <summary>
    /// Maps <typeparamref name="TService"/> (a singleton in DI) through its generated bind method,
    /// e.g. <c>endpoints.MapGuardedGrpcService&lt;XGrpcService&gt;(XService.BindService)</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapGuardedGrpcService<TService>(this IEndpointRouteBuilder endpoints, Action<ServiceBinderBase, TService> bind)
        where TService : class
    {
        endpoints.MapGrpcService(services =>
        {
            var definition = ServerServiceDefinition.CreateBuilder();
            bind(new MalformedRequestBinder(definition, services.GetRequiredService<RequestLimits>()), services.GetRequiredService<TService>());
            return definition.Build();
        });
        return endpoints;
    }
}

/// <summary>Adds each method to a service definition with a request marshaller that reports malformed or oversized requests as INVALID_ARGUMENT.</summary>
internal sealed class MalformedRequestBinder(ServerServiceDefinition.Builder definition, RequestLimits limits) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        definition.AddMethod(Guarded(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        definition.AddMethod(Guarded(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        definition.AddMethod(Guarded(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        definition.AddMethod(Guarded(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    private Method<TRequest, TResponse> Guarded<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var deserialize = method.RequestMarshaller.ContextualDeserializer;
        var requestMarshaller = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, context =>
        {
            TRequest request;
            try
            {
                request = deserialize(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                // The parser's text describes the wire format only (a truncated field, a bad tag): safe to return.
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {typeof(TRequest).Name} message: {ex.Message}"));
            }

            if (request is IMessage message && limits.Check(message) is { } violation)
            {
                throw ErrorInterceptor.ToRpcException(new InvalidArgumentException([violation]));
            }

            return request;
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, requestMarshaller, method.ResponseMarshaller);
    }
}
