using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Journey.Shared.Errors;

/// <summary>
/// The stable reasons every error carries in a <c>google.rpc.ErrorInfo</c> (AIP-193), domain
/// <see cref="Domain"/>, so a client branches on the reason and never parses message text. The
/// list with what each means is in <c>docs/api.md</c>; a reason, once published, keeps its meaning.
/// Resource errors derive theirs from the resource type: <c>TOUCHPOINT_NOT_FOUND</c>,
/// <c>SEGMENT_ALREADY_EXISTS</c>, <c>PURPOSE_CHANGED</c>.
/// </summary>
public static class ErrorReasons
{
    /// <summary>The <c>ErrorInfo.domain</c> of every reason here.</summary>
    public const string Domain = "journey.dev";

    /// <summary>A field breaks its rule; <c>google.rpc.BadRequest</c> names each field.</summary>
    public const string FieldInvalid = "FIELD_INVALID";

    /// <summary>The request is not a message of its type (bad protobuf bytes, or JSON that does not parse).</summary>
    public const string RequestMalformed = "REQUEST_MALFORMED";

    /// <summary>A field is over a platform-wide ceiling (<c>Journey:Limits</c>); BadRequest names it.</summary>
    public const string RequestTooLarge = "REQUEST_TOO_LARGE";

    /// <summary>No valid bearer token.</summary>
    public const string TokenRequired = "TOKEN_REQUIRED";

    /// <summary>The token lacks the scope the method requires; metadata <c>scope</c> names it.</summary>
    public const string ScopeRequired = "SCOPE_REQUIRED";

    /// <summary>The method has no access policy, so nobody may call it.</summary>
    public const string MethodWithoutPolicy = "METHOD_WITHOUT_POLICY";

    /// <summary>The caller's write rate is spent; <c>google.rpc.RetryInfo</c> says when to retry.</summary>
    public const string WriteRateExceeded = "WRITE_RATE_EXCEEDED";

    /// <summary>A store did not answer; retry with back-off.</summary>
    public const string StoreUnavailable = "STORE_UNAVAILABLE";

    /// <summary>The call's time limit passed (<c>Journey:Limits</c> or the caller's deadline).</summary>
    public const string DeadlineExceeded = "DEADLINE_EXCEEDED";

    /// <summary>The caller cancelled the call.</summary>
    public const string CallCancelled = "CALL_CANCELLED";

    /// <summary>Something unexpected; the message carries a trace id for the operator.</summary>
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary>A limit of the domain was reached; the message names it.</summary>
    public const string LimitExceeded = "LIMIT_EXCEEDED";

    /// <summary>The touchpoint is retired and can no longer change.</summary>
    public const string TouchpointRetired = "TOUCHPOINT_RETIRED";

    /// <summary>The content item is retired and can no longer change.</summary>
    public const string ContentRetired = "CONTENT_RETIRED";

    /// <summary>The tracking source holds as many write keys as it may.</summary>
    public const string WriteKeyLimitReached = "WRITE_KEY_LIMIT_REACHED";

    /// <summary>The two profiles of a merge are one profile already.</summary>
    public const string ProfilesAlreadyMerged = "PROFILES_ALREADY_MERGED";

    /// <summary>A split would bring back an erased profile or identifier, or the profile was erased.</summary>
    public const string ProfileErased = "PROFILE_ERASED";

    /// <summary>Another merge must be split first (a newer one, or one of the profile into another); the message names it.</summary>
    public const string SplitAnotherMergeFirst = "SPLIT_ANOTHER_MERGE_FIRST";

    /// <summary>The merge cannot be undone: recorded before merges kept what undoing them needs, or the activity since outgrew what is kept.</summary>
    public const string MergeNotSplittable = "MERGE_NOT_SPLITTABLE";

    /// <summary>Another experiment is running; stop it first.</summary>
    public const string ExperimentAlreadyRunning = "EXPERIMENT_ALREADY_RUNNING";

    /// <summary>A <c>request_id</c> came back with a different request.</summary>
    public const string RequestIdReused = "REQUEST_ID_REUSED";

    /// <summary>An <c>interaction_id</c> was recorded before with other content.</summary>
    public const string InteractionIdReused = "INTERACTION_ID_REUSED";

    /// <summary>The write carries identifiers of an erased person.</summary>
    public const string IdentifiersErased = "IDENTIFIERS_ERASED";

    /// <summary><c>{RESOURCE}_NOT_FOUND</c>, e.g. <c>TOUCHPOINT_NOT_FOUND</c> for "Touchpoint".</summary>
    public static string NotFound(string resource) => Of(resource, "NOT_FOUND");

    /// <summary><c>{RESOURCE}_ALREADY_EXISTS</c>.</summary>
    public static string AlreadyExists(string resource) => Of(resource, "ALREADY_EXISTS");

    /// <summary><c>{RESOURCE}_CHANGED</c>: another writer changed it first (a stale etag among others).</summary>
    public static string Changed(string resource) => Of(resource, "CHANGED");

    /// <summary>The reason of a status raised without one (by gRPC itself or a library), from its code alone.</summary>
    public static string ForCode(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument => RequestMalformed,
        StatusCode.Unauthenticated => TokenRequired,
        StatusCode.PermissionDenied => ScopeRequired,
        StatusCode.DeadlineExceeded => DeadlineExceeded,
        StatusCode.Cancelled => CallCancelled,
        StatusCode.Unavailable => StoreUnavailable,
        StatusCode.ResourceExhausted => LimitExceeded,
        _ => InternalError,
    };

    /// <summary>"Write key" and "PolicyVersion" alike become <c>WRITE_KEY</c> and <c>POLICY_VERSION</c>.</summary>
    internal static string UpperSnake(string text)
    {
        var snake = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (!char.IsAsciiLetterOrDigit(c))
            {
                if (snake.Length > 0 && snake[^1] != '_')
                {
                    snake.Append('_');
                }

                continue;
            }

            if (char.IsAsciiLetterUpper(c) && i > 0 && char.IsAsciiLetterLower(text[i - 1]))
            {
                snake.Append('_');
            }

            snake.Append(char.ToUpperInvariant(c));
        }

        return snake.ToString().TrimEnd('_');
    }

    private static string Of(string resource, string what) => UpperSnake(resource) is { Length: > 0 } type ? $"{type}_{what}" : what;
}

/// <summary>Builds every error status the platform sends: a <c>google.rpc.Status</c> whose first detail is its <c>ErrorInfo</c>.</summary>
public static class ErrorDetails
{
    /// <summary>The <c>ErrorInfo</c> for <paramref name="reason"/>, with optional metadata pairs.</summary>
    public static ErrorInfo Info(string reason, params (string Key, string Value)[] metadata)
    {
        var info = new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain };
        foreach (var (key, value) in metadata)
        {
            info.Metadata[key] = value;
        }

        return info;
    }

    /// <summary>A status with code, message, the reason's <c>ErrorInfo</c> and further details, as an exception to throw.</summary>
    public static RpcException ToRpcException(StatusCode code, string reason, string message, params IMessage[] details) =>
        ToRpcException(code, Info(reason), message, details);

    /// <summary>A status with code, message, <paramref name="info"/> and further details, as an exception to throw.</summary>
    public static RpcException ToRpcException(StatusCode code, ErrorInfo info, string message, params IMessage[] details)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message, Details = { Any.Pack(info) } };
        foreach (var detail in details)
        {
            status.Details.Add(Any.Pack(detail));
        }

        return status.ToRpcException();
    }

    /// <summary>Whether the exception's status details already hold an <c>ErrorInfo</c>.</summary>
    public static bool HasInfo(RpcException exception) =>
        exception.GetRpcStatus() is { } status && status.Details.Any(d => d.Is(ErrorInfo.Descriptor));

    /// <summary>
    /// <paramref name="exception"/> with an <c>ErrorInfo</c> whose reason follows from its code alone
    /// put first in its details; its other details and trailers are kept.
    /// </summary>
    public static RpcException WithReason(RpcException exception)
    {
        if (HasInfo(exception))
        {
            return exception;
        }

        var status = exception.GetRpcStatus() ?? new Google.Rpc.Status { Code = (int)exception.StatusCode, Message = exception.Status.Detail };
        status.Details.Insert(0, Any.Pack(Info(ErrorReasons.ForCode(exception.StatusCode))));
        var trailers = new Metadata();
        foreach (var entry in exception.Trailers.Where(e => e.Key != StatusDetailsTrailer))
        {
            trailers.Add(entry);
        }

        trailers.Add(StatusDetailsTrailer, status.ToByteArray());
        return new RpcException(new Grpc.Core.Status(exception.StatusCode, status.Message), trailers);
    }

    private const string StatusDetailsTrailer = "grpc-status-details-bin";
}
