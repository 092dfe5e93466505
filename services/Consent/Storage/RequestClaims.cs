using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using MongoDB.Bson;
using MongoDB.Driver;

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

        await using (var exists = connection.CreateCommand())
        {
            exists.Transaction = tx;
            exists.CommandText = "SELECT 1 FROM consent_requests WHERE request_id = $id";
            exists.Parameters.AddWithValue("$id", claim.RequestId);
            if (await exists.ExecuteScalarAsync(ct) is not null)
            {
                throw new ConcurrencyConflictException("Request", claim.RequestId);
            }
        }

        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO consent_requests (request_id, fingerprint, outcome, created_at, expires_at) VALUES ($id, $fingerprint, $outcome, $created, $expires)";
        insert.Parameters.AddWithValue("$id", claim.RequestId);
        insert.Parameters.AddWithValue("$fingerprint", claim.Fingerprint);
        insert.Parameters.AddWithValue("$outcome", claim.Outcome);
        insert.Parameters.AddWithValue("$created", claim.CreatedAt.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$expires", claim.ExpiresAt.ToUnixTimeMilliseconds());
        await insert.ExecuteNonQueryAsync(ct);
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
