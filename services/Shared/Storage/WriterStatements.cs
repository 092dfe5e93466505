using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Storage;

/// <summary>
/// The prepared statements of a database's writer connection, kept across its transactions. SQLite
/// parses and plans a statement each time a command for it is created, and event handlers build the same
/// few statements for every event of every batch; the writer connection lives as long as the database
/// stays healthy, so a statement it prepared once serves every later write. A command handed out is
/// taken from the cache until it is disposed, so a statement running (a reader still open) is never
/// handed out twice; a second user of the same text gets a command of its own.
/// </summary>
internal sealed class WriterStatements : IDisposable
{
    /// <summary>Statements kept per connection; past it a returned command is disposed instead of kept.</summary>
    private const int Capacity = 256;

    private static readonly ConditionalWeakTable<SqliteConnection, WriterStatements> ByConnection = [];

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, KeptCommand> _idle = new(StringComparer.Ordinal);
    private bool _closed;

    private WriterStatements(SqliteConnection connection) => _connection = connection;

    /// <summary>Keeps the statements of <paramref name="connection"/> from now on; dispose the result before the connection.</summary>
    public static WriterStatements Attach(SqliteConnection connection)
    {
        var statements = new WriterStatements(connection);
        ByConnection.AddOrUpdate(connection, statements);
        return statements;
    }

    /// <summary>A command for <paramref name="sql"/> on <paramref name="connection"/>: a kept one when the connection keeps its statements, else null.</summary>
    public static SqliteCommand? Rent(SqliteConnection connection, SqliteTransaction? transaction, string sql) =>
        ByConnection.TryGetValue(connection, out var statements) ? statements.Take(transaction, sql) : null;

    public void Dispose()
    {
        _closed = true;
        ByConnection.Remove(_connection);
        foreach (var command in _idle.Values)
        {
            command.Release();
        }

        _idle.Clear();
    }

    private KeptCommand? Take(SqliteTransaction? transaction, string sql)
    {
        if (_closed)
        {
            return null;
        }

        if (!_idle.Remove(sql, out var command))
        {
            command = new KeptCommand(this) { Connection = _connection, CommandText = sql };
        }

        command.Transaction = transaction;
        return command;
    }

    /// <summary>Whether <paramref name="command"/>, just disposed by its user, was kept for the next one.</summary>
    private bool Return(KeptCommand command)
    {
        if (_closed || _idle.Count >= Capacity || _idle.ContainsKey(command.CommandText) || command.Connection != _connection)
        {
            return false;
        }

        try
        {
            command.Transaction = null;
        }
        catch (InvalidOperationException)
        {
            // Its reader is still open: the statement is mid-step and goes with the command.
            return false;
        }

        command.Parameters.Clear();
        _idle.Add(command.CommandText, command);
        return true;
    }

    private sealed class KeptCommand(WriterStatements owner) : SqliteCommand
    {
        private bool _released;

        public void Release()
        {
            _released = true;
            Dispose();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_released && owner.Return(this))
            {
                return;
            }

            base.Dispose(disposing);
        }
    }
}
