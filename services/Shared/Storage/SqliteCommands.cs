using Microsoft.Data.Sqlite;

namespace Journey.Shared.Storage;

/// <summary>
/// The one way SQLite adapters build and run a statement: on the caller's connection and transaction,
/// parameters bound by name, a null value bound as NULL. Import it with <c>using static</c>.
/// </summary>
public static class SqliteCommands
{
    /// <summary>A command for <paramref name="sql"/> in <paramref name="transaction"/> (none when null) with <paramref name="parameters"/> bound; the caller disposes it.</summary>
    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        // On a writer connection the statement prepared by an earlier transaction is used again.
        var command = WriterStatements.Rent(connection, transaction, sql)
            ?? new SqliteCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>Runs <paramref name="sql"/> with <paramref name="parameters"/> bound; returns the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
