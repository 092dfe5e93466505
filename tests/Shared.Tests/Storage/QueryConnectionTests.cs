using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// Point reads run prepared statements on connections kept open for them: each call binds its own values,
/// sees every earlier commit, leaves no read snapshot behind, and reads through the configured memory map.
/// </summary>
public sealed class QueryConnectionTests : IDisposable
{
    private const string ById = "SELECT id FROM effects WHERE id = $id";

    private readonly string _directory = Directory.CreateTempSubdirectory("journey-query-").FullName;

    [Fact]
    public async Task QueryAsync_WithTheSameStatementAndOtherValues_ReturnsEachCallsRow()
    {
        using var database = Open();
        await InsertAsync(database, "a");
        await InsertAsync(database, "b");

        var first = await FindAsync(database, "a");
        var second = await FindAsync(database, "b");
        var missing = await FindAsync(database, "c");

        Assert.Equal(("a", "b", (string?)null), (first, second, missing));
    }

    [Fact]
    public async Task QueryAsync_AfterEachCommit_SeesItAndHoldsNoSnapshotThatWouldBlockATruncate()
    {
        using var database = Open();
        await InsertAsync(database, "a");
        var before = await CountAsync(database);
        await InsertAsync(database, "b");
        var after = await CountAsync(database);

        await using var checkpointer = new SqliteConnection($"Data Source={database.Path};Pooling=False");
        checkpointer.Open();
        await using var command = checkpointer.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout=200;";
        await command.ExecuteNonQueryAsync();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        var busy = (long)(await command.ExecuteScalarAsync())!;

        Assert.Equal((1, 2), (before, after));
        Assert.Equal(0, busy);
    }

    [Fact]
    public async Task QueryAsync_WhenAStatementFails_ThrowsAndTheNextQueryStillAnswers()
    {
        using var database = Open();
        await InsertAsync(database, "a");

        await Assert.ThrowsAsync<SqliteException>(() => database.QueryAsync("SELECT id FROM no_such_table", _ => { }, reader => reader.Read(), default));
        var found = await FindAsync(database, "a");

        Assert.Equal("a", found);
    }

    [Fact]
    public async Task QueryAsync_FromManyCallersAtOnce_AnswersEachWithItsOwnRow()
    {
        using var database = Open();
        var ids = Enumerable.Range(0, 40).Select(i => $"e-{i}").ToList();
        foreach (var id in ids)
        {
            await InsertAsync(database, id);
        }

        var found = await Task.WhenAll(ids.Select(id => Task.Run(() => FindAsync(database, id))));

        Assert.Equal(ids, found);
    }

    [Theory]
    [InlineData(2047)]
    [InlineData(16)]
    [InlineData(0)]
    public async Task QueryAsync_ReadsThroughTheConfiguredMemoryMap_AndOtherReadsDoNot(int mib)
    {
        using var database = Open(queryMapMiB: mib);

        var mapped = await database.QueryAsync("PRAGMA mmap_size", _ => { }, reader => reader.Read() ? reader.GetInt64(0) : -1, default);
        var other = await database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA mmap_size";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);

        Assert.Equal(mib * 1024L * 1024L, mapped);
        Assert.Equal(0, other);
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    private SqliteDatabase Open(int queryMapMiB = SqliteDatabase.MaxQueryMapMiB)
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "store.db"), queryMapMiB: queryMapMiB);
        database.Migrate([("1", "CREATE TABLE effects (id TEXT PRIMARY KEY)")]);
        return database;
    }

    private static Task<int> InsertAsync(SqliteDatabase database, string id) =>
        database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO effects (id) VALUES ($id)";
            command.Parameters.AddWithValue("$id", id);
            return await command.ExecuteNonQueryAsync(ct);
        }, default);

    private static Task<string?> FindAsync(SqliteDatabase database, string id) =>
        database.QueryAsync(ById, parameters => parameters.AddWithValue("$id", id), reader => reader.Read() ? reader.GetString(0) : null, default);

    private static Task<long> CountAsync(SqliteDatabase database) =>
        database.QueryAsync("SELECT COUNT(*) FROM effects", _ => { }, reader => reader.Read() ? reader.GetInt64(0) : -1, default);
}
