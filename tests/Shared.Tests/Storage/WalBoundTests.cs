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
    public async Task WriteAsync_EachTimeAReaderHeldTheWalPastItsLimit_TruncatesTheWalAgain()
    {
        var path = Path.Combine(_directory, "store.db");
        using var database = new SqliteDatabase(path, Limit);
        database.Migrate([("1", "CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")]);
        await WriteRowsAsync(database);
        var written = 1;

        // Twice, the second time with a smaller log: had the first truncation raised the limit to
        // its peak instead of resetting it, the second log would need dozens more writes to be cut.
        foreach (var (round, heldWrites) in new[] { (1, 60), (2, 24) })
        {
            written += await GrowWalWhileAReaderHoldsItAsync(database, path, heldWrites);
            var writes = 0;
            while (new FileInfo(path + "-wal").Length > Limit && writes < 20)
            {
                await WriteRowsAsync(database);
                writes++;
            }

            written += writes;
            Assert.True(new FileInfo(path + "-wal").Length <= Limit, $"round {round}: the WAL is still {new FileInfo(path + "-wal").Length} bytes after {writes} writes");
        }

        // Every write committed, whatever the checkpoints did.
        Assert.Equal(written * 20L, await CountRowsAsync(database));
    }

    [Fact]
    public void Constructor_WithANonPositiveWalLimit_SaysWhatIsWrong()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteDatabase(Path.Combine(_directory, "store.db"), 0));
        Assert.Equal("walLimitBytes", error.ParamName);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<int> GrowWalWhileAReaderHoldsItAsync(SqliteDatabase database, string path, int writes)
    {
        var before = await CountRowsAsync(database);
        await using var reader = await database.OpenConnectionAsync(CancellationToken.None);
        await using var snapshot = reader.BeginTransaction(deferred: true);
        await using var read = reader.CreateCommand();
        read.Transaction = snapshot;
        read.CommandText = "SELECT COUNT(*) FROM rows";
        Assert.Equal(before, await read.ExecuteScalarAsync());

        for (var i = 0; i < writes; i++)
        {
            await WriteRowsAsync(database);
        }

        Assert.True(new FileInfo(path + "-wal").Length > 2 * Limit, "the held snapshot should have kept the log growing");
        return writes;
    }

    private static Task<long> CountRowsAsync(SqliteDatabase database) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM rows";
            return (long)(await count.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);

    private static Task<int> WriteRowsAsync(SqliteDatabase database) =>
        database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO rows (body) VALUES (randomblob(1000))";
            for (var i = 0; i < 20; i++)
            {
                await insert.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, CancellationToken.None);
}
