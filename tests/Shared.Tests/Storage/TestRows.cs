using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>The one-row writes and counts the storage tests make to see what a transaction kept.</summary>
internal static class TestRows
{
    public static async Task InsertAsync(SqliteConnection connection, SqliteTransaction transaction, string table, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO {table} (id) VALUES ('e-1')";
        await command.ExecuteNonQueryAsync(ct);
    }

    public static Task<long> CountAsync(SqliteDatabase database, string table) =>
        database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);
}
