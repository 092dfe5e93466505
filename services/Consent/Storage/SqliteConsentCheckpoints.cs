using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Consent.Storage;

/// <summary>The ledger's checkpoints in the service's SQLite file, next to the ledger they cover.</summary>
internal sealed class SqliteConsentCheckpoints([FromKeyedServices(ConsentModule.Name)] SqliteDatabase db) : IConsentCheckpointStore
{
    private const string Columns = "number, created_at, subjects, records, root, previous, key_id, signature, bucket_hashes";
    private readonly SqliteDatabase _db = db.Migrated(SqliteSchema.Migrations);

    public async Task<LedgerCheckpoint?> GetLatestAsync(CancellationToken cancellationToken) =>
        await CheckpointsAsync($"SELECT {Columns} FROM checkpoints ORDER BY number DESC LIMIT 1", cancellationToken) is [var latest] ? latest : null;

    public async Task<LedgerCheckpoint?> GetAsync(long number, CancellationToken cancellationToken) =>
        await CheckpointsAsync($"SELECT {Columns} FROM checkpoints WHERE number = $number", cancellationToken, ("$number", number)) is [var found] ? found : null;

    public Task<IReadOnlyList<LedgerCheckpoint>> ListAsync(long beforeNumber, int limit, CancellationToken cancellationToken) =>
        CheckpointsAsync($"SELECT {Columns} FROM checkpoints WHERE number < $before ORDER BY number DESC LIMIT $limit", cancellationToken, ("$before", beforeNumber), ("$limit", limit));

    public Task<IReadOnlyList<HeadChange>> FindChangedHeadsAsync(int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<HeadChange>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, """
                SELECT s.id, s.chain_length, s.head_hash, h.length, h.hash
                FROM subjects s LEFT JOIN checkpoint_heads h ON h.subject = s.id
                WHERE s.chain_length > 0 AND (h.subject IS NULL OR h.length <> s.chain_length OR h.hash <> s.head_hash)
                ORDER BY s.id LIMIT $limit
                """, ("$limit", limit));
            var changes = new List<HeadChange>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var subject = Guid.Parse(reader.GetString(0));
                changes.Add(new HeadChange(subject, new ChainHead(reader.GetInt64(1), reader.GetString(2)),
                    reader.IsDBNull(3) ? null : new CheckpointLeaf(subject, reader.GetInt64(3), reader.GetString(4))));
            }

            return changes;
        }, cancellationToken);

    public Task<string?> GetRecordHashAsync(Guid subject, long sequence, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT hash FROM records WHERE subject = $subject AND sequence = $sequence", ("$subject", subject.ToString()), ("$sequence", sequence));
            return await command.ExecuteScalarAsync(ct) as string;
        }, cancellationToken);

    public Task<IReadOnlyList<CheckpointLeaf>> ReadBucketAsync(int bucket, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<CheckpointLeaf>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT subject, length, hash FROM checkpoint_heads WHERE bucket = $bucket", ("$bucket", bucket));
            var leaves = new List<CheckpointLeaf>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                leaves.Add(new CheckpointLeaf(Guid.Parse(reader.GetString(0)), reader.GetInt64(1), reader.GetString(2)));
            }

            return leaves;
        }, cancellationToken);

    public Task<(long Subjects, long Records)> CountCoveredAsync(CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT COUNT(*), COALESCE(SUM(length), 0) FROM checkpoint_heads");
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetInt64(0), reader.GetInt64(1));
        }, cancellationToken);

    public async Task SaveAsync(LedgerCheckpoint checkpoint, IReadOnlyList<CheckpointLeaf> covered, CancellationToken cancellationToken)
    {
        try
        {
            await _db.WriteAsync(async (connection, tx, ct) =>
            {
                await using (var insert = Command(connection, null, $"INSERT INTO checkpoints ({Columns}) VALUES ($number, $at, $subjects, $records, $root, $previous, $key, $signature, $buckets)",
                    ("$number", checkpoint.Number), ("$at", checkpoint.CreatedAt.ToUnixTimeMilliseconds()), ("$subjects", checkpoint.Subjects), ("$records", checkpoint.Records),
                    ("$root", checkpoint.Root), ("$previous", checkpoint.PreviousStatementHash), ("$key", checkpoint.KeyId), ("$signature", checkpoint.Signature), ("$buckets", checkpoint.BucketHashes)))
                {
                    insert.Transaction = tx;
                    await insert.ExecuteNonQueryAsync(ct);
                }

                await using (var upsert = Command(connection, null, "INSERT OR REPLACE INTO checkpoint_heads (subject, bucket, length, hash) VALUES ($subject, $bucket, $length, $hash)"))
                {
                    upsert.Transaction = tx;
                    var subject = upsert.Parameters.Add("$subject", SqliteType.Text);
                    var bucket = upsert.Parameters.Add("$bucket", SqliteType.Integer);
                    var length = upsert.Parameters.Add("$length", SqliteType.Integer);
                    var hash = upsert.Parameters.Add("$hash", SqliteType.Text);
                    foreach (var leaf in covered)
                    {
                        (subject.Value, bucket.Value, length.Value, hash.Value) = (leaf.Subject.ToString(), leaf.Bucket, leaf.Length, leaf.Hash);
                        await upsert.ExecuteNonQueryAsync(ct);
                    }
                }

                await using var prune = Command(connection, null, "UPDATE checkpoints SET bucket_hashes = NULL WHERE number < $number AND bucket_hashes IS NOT NULL", ("$number", checkpoint.Number));
                prune.Transaction = tx;
                return await prune.ExecuteNonQueryAsync(ct);
            }, cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
        {
            throw new ConcurrencyConflictException("Checkpoint", LedgerCheckpoints.Name(checkpoint.Number));
        }
    }

    private Task<IReadOnlyList<LedgerCheckpoint>> CheckpointsAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        _db.ReadAsync<IReadOnlyList<LedgerCheckpoint>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, sql, parameters);
            var checkpoints = new List<LedgerCheckpoint>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                checkpoints.Add(new LedgerCheckpoint(
                    reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt64(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5),
                    reader.GetString(6), (byte[])reader[7], reader.IsDBNull(8) ? null : (byte[])reader[8]));
            }

            return checkpoints;
        }, cancellationToken);
}
