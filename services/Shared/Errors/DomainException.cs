namespace Journey.Shared.Errors;

/// <summary>What went wrong, in terms a caller can act on. Each kind maps to exactly one gRPC status.</summary>
public enum ErrorKind
{
    /// <summary>The request itself is wrong; the violations name the fields to fix.</summary>
    InvalidArgument,

    /// <summary>The thing asked for does not exist.</summary>
    NotFound,

    /// <summary>The thing to create exists already.</summary>
    AlreadyExists,

    /// <summary>The request is well formed but the system is not in a state that allows it.</summary>
    FailedPrecondition,

    /// <summary>Another writer changed the same thing first; re-read and retry.</summary>
    Conflict,

    /// <summary>A limit was reached; the message names the limit.</summary>
    ResourceExhausted,
}

/// <summary>One field of a request and the rule it broke.</summary>
/// <param name="Field">The field path as the caller wrote it, e.g. <c>interactions[3].rating</c>.</param>
/// <param name="Description">The rule and how to satisfy it.</param>
public sealed record FieldViolation(string Field, string Description);

/// <summary>
/// A broken business rule. The domain throws these; the gRPC error interceptor turns the kind into a
/// status and the message into text the caller can act on, so the message must never carry
/// personal data or internals.
/// </summary>
public class DomainException : Exception
{
    /// <summary>Creates the exception; <paramref name="reason"/> defaults to the kind's generic one.</summary>
    public DomainException(ErrorKind kind, string message, IReadOnlyList<FieldViolation>? violations = null, string? reason = null)
        : base(message)
    {
        Kind = kind;
        Violations = violations ?? [];
        Reason = reason ?? kind switch
        {
            ErrorKind.InvalidArgument => ErrorReasons.FieldInvalid,
            ErrorKind.NotFound => "NOT_FOUND",
            ErrorKind.AlreadyExists => "ALREADY_EXISTS",
            ErrorKind.Conflict => "CONCURRENT_CHANGE",
            ErrorKind.ResourceExhausted => ErrorReasons.LimitExceeded,
            _ => "FAILED_PRECONDITION",
        };
    }

    /// <summary>The kind, which decides the status code.</summary>
    public ErrorKind Kind { get; }

    /// <summary>For <see cref="ErrorKind.InvalidArgument"/>: every field that was wrong.</summary>
    public IReadOnlyList<FieldViolation> Violations { get; }

    /// <summary>The stable reason callers branch on (<see cref="ErrorReasons"/>), sent in <c>google.rpc.ErrorInfo</c>.</summary>
    public string Reason { get; }
}

/// <summary>The request is invalid; every violation is listed.</summary>
public sealed class InvalidArgumentException : DomainException
{
    /// <summary>One field is wrong.</summary>
    public InvalidArgumentException(string field, string description)
        : this([new FieldViolation(field, description)])
    {
    }

    /// <summary>Several fields are wrong; <paramref name="reason"/> defaults to <see cref="ErrorReasons.FieldInvalid"/>.</summary>
    public InvalidArgumentException(IReadOnlyList<FieldViolation> violations, string? reason = null)
        : base(ErrorKind.InvalidArgument, Describe(violations), violations, reason)
    {
    }

    private static string Describe(IReadOnlyList<FieldViolation> violations) =>
        violations.Count == 1
            ? $"{violations[0].Field}: {violations[0].Description}"
            : $"{violations.Count} fields are invalid: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
}

/// <summary>A named resource does not exist.</summary>
public sealed class NotFoundException(string resource, string id)
    : DomainException(ErrorKind.NotFound, $"{resource} '{id}' was not found.", reason: ErrorReasons.NotFound(resource));

/// <summary>A resource to create exists already.</summary>
public sealed class AlreadyExistsException(string resource, string id)
    : DomainException(ErrorKind.AlreadyExists, $"{resource} '{id}' already exists.", reason: ErrorReasons.AlreadyExists(resource));

/// <summary>The system is not in a state that allows the request; <paramref name="reason"/> says which state (<see cref="ErrorReasons"/>).</summary>
public sealed class FailedPreconditionException(string reason, string message)
    : DomainException(ErrorKind.FailedPrecondition, message, reason: reason);

/// <summary>Optimistic concurrency: the stored version is not the one the caller read.</summary>
public sealed class ConcurrencyConflictException(string resource, string id)
    : DomainException(ErrorKind.Conflict, $"{resource} '{id}' was changed by another writer; read it again and retry.", reason: ErrorReasons.Changed(resource));

/// <summary>A limit was exceeded.</summary>
public sealed class LimitExceededException(string message)
    : DomainException(ErrorKind.ResourceExhausted, message);
