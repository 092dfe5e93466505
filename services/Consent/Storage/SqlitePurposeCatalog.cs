using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Consent.Storage;

/// <summary>Purposes and policy versions in the service's SQLite file.</summary>
internal sealed class SqlitePurposeCatalog([FromKeyedServices(ConsentModule.Name)] SqliteDatabase db) : IPurposeCatalog
{
    private const string PurposeColumns = "id, description, legal_basis, channels, default_decision, validity_ms, minimum_policy_version, version, created_at, updated_at";
    private readonly SqliteDatabase _db = db.Migrated(SqliteSchema.Migrations);

    public async Task CreatePurposeAsync(Purpose purpose, CancellationToken cancellationToken)
    {
        try
        {
            await _db.WriteAsync(async (connection, tx, ct) =>
            {
                return await ExecuteAsync(
                    connection,
                    tx,
                    $"INSERT INTO purposes ({PurposeColumns}) VALUES ($id, $description, $basis, $channels, $default, $validity, $minimum, $version, $created, $updated)",
                    ct,
                    Parameters(purpose));
            }, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new AlreadyExistsException("Purpose", ConsentNames.Purpose(purpose.Id));
        }
    }

    public Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, $"SELECT {PurposeColumns} FROM purposes WHERE id = $id", ("$id", id));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? ReadPurpose(reader) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<Purpose>> ListPurposesAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<Purpose>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, $"SELECT {PurposeColumns} FROM purposes WHERE id > $after ORDER BY id LIMIT $limit", ("$after", afterId), ("$limit", limit));
            var purposes = new List<Purpose>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                purposes.Add(ReadPurpose(reader));
            }

            return purposes;
        }, cancellationToken);

    public async Task UpdatePurposeAsync(Purpose purpose, CancellationToken cancellationToken)
    {
        var outcome = await _db.WriteAsync(async (connection, tx, ct) =>
        {
            var updated = await ExecuteAsync(
                connection,
                tx,
                """
                UPDATE purposes SET description = $description, legal_basis = $basis, channels = $channels, default_decision = $default,
                    validity_ms = $validity, minimum_policy_version = $minimum, version = $version, updated_at = $updated
                WHERE id = $id AND version = $version - 1
                """,
                ct,
                Parameters(purpose));
            if (updated == 1)
            {
                return 1;
            }

            await using var exists = Command(connection, tx, "SELECT COUNT(*) FROM purposes WHERE id = $id", ("$id", purpose.Id));
            return (long)(await exists.ExecuteScalarAsync(ct))! == 0 ? 0 : -1;
        }, cancellationToken);
        if (outcome == 0)
        {
            throw new NotFoundException("Purpose", ConsentNames.Purpose(purpose.Id));
        }

        if (outcome < 0)
        {
            throw new ConcurrencyConflictException("Purpose", ConsentNames.Purpose(purpose.Id));
        }
    }

    public Task<PolicyVersion> CreatePolicyVersionAsync(string text, string sha256, DateTimeOffset now, Func<int, RequestClaim>? request, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            await using var command = Command(
                connection,
                tx,
                "INSERT INTO policy_versions (version, text, sha256, created_at) SELECT COALESCE(MAX(version), 0) + 1, $text, $sha, $at FROM policy_versions RETURNING version",
                ("$text", text),
                ("$sha", sha256),
                ("$at", now.ToUnixTimeMilliseconds()));
            var version = Convert.ToInt32(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            await SqliteRequestClaims.ClaimAsync(connection, tx, request?.Invoke(version), ct);
            return new PolicyVersion(version, text, sha256, now);
        }, cancellationToken);

    public Task<PolicyVersion?> GetPolicyVersionAsync(int version, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT version, text, sha256, created_at FROM policy_versions WHERE version = $version", ("$version", version));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? new PolicyVersion(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
                : null;
        }, cancellationToken);

    public Task<IReadOnlyList<PolicyVersion>> ListPolicyVersionsAsync(int afterVersion, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<PolicyVersion>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT version, sha256, created_at FROM policy_versions WHERE version > $after ORDER BY version LIMIT $limit", ("$after", afterVersion), ("$limit", limit));
            var versions = new List<PolicyVersion>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                versions.Add(new PolicyVersion(reader.GetInt32(0), "", reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            }

            return versions;
        }, cancellationToken);

    public Task<int> LatestPolicyVersionAsync(CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT COALESCE(MAX(version), 0) FROM policy_versions");
            return Convert.ToInt32(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    private static (string Name, object? Value)[] Parameters(Purpose purpose) =>
    [
        ("$id", purpose.Id),
        ("$description", purpose.Description),
        ("$basis", (int)purpose.LegalBasis),
        ("$channels", purpose.Channels.Bits),
        ("$default", (int)purpose.Default),
        ("$validity", purpose.Validity is { } v ? (long)v.TotalMilliseconds : null),
        ("$minimum", purpose.MinimumPolicyVersion),
        ("$version", purpose.Version),
        ("$created", purpose.CreatedAt.ToUnixTimeMilliseconds()),
        ("$updated", purpose.UpdatedAt.ToUnixTimeMilliseconds()),
    ];

    private static Purpose ReadPurpose(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        (LegalBasis)reader.GetInt32(2),
        new ChannelMask(reader.GetInt32(3)),
        (DefaultDecision)reader.GetInt32(4),
        reader.IsDBNull(5) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(5)),
        reader.GetInt32(6),
        reader.GetInt64(7),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)));
}
