using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Journey.Shared.Storage;
using Microsoft.Extensions.Logging;

namespace Journey.Shared.Errors;

/// <summary>
/// The one place where exceptions become gRPC statuses. Domain errors keep their message (written for
/// callers); store outages become UNAVAILABLE so clients retry; anything else is logged with its trace
/// id and returned as INTERNAL with generic text, because exception text can carry internals. Every
/// status leaving here carries a <c>google.rpc.ErrorInfo</c> (<see cref="ErrorReasons"/>): a domain
/// error's own reason, or for a status raised without one (the access checks, gRPC itself) the
/// reason of its code. JSON transcoding answers with the same status as the JSON body.
/// </summary>
public sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) =>
        GuardAsync(() => continuation(request, context), context);

    /// <inheritdoc />
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        GuardAsync(() => continuation(requestStream, context), context);

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        GuardAsync(() => continuation(request, responseStream, context), context);

    /// <inheritdoc />
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        GuardAsync(() => continuation(requestStream, responseStream, context), context);

    private async Task GuardAsync(Func<Task> call, ServerCallContext context) =>
        await GuardAsync(async () =>
        {
            await call();
            return true;
        }, context);

    /// <summary>Runs a handler of any kind, turning what it throws into a status that carries an ErrorInfo.</summary>
    private async Task<T> GuardAsync<T>(Func<Task<T>> call, ServerCallContext context)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
        catch (RpcException ex) when (!ErrorDetails.HasInfo(ex))
        {
            throw ErrorDetails.WithReason(ex);
        }
    }

    private RpcException Translate(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case DomainException domain:
                return ToRpcException(domain);
            case StoreUnavailableException:
                LogStoreUnavailable(logger, context.Method, Activity.Current?.TraceId.ToString() ?? "", exception);
                return ErrorDetails.ToRpcException(StatusCode.Unavailable, ErrorReasons.StoreUnavailable, "The store is unavailable; retry with back-off.");
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return ErrorDetails.ToRpcException(StatusCode.Cancelled, ErrorReasons.CallCancelled, "The call was cancelled by the caller or its deadline passed.");
            default:
                var traceId = Activity.Current?.TraceId.ToString() ?? "";
                LogUnexpected(logger, context.Method, traceId, exception);
                return ErrorDetails.ToRpcException(StatusCode.Internal, ErrorReasons.InternalError, $"An unexpected error occurred (trace id {traceId}).");
        }
    }

    /// <summary>Maps a domain error to its status: its reason's <c>google.rpc.ErrorInfo</c> first, then <c>google.rpc.BadRequest</c> for invalid arguments.</summary>
    public static RpcException ToRpcException(DomainException exception)
    {
        var code = exception.Kind switch
        {
            ErrorKind.InvalidArgument => Code.InvalidArgument,
            ErrorKind.NotFound => Code.NotFound,
            ErrorKind.AlreadyExists => Code.AlreadyExists,
            ErrorKind.FailedPrecondition => Code.FailedPrecondition,
            ErrorKind.Conflict => Code.Aborted,
            ErrorKind.ResourceExhausted => Code.ResourceExhausted,
            _ => Code.Internal,
        };
        var status = new Google.Rpc.Status { Code = (int)code, Message = exception.Message, Details = { Any.Pack(ErrorDetails.Info(exception.Reason)) } };
        if (exception.Violations.Count > 0)
        {
            var badRequest = new BadRequest();
            foreach (var violation in exception.Violations)
            {
                badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = violation.Field, Description = violation.Description });
            }

            status.Details.Add(Any.Pack(badRequest));
        }

        return status.ToRpcException();
    }

    [LoggerMessage(EventId = 1, EventName = "UnexpectedRpcError", Level = LogLevel.Error, Message = "Unexpected error in {Method} (trace id {TraceId})")]
    private static partial void LogUnexpected(ILogger logger, string method, string traceId, Exception exception);

    [LoggerMessage(EventId = 2, EventName = "StoreUnavailable", Level = LogLevel.Warning, Message = "Store unavailable during {Method} (trace id {TraceId})")]
    private static partial void LogStoreUnavailable(ILogger logger, string method, string traceId, Exception exception);
}
