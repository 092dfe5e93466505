using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>Writes share one open connection with a large page cache, and a failed write never leaves a broken one behind.</summary>
public sealed class WriterConnectionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("journey-writer-").FullName;

    [Fact]
    public async Task WriteAsync_OnConsecutiveWrites_UsesOneConnectionWithTheConfiguredCache()
    {
        using var database = Open(writerCacheMiB: 8);

        var (first, firstCache) = await database.WriteAsync(async (connection, transaction, ct) => (connection, await CacheSizeAsync(connection, transaction, ct)), default);
        var (second, _) = await database.WriteAsync(async (connection, transaction, ct) => (connection, await CacheSizeAsync(connection, transaction, ct)), default);
        var readerCache = await database.ReadAsync((connection, ct) => CacheSizeAsync(connection, null, ct), default);

        Assert.Same(first, second);
        Assert.Equal(-8 * 1024, firstCache);
        Assert.NotEqual(firstCache, readerCache);
    }

    [Fact]
    public async Task WriteAsync_AfterSqliteFailedAWrite_StartsAFreshConnectionAndCommits()
    {
        using var database = Open();
        var before = await database.WriteAsync((connection, _, _) => Task.FromResult(connection), default);

        await Assert.ThrowsAsync<SqliteException>(() => database.WriteAsync(async (connection, transaction, ct) =>
        {
            await TestRows.InsertAsync(connection, transaction, "no_such_table", ct);
            return 0;
        }, default));
        var after = await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await TestRows.InsertAsync(connection, transaction, "effects", ct);
            return connection;
        }, default);

        Assert.NotSame(before, after);
        Assert.Equal(1, await TestRows.CountAsync(database, "effects"));
    }

    [Fact]
    public async Task WriteAsync_WhenARuleRefusesTheWrite_RollsBackAndKeepsTheConnection()
    {
        using var database = Open();
        var before = await database.WriteAsync((connection, _, _) => Task.FromResult(connection), default);

        await Assert.ThrowsAsync<FailedPreconditionException>(() => database.WriteAsync<int>(async (connection, transaction, ct) =>
        {
            await TestRows.InsertAsync(connection, transaction, "effects", ct);
            throw new FailedPreconditionException("TEST_STATE", "the etag is stale");
        }, default));
        var after = await database.WriteAsync((connection, _, _) => Task.FromResult(connection), default);

        Assert.Same(before, after);
        Assert.Equal(0, await TestRows.CountAsync(database, "effects"));
    }

    [Fact]
    public async Task Command_OnTheWriter_IsPreparedOnceAcrossTransactionsAndNeverHandedOutTwiceAtOnce()
    {
        using var database = Open();
        const string Insert = "INSERT INTO effects (id) VALUES ($id)";

        var (first, nested) = await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = SqliteCommands.Command(connection, transaction, Insert, ("$id", "a"));
            await using var alongside = SqliteCommands.Command(connection, transaction, Insert, ("$id", "b"));
            await command.ExecuteNonQueryAsync(ct);
            await alongside.ExecuteNonQueryAsync(ct);
            return (command, alongside);
        }, default);
        var second = await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = SqliteCommands.Command(connection, transaction, Insert, ("$id", "c"));
            await command.ExecuteNonQueryAsync(ct);
            return command;
        }, default);
        var read = await database.ReadAsync((connection, _) =>
        {
            using var command = SqliteCommands.Command(connection, null, "SELECT count(*) FROM effects");
            return Task.FromResult(command);
        }, default);
        var readAgain = await database.ReadAsync((connection, _) =>
        {
            using var command = SqliteCommands.Command(connection, null, "SELECT count(*) FROM effects");
            return Task.FromResult(command);
        }, default);

        // One of the first transaction's two commands is kept (the other is disposed) and serves the second.
        Assert.NotSame(first, nested);
        Assert.True(ReferenceEquals(second, first) || ReferenceEquals(second, nested));
        Assert.NotSame(read, readAgain);
        Assert.Equal(3, await TestRows.CountAsync(database, "effects"));
    }

    [Fact]
    public async Task Command_AfterSqliteFailedAWrite_IsPreparedAgainOnTheFreshConnection()
    {
        using var database = Open();
        const string Insert = "INSERT INTO effects (id) VALUES ($id)";
        var before = await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = SqliteCommands.Command(connection, transaction, Insert, ("$id", "a"));
            await command.ExecuteNonQueryAsync(ct);
            return command;
        }, default);

        await Assert.ThrowsAsync<SqliteException>(() => database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = SqliteCommands.Command(connection, transaction, Insert, ("$id", "a"));
            return await command.ExecuteNonQueryAsync(ct);
        }, default));
        var after = await database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = SqliteCommands.Command(connection, transaction, Insert, ("$id", "b"));
            await command.ExecuteNonQueryAsync(ct);
            return command;
        }, default);

        Assert.NotSame(before, after);
        Assert.Equal(2, await TestRows.CountAsync(database, "effects"));
    }

    [Fact]
    public async Task ReadAsync_OnAPooledConnectionOpenedAgain_KeepsTheConnectionSettings()
    {
        using var database = Open();
        async Task<(long SecureDelete, long ForeignKeys, long BusyTimeout, SQLitePCL.sqlite3? Handle)> SettingsAsync() =>
            await database.ReadAsync(async (connection, ct) => (
                await PragmaAsync(connection, "secure_delete", ct),
                await PragmaAsync(connection, "foreign_keys", ct),
                await PragmaAsync(connection, "busy_timeout", ct),
                connection.Handle), default);

        var first = await SettingsAsync();
        var again = await SettingsAsync();

        Assert.Same(first.Handle, again.Handle);
        Assert.Equal((1L, 1L, 5000L), (first.SecureDelete, first.ForeignKeys, first.BusyTimeout));
        Assert.Equal((1L, 1L, 5000L), (again.SecureDelete, again.ForeignKeys, again.BusyTimeout));
    }

    private static async Task<long> PragmaAsync(SqliteConnection connection, string name, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    private SqliteDatabase Open(int writerCacheMiB = SqliteDatabase.DefaultWriterCacheMiB)
    {
        var database = new SqliteDatabase(Path.Combine(_directory, "store.db"), writerCacheMiB: writerCacheMiB);
        database.Migrate([("1", "CREATE TABLE effects (id TEXT PRIMARY KEY)")]);
        return database;
    }

    private static async Task<long> CacheSizeAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA cache_size";
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
