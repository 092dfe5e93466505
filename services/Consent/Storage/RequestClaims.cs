using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Driver;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Consent.Storage;

/// <summary>Stores a request id inside a write's SQLite transaction (table <c>consent_requests</c>, see <see cref="SqliteSchema"/>).</summary>
internal static class SqliteRequestClaims
{
    /// <summary>
    /// Stores <paramref name="claim"/>; one already stored is a <see cref="ConcurrencyConflictException"/>.
    /// SQLite has one writer, so nobody stores the same request id between the read and the insert.
    /// </summary>
    public static async Task ClaimAsync(SqliteConnection connection, SqliteTransaction tx, RequestClaim? claim, CancellationToken ct)
    {
        if (claim is null)
        {
            return;
        }

        await using (var exists = Command(connection, tx, "SELECT 1 FROM consent_requests WHERE request_id = $id", ("$id", claim.RequestId)))
        {
            if (await exists.ExecuteScalarAsync(ct) is not null)
            {
                throw new ConcurrencyConflictException("Request", claim.RequestId);
            }
        }

        await ExecuteAsync(
            connection,
            tx,
            "INSERT INTO consent_requests (request_id, fingerprint, outcome, created_at, expires_at) VALUES ($id, $fingerprint, $outcome, $created, $expires)",
            ct,
            ("$id", claim.RequestId),
            ("$fingerprint", claim.Fingerprint),
            ("$outcome", claim.Outcome),
            ("$created", claim.CreatedAt.ToUnixTimeMilliseconds()),
            ("$expires", claim.ExpiresAt.ToUnixTimeMilliseconds()));
    }
}

/// <summary>Stores a request id inside a write's MongoDB transaction (collection <see cref="Collection"/>).</summary>
internal static class MongoRequestClaims
{
    /// <summary>The collection of request ids.</summary>
    public const string Collection = "consent_requests";

    /// <summary>
    /// Stores <paramref name="claim"/>; one already stored is a <see cref="ConcurrencyConflictException"/>.
    /// Read before insert: a duplicate key would abort the transaction with a driver error, and a
    /// writer holding the same id uncommitted makes this a write conflict the driver retries.
    /// </summary>
    public static async Task ClaimAsync(IClientSessionHandle session, IMongoDatabase database, RequestClaim? claim, CancellationToken ct)
    {
        if (claim is null)
        {
            return;
        }

        var requests = database.GetCollection<BsonDocument>(Collection);
        if (await requests.Find(session, new BsonDocument("_id", claim.RequestId)).AnyAsync(ct))
        {
            throw new ConcurrencyConflictException("Request", claim.RequestId);
        }

        try
        {
            await requests.InsertOneAsync(session, new BsonDocument
            {
                ["_id"] = claim.RequestId,
                ["fingerprint"] = claim.Fingerprint,
                ["outcome"] = claim.Outcome,
                ["created_at"] = claim.CreatedAt.ToUnixTimeMilliseconds(),
                // A BSON date, so the TTL index can delete it once expired.
                ["expires_at"] = claim.ExpiresAt.UtcDateTime,
            }, cancellationToken: ct);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new ConcurrencyConflictException("Request", claim.RequestId);
        }
    }
}
