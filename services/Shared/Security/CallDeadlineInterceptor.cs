using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Security;

/// <summary>
/// Gives every call a time limit: <see cref="LimitsOptions.UnaryDeadline"/> for unary calls,
/// <see cref="LimitsOptions.StreamDeadline"/> for client-streaming and bidirectional ones and
/// <see cref="LimitsOptions.WatchDeadline"/> for server-streaming watches. A caller's own shorter
/// <c>grpc-timeout</c> wins and is enforced by gRPC itself. When the limit runs out the handler's
/// cancellation token is cancelled (stores then roll their transaction back, so nothing
/// half-written is committed) and the call ends with DEADLINE_EXCEEDED naming the limit and its
/// setting. The limit is cooperative: the call ends when the handler honours its token, because
/// gRPC must not finish a request while its handler still uses it.
/// </summary>
internal sealed class CallDeadlineInterceptor(IOptions<LimitsOptions> options, TimeProvider time) : Interceptor
{
    private const string HttpContextKey = "__HttpContext";
    private readonly LimitsOptions _limits = options.Value;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        using var limit = Start(context, _limits.UnaryDeadline, nameof(LimitsOptions.UnaryDeadline));
        if (limit is null)
        {
            return await continuation(request, context);
        }

        try
        {
            return await continuation(request, limit.Context);
        }
        catch (Exception) when (limit.Expired)
        {
            throw limit.Exceeded();
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var limit = Start(context, _limits.StreamDeadline, nameof(LimitsOptions.StreamDeadline));
        if (limit is null)
        {
            return await continuation(requestStream, context);
        }

        try
        {
            return await continuation(new LimitedReader<TRequest>(requestStream, limit.Context.CancellationToken), limit.Context);
        }
        catch (Exception) when (limit.Expired)
        {
            throw limit.Exceeded();
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var limit = Start(context, _limits.WatchDeadline, nameof(LimitsOptions.WatchDeadline));
        if (limit is null)
        {
            await continuation(request, responseStream, context);
            return;
        }

        try
        {
            await continuation(request, responseStream, limit.Context);
        }
        catch (Exception) when (limit.Expired)
        {
            throw limit.Exceeded();
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        using var limit = Start(context, _limits.StreamDeadline, nameof(LimitsOptions.StreamDeadline));
        if (limit is null)
        {
            await continuation(requestStream, responseStream, context);
            return;
        }

        try
        {
            await continuation(new LimitedReader<TRequest>(requestStream, limit.Context.CancellationToken), responseStream, limit.Context);
        }
        catch (Exception) when (limit.Expired)
        {
            throw limit.Exceeded();
        }
    }

    /// <summary>The limit for this call, or null when the caller's own deadline comes first (gRPC enforces that one).</summary>
    private CallLimit? Start(ServerCallContext context, TimeSpan limit, string setting)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var callerDeadline = context.Deadline;
        if (callerDeadline != DateTime.MaxValue && callerDeadline - now <= limit)
        {
            return null;
        }

        return new CallLimit(context, limit, setting, now + limit, time);
    }

    private sealed class CallLimit : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;
        private readonly CancellationToken _caller;
        private readonly TimeSpan _limit;
        private readonly string _setting;

        public CallLimit(ServerCallContext inner, TimeSpan limit, string setting, DateTime deadline, TimeProvider time)
        {
            _limit = limit;
            _setting = setting;
            _caller = inner.CancellationToken;
            _timeout = new CancellationTokenSource(limit, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_caller, _timeout.Token);
            // Code below reaches the HTTP context through the user state when the context is not gRPC's own.
            inner.UserState[HttpContextKey] = inner.GetHttpContext();
            Context = new LimitedCallContext(inner, deadline, _linked.Token);
        }

        public ServerCallContext Context { get; }

        /// <summary>True when this limit, not the caller, ended the call.</summary>
        public bool Expired => _timeout.IsCancellationRequested && !_caller.IsCancellationRequested;

        public RpcException Exceeded() => ErrorDetails.ToRpcException(
            StatusCode.DeadlineExceeded,
            ErrorReasons.DeadlineExceeded,
            $"The call took longer than its limit of {Describe(_limit)} (Journey:Limits:{_setting}); send a shorter request or ask for a longer limit.");

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }

        private static string Describe(TimeSpan limit) =>
            limit.TotalSeconds >= 1 && limit.TotalSeconds == Math.Floor(limit.TotalSeconds)
                ? string.Create(CultureInfo.InvariantCulture, $"{limit.TotalSeconds} s")
                : string.Create(CultureInfo.InvariantCulture, $"{limit.TotalMilliseconds} ms");
    }

    /// <summary>The caller's context with the earlier deadline and its token.</summary>
    private sealed class LimitedCallContext(ServerCallContext inner, DateTime deadline, CancellationToken token) : ServerCallContext
    {
        protected override string MethodCore => inner.Method;
        protected override string HostCore => inner.Host;
        protected override string PeerCore => inner.Peer;
        protected override DateTime DeadlineCore => deadline;
        protected override Metadata RequestHeadersCore => inner.RequestHeaders;
        protected override CancellationToken CancellationTokenCore => token;
        protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;
        protected override AuthContext AuthContextCore => inner.AuthContext;
        protected override IDictionary<object, object> UserStateCore => inner.UserState;

        protected override Status StatusCore
        {
            get => inner.Status;
            set => inner.Status = value;
        }

        protected override WriteOptions? WriteOptionsCore
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => inner.CreatePropagationToken(options);

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => inner.WriteResponseHeadersAsync(responseHeaders);
    }

    /// <summary>Ends a wait for the next request message when the limit runs out, whatever token the handler passed.</summary>
    private sealed class LimitedReader<T>(IAsyncStreamReader<T> inner, CancellationToken limit) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken) =>
            !cancellationToken.CanBeCanceled || cancellationToken == limit ? inner.MoveNext(limit) : MoveNextEitherAsync(cancellationToken);

        private async Task<bool> MoveNextEitherAsync(CancellationToken cancellationToken)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit);
            return await inner.MoveNext(both.Token);
        }
    }
}
