using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Security;

/// <summary>
/// What every call passes before and after its handler: the caller's token against the method's
/// scope, the caller's write rate, and the audit trail for sensitive operations. Refusals say only
/// what the caller lacks, never whether the person or thing asked for exists.
/// </summary>
internal sealed class CallPolicyInterceptor : Interceptor, IDisposable
{
    private readonly MethodScopes _scopes;
    private readonly AuthOptions _auth;
    private readonly AuditTrail _audit;
    private readonly PartitionedRateLimiter<string> _writeLimiter;

    public CallPolicyInterceptor(MethodScopes scopes, IOptions<AuthOptions> auth, IOptions<LimitsOptions> limits, AuditTrail audit)
    {
        _scopes = scopes;
        _auth = auth.Value;
        _audit = audit;
        var settings = limits.Value;
        _writeLimiter = PartitionedRateLimiter.Create<string, string>(caller => RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = settings.WriteBurst,
            TokensPerPeriod = settings.WriteCallsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var scope = Admit(context);
        var response = await Audited(scope, context, request as IMessage, () => continuation(request, context));
        return response;
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var scope = Admit(context);
        return Audited(scope, context, null, () => continuation(requestStream, context));
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var scope = Admit(context);
        await Audited(scope, context, request as IMessage, async () =>
        {
            await continuation(request, responseStream, context);
            return 0;
        });
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var scope = Admit(context);
        await Audited(scope, context, null, async () =>
        {
            await continuation(requestStream, responseStream, context);
            return 0;
        });
    }

    /// <summary>Authenticates, authorises and rate-limits the call; returns the scope it needed (null for open methods).</summary>
    private string? Admit(ServerCallContext context)
    {
        if (MethodScopes.IsOpen(context.Method))
        {
            return null;
        }

        var required = _scopes.ScopeFor(context.Method)
            ?? throw ErrorDetails.ToRpcException(StatusCode.PermissionDenied, ErrorReasons.MethodWithoutPolicy, $"{context.Method} has no access policy, so nobody may call it.");
        var user = context.GetHttpContext().User;
        if (_auth.Enabled)
        {
            if (user.Identity?.IsAuthenticated != true)
            {
                throw ErrorDetails.ToRpcException(StatusCode.Unauthenticated, ErrorReasons.TokenRequired, "A valid bearer token is required: send the metadata 'authorization: Bearer <token>'.");
            }

            if (required != Scopes.AnyCaller && !Granted(user).Contains(required))
            {
                throw ErrorDetails.ToRpcException(StatusCode.PermissionDenied, ErrorDetails.Info(ErrorReasons.ScopeRequired, ("scope", required)), $"The token lacks the scope '{required}' that {context.Method} requires.");
            }
        }

        if (_scopes.Catalog.IsWrite(required))
        {
            using var lease = _writeLimiter.AttemptAcquire(Caller(user));
            if (!lease.IsAcquired)
            {
                throw TooManyCalls(lease);
            }
        }

        return required;
    }

    private async Task<T> Audited<T>(string? scope, ServerCallContext context, IMessage? request, Func<Task<T>> call)
    {
        if (scope is null || !_scopes.Catalog.IsSensitive(scope))
        {
            return await call();
        }

        var caller = Caller(context.GetHttpContext().User);
        try
        {
            var result = await call();
            await _audit.RecordAsync(context.Method, caller, AuditTrail.TargetOf(request, result as IMessage), "OK", context.CancellationToken);
            return result;
        }
        catch (Exception ex)
        {
            var outcome = ex is RpcException rpc ? rpc.StatusCode.ToString() : "Failed";
            await _audit.RecordAsync(context.Method, caller, AuditTrail.TargetOf(request, null), outcome, CancellationToken.None);
            throw;
        }
    }

    private static RpcException TooManyCalls(RateLimitLease lease)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return ErrorDetails.ToRpcException(
            StatusCode.ResourceExhausted,
            ErrorReasons.WriteRateExceeded,
            $"Write rate limit reached for this caller (Journey:Limits:WriteCallsPerSecond); retry after {retryAfter.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms.",
            new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) });
    }

    private static string Caller(ClaimsPrincipal user) => user.FindFirst("sub")?.Value ?? "anonymous";

    private static HashSet<string> Granted(ClaimsPrincipal user) =>
        user.FindAll("scope").Concat(user.FindAll("scp"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);

    public void Dispose() => _writeLimiter.Dispose();
}
