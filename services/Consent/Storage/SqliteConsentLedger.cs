using System.Text.Json;
using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Consent.Storage;

/// <summary>
/// Purposes and the ledger in SQLite. Records are only ever inserted; (subject, purpose, sequence)
/// is indexed so the latest decision is one index seek.
/// </summary>
internal sealed class SqliteConsentLedger : IConsentLedger
{
    private readonly SqliteDatabase _database;

    public SqliteConsentLedger([FromKeyedServices(ConsentModule.Name)] SqliteDatabase database)
    {
        _database = database;
        _database.Migrate([("consent-001", """
            CREATE TABLE purposes (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE subject_identifiers (kind INTEGER NOT NULL, value TEXT NOT NULL, subject_id TEXT NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID;
            CREATE TABLE records (
                subject_id TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                purpose_id TEXT NOT NULL,
                body TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (subject_id, sequence)) WITHOUT ROWID;
            CREATE INDEX records_latest ON records (subject_id, purpose_id, sequence DESC)
            """)]);
    }

    public Task InsertPurposeAsync(Purpose purpose, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO purposes (id, body) VALUES ($id, $body)";
            command.Parameters.AddWithValue("$id", purpose.Id);
            command.Parameters.AddWithValue("$body", JsonSerializer.Serialize(purpose));
            try
            {
                return await command.ExecuteNonQueryAsync(ct);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new AlreadyExistsException("Purpose", $"purposes/{purpose.Id}");
            }
        }, cancellationToken);

    public Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT body FROM purposes WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            return await command.ExecuteScalarAsync(ct) is string body ? JsonSerializer.Deserialize<Purpose>(body) : null;
        }, cancellationToken);

    public Task<string?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _database.ReadAsync((connection, ct) => FindSubjectAsync(connection, null, identifiers, ct), cancellationToken);

    public Task<ConsentRecord> AppendAsync(IReadOnlyList<SubjectIdentifier> identifiers, string newSubjectId, Func<string, ConsentRecord?, (ConsentRecord Record, OutboxMessage Changed)> build, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var subjectId = await FindSubjectAsync(connection, transaction, identifiers, ct) ?? newSubjectId;
            await using (var claim = connection.CreateCommand())
            {
                claim.Transaction = transaction;
                claim.CommandText = "INSERT OR IGNORE INTO subject_identifiers (kind, value, subject_id) VALUES ($kind, $value, $subject)";
                var kind = claim.Parameters.Add("$kind", SqliteType.Integer);
                var value = claim.Parameters.Add("$value", SqliteType.Text);
                claim.Parameters.AddWithValue("$subject", subjectId);
                foreach (var identifier in identifiers)
                {
                    kind.Value = (int)identifier.Kind;
                    value.Value = identifier.Value;
                    await claim.ExecuteNonQueryAsync(ct);
                }
            }

            var previous = await LastAsync(connection, transaction, subjectId, ct);
            var (record, changed) = build(subjectId, previous);
            await using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = "INSERT INTO records (subject_id, sequence, purpose_id, body, hash) VALUES ($subject, $sequence, $purpose, $body, $hash)";
                insert.Parameters.AddWithValue("$subject", record.SubjectId);
                insert.Parameters.AddWithValue("$sequence", record.Sequence);
                insert.Parameters.AddWithValue("$purpose", record.PurposeId);
                insert.Parameters.AddWithValue("$body", JsonSerializer.Serialize(record));
                insert.Parameters.AddWithValue("$hash", record.Hash);
                await insert.ExecuteNonQueryAsync(ct);
            }

            await SqliteOutbox.AppendAsync(connection, transaction, [changed], ct);
            return record;
        }, cancellationToken);

    public Task<ConsentRecord?> LatestAsync(string subjectId, string purposeId, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT body FROM records WHERE subject_id = $subject AND purpose_id = $purpose ORDER BY sequence DESC LIMIT 1";
            command.Parameters.AddWithValue("$subject", subjectId);
            command.Parameters.AddWithValue("$purpose", purposeId);
            return await command.ExecuteScalarAsync(ct) is string body ? JsonSerializer.Deserialize<ConsentRecord>(body) : null;
        }, cancellationToken);

    private static async Task<ConsentRecord?> LastAsync(SqliteConnection connection, SqliteTransaction transaction, string subjectId, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT body FROM records WHERE subject_id = $subject ORDER BY sequence DESC LIMIT 1";
        command.Parameters.AddWithValue("$subject", subjectId);
        return await command.ExecuteScalarAsync(ct) is string body ? JsonSerializer.Deserialize<ConsentRecord>(body) : null;
    }

    private static async Task<string?> FindSubjectAsync(SqliteConnection connection, SqliteTransaction? transaction, IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT subject_id FROM subject_identifiers WHERE kind = $kind AND value = $value";
        var kind = command.Parameters.Add("$kind", SqliteType.Integer);
        var value = command.Parameters.Add("$value", SqliteType.Text);
        foreach (var identifier in identifiers)
        {
            kind.Value = (int)identifier.Kind;
            value.Value = identifier.Value;
            if (await command.ExecuteScalarAsync(ct) is string subject)
            {
                return subject;
            }
        }

        return null;
    }
}
