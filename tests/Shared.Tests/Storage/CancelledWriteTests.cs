using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>A call whose time runs out cancels its token mid-write: the effect and its outbox row must go together or not at all.</summary>
public sealed class CancelledWriteTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("journey-cancel-").FullName;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WriteAsync_WhenTokenCancelledBetweenEffectAndOutboxRowOrBeforeCommit_CommitsNeither(bool cancelBetween)
    {
        using var database = new SqliteDatabase(Path.Combine(_directory, "store.db"));
        database.Migrate([("1", "CREATE TABLE effects (id TEXT PRIMARY KEY); CREATE TABLE outbox (id TEXT PRIMARY KEY)")]);
        using var call = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => database.WriteAsync(async (connection, transaction, ct) =>
        {
            await InsertAsync(connection, transaction, "effects", ct);
            if (cancelBetween)
            {
                await call.CancelAsync();
                ct.ThrowIfCancellationRequested();
            }

            await InsertAsync(connection, transaction, "outbox", ct);
            await call.CancelAsync();
            return 0;
        }, call.Token));

        Assert.Equal(0, await CountAsync(database, "effects"));
        Assert.Equal(0, await CountAsync(database, "outbox"));
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task InsertAsync(SqliteConnection connection, SqliteTransaction transaction, string table, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO {table} (id) VALUES ('e-1')";
        await command.ExecuteNonQueryAsync(ct);
    }

    private static Task<long> CountAsync(SqliteDatabase database, string table) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);
}
