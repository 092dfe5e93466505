using System.Globalization;
using System.Text;
using System.Text.Json;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>
/// Request ids of idempotent writes (AIP-155): a caller-chosen UUID names one request. The ledger
/// stores it with a fingerprint of the request and what the request produced, in the transaction
/// that appends the records, so a retry can answer as the first call did instead of appending again.
/// </summary>
public static class RequestIds
{
    /// <summary>The field every write request carries it in.</summary>
    public const string Field = "request_id";

    /// <summary>How long a request id is honoured unless configured: a day covers a client's retries across an outage.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromHours(24);

    /// <summary>
    /// The request id in canonical form (lower-case UUID), or null when <paramref name="value"/> is
    /// empty; a malformed one is reported under <paramref name="field"/>. Only UUIDs are accepted,
    /// as AIP-155 allows: a fixed, unguessable shape keeps two callers from picking the same id.
    /// </summary>
    public static string? Parse(string value, Validation validation, string field = Field)
    {
        if (value.Length == 0)
        {
            return null;
        }

        if (value.Length != 36 || !Guid.TryParseExact(value, "D", out var id) || id == Guid.Empty)
        {
            validation.Add(field, "must be a UUID of 36 characters (8-4-4-4-12 hexadecimal digits, not all zeros), or empty");
            return null;
        }

        return id.ToString("D", CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Builds the fingerprint of a request: a keyed hash (the platform's identifier key) over the method
/// and every field as sent, each length-prefixed so no two requests read alike. Keyed, because the
/// request holds e-mail addresses and phone numbers in clear form.
/// </summary>
public sealed class RequestFingerprint
{
    private readonly StringBuilder _text = new("journey-consent-request-v1;");

    /// <summary>Starts the fingerprint of a call to <paramref name="method"/>.</summary>
    public RequestFingerprint(string method) => Add(method);

    /// <summary>Adds a text field.</summary>
    public RequestFingerprint Add(string value)
    {
        _text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append(';');
        return this;
    }

    /// <summary>Adds a number.</summary>
    public RequestFingerprint Add(long value) => Add(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Adds a flag.</summary>
    public RequestFingerprint Add(bool value) => Add(value ? "1" : "0");

    /// <summary>Adds an optional time, to the tick.</summary>
    public RequestFingerprint Add(DateTimeOffset? value) => Add(value is { } time ? time.UtcTicks.ToString(CultureInfo.InvariantCulture) : "-");

    /// <summary>Adds a list of numbers, in order.</summary>
    public RequestFingerprint Add(IReadOnlyList<int> values)
    {
        Add(values.Count);
        foreach (var value in values)
        {
            Add(value);
        }

        return this;
    }

    /// <summary>Adds identifiers as sent, in order.</summary>
    public RequestFingerprint Add(IReadOnlyList<IdentifierInput> identifiers)
    {
        Add(identifiers.Count);
        foreach (var (kind, value) in identifiers)
        {
            Add(kind).Add(value);
        }

        return this;
    }

    /// <summary>The fingerprint, 64 lower-case hex characters.</summary>
    public string Hash(IdentifierHasher hasher) => hasher.Hash(_text.ToString());
}

/// <summary>A record a request appended, with its place in the request (0 for single writes, the position in the batch otherwise).</summary>
/// <param name="Index">Position in the request.</param>
/// <param name="Subject">The subject whose chain holds it.</param>
/// <param name="Record">The record id.</param>
public readonly record struct OutcomeRecord(int Index, Guid Subject, Guid Record);

/// <summary>A record of a batch that was rejected, with the field and reason the first call reported.</summary>
/// <param name="Index">Position in the batch.</param>
/// <param name="Field">The field at fault.</param>
/// <param name="Reason">Why.</param>
public readonly record struct OutcomeRejection(int Index, string Field, string Reason);

/// <summary>
/// What an idempotent request produced, kept to answer its retries: references to what it stored
/// (never personal data), so a retry reads the records as they are now.
/// </summary>
/// <param name="Records">Records appended, in response order.</param>
/// <param name="Rejected">Batch records rejected, in response order.</param>
/// <param name="Erasure">The erasure started, for RequestErasure.</param>
/// <param name="PolicyVersion">The version created, for CreatePolicyVersion.</param>
public sealed record RequestOutcome(IReadOnlyList<OutcomeRecord> Records, IReadOnlyList<OutcomeRejection> Rejected, Guid? Erasure, int? PolicyVersion = null)
{
    /// <summary>The outcome as stored.</summary>
    public string Encode() => JsonSerializer.Serialize(this);

    /// <summary>An outcome stored by <see cref="Encode"/>.</summary>
    public static RequestOutcome Decode(string text) =>
        JsonSerializer.Deserialize<RequestOutcome>(text) ?? throw new FormatException("An empty request outcome was stored.");
}

/// <summary>A request id to store with a write, in the write's transaction.</summary>
/// <param name="RequestId">The request id, canonical.</param>
/// <param name="Fingerprint">The request's fingerprint (<see cref="RequestFingerprint"/>).</param>
/// <param name="Outcome">What the write produces, encoded.</param>
/// <param name="CreatedAt">When.</param>
/// <param name="ExpiresAt">From when on it may be forgotten.</param>
public sealed record RequestClaim(string RequestId, string Fingerprint, string Outcome, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>A stored request id.</summary>
/// <param name="Fingerprint">The first request's fingerprint.</param>
/// <param name="Outcome">What it produced.</param>
public sealed record StoredRequest(string Fingerprint, RequestOutcome Outcome);

/// <summary>A request id came back with another request: the caller reused it by mistake.</summary>
public sealed class RequestIdReusedException(string requestId)
    : DomainException(
        ErrorKind.FailedPrecondition,
        $"request_id '{requestId}' was used for a different request; send a new request_id for a new request, or repeat the first request unchanged.",
        [new FieldViolation(RequestIds.Field, "was used for a different request")],
        ErrorReasons.RequestIdReused);

/// <summary>Looks up and builds the request ids of idempotent writes; the writes store them.</summary>
/// <param name="ledger">Where request ids are stored.</param>
/// <param name="hasher">Keys the fingerprints.</param>
/// <param name="retention">How long a request id is honoured at least.</param>
public sealed class RequestLog(IConsentLedger ledger, IdentifierHasher hasher, TimeSpan retention)
{
    /// <summary>How long a request id is honoured at least.</summary>
    public TimeSpan Retention { get; } = retention;

    /// <summary>The fingerprint of a request, or empty when it has no request id (nothing to compare then).</summary>
    public string Fingerprint(string? requestId, Func<RequestFingerprint> build) => requestId is null ? "" : build().Hash(hasher);

    /// <summary>
    /// What the first request with <paramref name="requestId"/> produced, or null when there was none
    /// (or no request id was given); <see cref="RequestIdReusedException"/> when that request differed.
    /// </summary>
    public async Task<RequestOutcome?> FindAsync(string? requestId, string fingerprint, CancellationToken cancellationToken)
    {
        if (requestId is null || await ledger.FindRequestAsync(requestId, cancellationToken) is not { } stored)
        {
            return null;
        }

        return string.Equals(stored.Fingerprint, fingerprint, StringComparison.Ordinal) ? stored.Outcome : throw new RequestIdReusedException(requestId);
    }

    /// <summary>The request id to store with a write that produces <paramref name="outcome"/>; null without a request id.</summary>
    public RequestClaim? Claim(string? requestId, string fingerprint, RequestOutcome outcome, DateTimeOffset now) =>
        requestId is null ? null : new RequestClaim(requestId, fingerprint, outcome.Encode(), now, now + Retention);

    /// <summary>The records an outcome names, in its order; records no longer stored are left out.</summary>
    public async Task<IReadOnlyList<ConsentRecord>> RecordsOfAsync(RequestOutcome outcome, CancellationToken cancellationToken)
    {
        var found = (await ledger.GetRecordsAsync([.. outcome.Records.Select(r => r.Record)], cancellationToken)).ToDictionary(r => r.Draft.Id);
        return [.. outcome.Records.Where(r => found.ContainsKey(r.Record)).Select(r => found[r.Record])];
    }

    /// <summary>Deletes request ids whose retention ran out by <paramref name="now"/>, in batches of <paramref name="batchSize"/>; returns how many.</summary>
    public async Task<int> SweepAsync(DateTimeOffset now, int batchSize, CancellationToken cancellationToken)
    {
        var deleted = 0;
        int removed;
        do
        {
            removed = await ledger.DeleteExpiredRequestsAsync(now, batchSize, cancellationToken);
            deleted += removed;
        }
        while (removed == batchSize);
        return deleted;
    }
}
