using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// A reader on an old snapshot keeps passive checkpoints from restarting the WAL; the writes go on
/// meanwhile, and once the reader is gone the log is cut back instead of staying at its peak.
/// </summary>
public sealed class WalBoundTests : IDisposable
{
    private const long Limit = 256 * 1024;
    private readonly string _directory = Directory.CreateTempSubdirectory("journey-wal-").FullName;

    [Fact]
    public async Task WriteAsync_AfterAReaderHeldTheWalPastItsLimit_TruncatesTheWal()
    {
        var path = Path.Combine(_directory, "store.db");
        using var database = new SqliteDatabase(path, Limit);
        database.Migrate([("1", "CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")]);
        await WriteRowsAsync(database, 1);

        await using (var reader = await database.OpenConnectionAsync(CancellationToken.None))
        {
            await using var snapshot = reader.BeginTransaction(deferred: true);
            await using var read = reader.CreateCommand();
            read.Transaction = snapshot;
            read.CommandText = "SELECT COUNT(*) FROM rows";
            Assert.Equal(20L, await read.ExecuteScalarAsync());

            for (var i = 0; i < 40; i++)
            {
                await WriteRowsAsync(database, 1);
            }

            Assert.True(new FileInfo(path + "-wal").Length > 2 * Limit, "the held snapshot should have kept the log growing");
        }

        var writes = 0;
        while (new FileInfo(path + "-wal").Length > Limit && writes < 100)
        {
            await WriteRowsAsync(database, 1);
            writes++;
        }

        Assert.True(new FileInfo(path + "-wal").Length <= Limit, $"the WAL is still {new FileInfo(path + "-wal").Length} bytes after {writes} writes");
        // Every write committed, whatever the checkpoints did.
        Assert.Equal((41 + writes) * 20L, await database.ReadAsync(async (connection, ct) =>
        {
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM rows";
            return (long)(await count.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static Task<int> WriteRowsAsync(SqliteDatabase database, int times) =>
        database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO rows (body) VALUES (randomblob(1000))";
            for (var i = 0; i < 20 * times; i++)
            {
                await insert.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, CancellationToken.None);
}
