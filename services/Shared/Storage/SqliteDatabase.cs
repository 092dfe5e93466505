using System.Collections.Concurrent;
using Journey.Shared.Telemetry;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Storage;

/// <summary>
/// One service's SQLite file. SQLite allows one writer at a time, so writes queue on a lock here
/// (BEGIN IMMEDIATE inside it) instead of failing with SQLITE_BUSY under load; reads run beside them
/// thanks to WAL. Writes share one connection that stays open: SQLite drops a connection's page cache
/// whenever another connection has changed the file, so a writer taken from the pool after the relay's
/// write, say, read every index page it touched back from the operating system. After each committed
/// write the <see cref="Committed"/> event wakes whoever waits for new rows, such as the outbox relay.
/// Every connection runs with <c>secure_delete</c> on, so a deleted row's bytes are overwritten in its
/// page and freed pages are zeroed; a write that erased personal data calls <see cref="RequestScrub"/>
/// so that the older page images the write-ahead log still holds go too (ADR 0019).
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    /// <summary>WAL pages after which a commit checkpoints without blocking anyone (about 40 MiB).</summary>
    private const int AutoCheckpointPages = 10_000;

    /// <summary>
    /// WAL size, in bytes, past which the passive checkpoints evidently could not restart the log and
    /// a write truncates it: 81,920,000 bytes (78.1 MiB), twice the automatic checkpoint size.
    /// </summary>
    public const long DefaultWalLimitBytes = 2L * AutoCheckpointPages * 4096;

    /// <summary>The writer connection's page cache unless a service or the configuration sets another, in MiB: SQLite's own default.</summary>
    public const int DefaultWriterCacheMiB = 2;

    /// <summary>The largest memory map SQLite allows here (its SQLITE_MAX_MMAP_SIZE, 0x7fff0000 bytes), in whole MiB.</summary>
    public const int MaxQueryMapMiB = 2047;

    private const int BusyTimeoutMilliseconds = 5000;

    /// <summary>How long a scrub waits for the log's readers to finish before it tries again later, as a WAL truncation does.</summary>
    private const int ScrubWaitMilliseconds = 250;

    /// <summary>The pause before the first retry of a scrub that readers held off; it doubles with each further one.</summary>
    private const long FirstScrubRetryMilliseconds = 1000;

    /// <summary>The longest pause between two tries of a scrub.</summary>
    private const long MaxScrubRetryMilliseconds = 60_000;

    /// <summary>Statements one query connection keeps prepared; past this it starts over, so SQL built at run time cannot grow it without bound.</summary>
    private const int MaxPreparedStatements = 64;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly string _connectionString;
    private readonly string _queryConnectionString;
    private readonly string _walPath;
    private readonly long _walLimitBytes;
    private readonly ConcurrentStack<QueryConnection> _idleQueryConnections = new();
    private readonly int _maxIdleQueryConnections = Math.Max(4, 2 * Environment.ProcessorCount);
    private bool _disposed;
    private long _nextWalCheck;
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> ConfiguredHandles = [];
    private static readonly object ConfiguredMarker = new();

    private SqliteConnection? _writer;
    private WriterStatements? _writerStatements;
    private volatile bool _scrubRequested;
    private int _scrubRetryScheduled;
    private int _scrubsHeldOff;
    private long _nextScrubAt;
    private readonly TimeProvider _time;

    /// <summary>Opens (and creates when missing) the database file.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="walLimitBytes">The WAL size at which a write truncates the log (see <see cref="BoundWal"/>).</param>
    /// <param name="writerCacheMiB">The page cache of the writer connection, in MiB.</param>
    /// <param name="queryMapMiB">How much of the file <see cref="QueryAsync"/> reads through a memory map, in MiB (0: none).</param>
    /// <param name="time">The clock that paces retries of a held-off scrub; the system clock when null.</param>
    public SqliteDatabase(string path, long walLimitBytes = DefaultWalLimitBytes, int writerCacheMiB = DefaultWriterCacheMiB, int queryMapMiB = MaxQueryMapMiB, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(walLimitBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(writerCacheMiB);
        ArgumentOutOfRangeException.ThrowIfNegative(queryMapMiB);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queryMapMiB, MaxQueryMapMiB);
        Path = path;
        WriterCacheMiB = writerCacheMiB;
        QueryMapMiB = queryMapMiB;
        _walPath = path + "-wal";
        _walLimitBytes = walLimitBytes;
        _nextWalCheck = walLimitBytes;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        // Unpooled: this class keeps its query connections open itself, and their memory map must not pass
        // to other readers with a pooled connection.
        _queryConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();

        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is a property of the file and persists; it lets readers proceed during a write.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }

    /// <summary>Opens <paramref name="fileName"/> in the configured data directory; the configured writer cache, when set, overrides <paramref name="writerCacheMiB"/>.</summary>
    public static SqliteDatabase Open(StorageOptions options, string fileName, int writerCacheMiB = DefaultWriterCacheMiB, TimeProvider? time = null) =>
        new(System.IO.Path.Combine(options.DataDirectory, fileName), writerCacheMiB: options.SqliteWriterCacheMiB ?? writerCacheMiB, queryMapMiB: options.SqliteQueryMapMiB, time: time);

    /// <summary>The file this database lives in.</summary>
    public string Path { get; }

    /// <summary>The page cache the writer connection opens with, in MiB.</summary>
    public int WriterCacheMiB { get; }

    /// <summary>How much of the file the connections of <see cref="QueryAsync"/> read through a memory map, in MiB.</summary>
    public int QueryMapMiB { get; }

    /// <summary>Raised after every committed write transaction.</summary>
    public event Action? Committed;

    /// <summary>
    /// Applies each named schema step exactly once, recorded in <c>schema_migrations</c>. Steps are
    /// named rather than numbered so that several ports of one service can share the file.
    /// </summary>
    public void Migrate(IReadOnlyList<(string Id, string Sql)> migrations)
    {
        using var connection = OpenConnection();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)";
            create.ExecuteNonQuery();
        }

        foreach (var (id, sql) in migrations)
        {
            using var transaction = connection.BeginTransaction();
            using var check = connection.CreateCommand();
            check.Transaction = transaction;
            check.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE id = $id";
            check.Parameters.AddWithValue("$id", id);
            if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                using var apply = connection.CreateCommand();
                apply.Transaction = transaction;
                apply.CommandText = sql + ";\nINSERT INTO schema_migrations (id) VALUES ($id);";
                apply.Parameters.AddWithValue("$id", id);
                apply.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    /// <summary>This database after <see cref="Migrate"/> has applied <paramref name="migrations"/>: a store's field is set with it, so every store of a service's file can be the first one built.</summary>
    public SqliteDatabase Migrated(IReadOnlyList<(string Id, string Sql)> migrations)
    {
        Migrate(migrations);
        return this;
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction and commits it.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        T result;
        try
        {
            var connection = _writer ??= await OpenWriterAsync(cancellationToken);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            result = await work(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            BoundWal(connection);
            if (_scrubRequested && _time.GetTimestamp() >= _nextScrubAt)
            {
                Scrub(connection);
            }
        }
        catch (Exception ex) when (ex is SqliteException or OperationCanceledException)
        {
            // The transaction has rolled back. After a failure of SQLite itself or a cancelled statement
            // the next write starts on a fresh connection; a domain rule that refused the write leaves
            // the connection as it was and keeps its cache.
            CloseWriter();
            if (ex is SqliteException sqlite && IsUnavailable(sqlite))
            {
                throw new StoreUnavailableException($"SQLite database '{System.IO.Path.GetFileName(Path)}' cannot take the write (SQLite error {sqlite.SqliteErrorCode}).", ex);
            }

            throw;
        }
        finally
        {
            _writeLock.Release();
        }

        Committed?.Invoke();
        return result;
    }

    /// <summary>
    /// Keeps the WAL from growing without bound. A passive checkpoint can only restart the log when no
    /// reader is still on an older snapshot at the next write; a busy service always has one (the
    /// relay reading its outbox, a handler loading what it is about to update), and every page lookup
    /// scans an index that grows with the log, so a log that passed gigabytes made each event cost
    /// several times more. Past the limit the writer truncates the log. A TRUNCATE checkpoint waits
    /// for every reader of the log to finish, so it is given at most 250 ms of waiting; meanwhile
    /// other writers queue on the write lock and <see cref="Committed"/> is raised late, which is the
    /// price of a bounded log. When readers do not finish in time (a long export, say) it tries again
    /// one limit later.
    /// </summary>
    private void BoundWal(SqliteConnection connection)
    {
        bool blocked;
        var failed = false;
        long walLength;
        try
        {
            var wal = new FileInfo(_walPath);
            if (!wal.Exists || wal.Length < _nextWalCheck)
            {
                return;
            }

            walLength = wal.Length;
            using var command = connection.CreateCommand();
            // Separate statements: the timeout pragma returns a row of its own, which a combined
            // ExecuteScalar would read as the checkpoint's "busy" column.
            command.CommandText = "PRAGMA busy_timeout=250;";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            blocked = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
            command.CommandText = $"PRAGMA busy_timeout={BusyTimeoutMilliseconds};";
            command.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The write has committed: whatever went wrong here, its caller must hear success.
            walLength = _nextWalCheck;
            blocked = true;
            failed = true;
        }

        if (failed)
        {
            // It may have failed before the usual busy timeout was set back.
            CloseWriter();
        }

        _nextWalCheck = blocked ? walLength + _walLimitBytes : _walLimitBytes;
        JourneyTelemetry.WalTruncations.Add(1,
            new KeyValuePair<string, object?>("database", System.IO.Path.GetFileName(Path)),
            new KeyValuePair<string, object?>("outcome", failed ? "failed" : blocked ? "blocked" : "truncated"));
    }

    /// <summary>
    /// Asks for the write-ahead log to be emptied once the write in progress commits (or the next one,
    /// when called outside a write): a truncating checkpoint copies the newest page images, whose
    /// deleted rows <c>secure_delete</c> has overwritten, into the file and cuts the log to nothing, so
    /// the log's older images of those pages go with it. Called inside the write that deleted personal
    /// data (an erasure, the relay sending an erasure's events). When readers keep the log busy past
    /// <see cref="ScrubWaitMilliseconds"/> (a long export, say), the scrub is tried again after a pause
    /// that starts at a second and doubles up to a minute, by the first write after it or by an empty
    /// write of its own, so a long reader costs the writers one short wait per pause, not one per write.
    /// </summary>
    public void RequestScrub() => _scrubRequested = true;

    /// <summary>Whether a requested scrub has not happened yet (readers have kept the log busy).</summary>
    public bool ScrubPending => _scrubRequested;

    private void Scrub(SqliteConnection connection)
    {
        var outcome = "scrubbed";
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout={ScrubWaitMilliseconds};";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            var blocked = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
            command.CommandText = $"PRAGMA busy_timeout={BusyTimeoutMilliseconds};";
            command.ExecuteNonQuery();
            if (blocked)
            {
                outcome = "blocked";
            }
            else
            {
                _scrubRequested = false;
                _scrubsHeldOff = 0;
                _nextScrubAt = 0;
                _nextWalCheck = _walLimitBytes;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The write has committed: its caller hears success, and the scrub is tried again.
            outcome = "failed";
            CloseWriter();
        }

        JourneyTelemetry.WalScrubs.Add(1,
            new KeyValuePair<string, object?>("database", System.IO.Path.GetFileName(Path)),
            new KeyValuePair<string, object?>("outcome", outcome));
        if (_scrubRequested)
        {
            var pause = Math.Min(MaxScrubRetryMilliseconds, FirstScrubRetryMilliseconds << Math.Min(_scrubsHeldOff++, 6));
            _nextScrubAt = _time.GetTimestamp() + (pause * _time.TimestampFrequency / 1000);
            ScheduleScrubRetry(TimeSpan.FromMilliseconds(pause));
        }
    }

    /// <summary>Tries a scrub that readers held off again after <paramref name="pause"/>, through an empty write, whether or not other writes come.</summary>
    private void ScheduleScrubRetry(TimeSpan pause)
    {
        if (Interlocked.Exchange(ref _scrubRetryScheduled, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(pause, _time);
            Volatile.Write(ref _scrubRetryScheduled, 0);
            if (!_scrubRequested || Volatile.Read(ref _disposed))
            {
                return;
            }

            // The pause has passed, whatever the clocks' granularity: this write tries.
            Volatile.Write(ref _nextScrubAt, 0);

            try
            {
                await WriteAsync((_, _, _) => Task.FromResult(0), CancellationToken.None);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or StoreUnavailableException or SqliteException)
            {
                // Closed meanwhile, or the file cannot take a write now: the next write tries again.
            }
        });
    }

    /// <summary>Runs <paramref name="work"/> on a read connection.</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            return await work(connection, cancellationToken);
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            throw CannotRead(ex);
        }
    }

    /// <summary>
    /// Runs one read statement, <paramref name="sql"/>, and hands its rows to <paramref name="read"/>. For
    /// the hot point reads (a profile by identifier, say). The statement runs on a connection kept open for
    /// queries, prepared on its first use there and reused after, so a call costs neither the pool's open
    /// and per-connection settings nor parsing and planning the SQL again (together about half of a point
    /// read measured alone). These connections read the file through a memory map
    /// (<see cref="StorageOptions.SqliteQueryMapMiB"/>), so the pages they have read stay resident.
    /// <paramref name="sql"/> must be a constant: each distinct text is prepared and kept. The reader is
    /// disposed before the connection goes back, which resets the statement, so no read snapshot outlives
    /// the call to hold off a checkpoint or hide a later commit.
    /// </summary>
    /// <param name="sql">The statement, with named parameters.</param>
    /// <param name="bind">Adds this call's parameter values.</param>
    /// <param name="read">Reads the rows it needs.</param>
    /// <param name="cancellationToken">Interrupts the statement.</param>
    public async Task<T> QueryAsync<T>(string sql, Action<SqliteParameterCollection> bind, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
    {
        var query = RentQueryConnection();
        T result;
        try
        {
            var command = query.Prepared(sql);
            bind(command.Parameters);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                result = read(reader);
            }
        }
        catch (Exception ex)
        {
            // Whatever failed, the connection may hold a statement mid-step or an interrupt: it is not reused.
            query.Dispose();
            if (ex is SqliteException sqlite && IsUnavailable(sqlite))
            {
                throw CannotRead(sqlite);
            }

            throw;
        }

        ReturnQueryConnection(query);
        return result;
    }

    /// <summary>Opens a pooled connection with this database's per-connection settings.</summary>
    public async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        ConfigureOnce(connection);
        return connection;
    }

    private QueryConnection RentQueryConnection()
    {
        if (_idleQueryConnections.TryPop(out var idle))
        {
            return idle;
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        var connection = OpenConnection(_queryConnectionString);
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA mmap_size={(long)QueryMapMiB * 1024 * 1024};";
            command.ExecuteNonQuery();
            return new QueryConnection(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void ReturnQueryConnection(QueryConnection query)
    {
        // Counting walks the stack, which holds a handful at most; two callers returning at once may keep one extra.
        if (_idleQueryConnections.Count >= _maxIdleQueryConnections)
        {
            query.Dispose();
            return;
        }

        _idleQueryConnections.Push(query);
        if (Volatile.Read(ref _disposed))
        {
            CloseIdleQueryConnections();
        }
    }

    private void CloseIdleQueryConnections()
    {
        while (_idleQueryConnections.TryPop(out var idle))
        {
            idle.Dispose();
        }
    }

    private void CloseWriter()
    {
        _writerStatements?.Dispose();
        _writerStatements = null;
        _writer?.Dispose();
        _writer = null;
    }

    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            // Negative: the size in KiB rather than in pages.
            command.CommandText = $"PRAGMA cache_size=-{WriterCacheMiB * 1024};";
            await command.ExecuteNonQueryAsync(cancellationToken);
            _writerStatements = WriterStatements.Attach(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private SqliteConnection OpenConnection(string? connectionString = null)
    {
        var connection = new SqliteConnection(connectionString ?? _connectionString);
        connection.Open();
        Configure(connection);
        return connection;
    }

    /// <summary>
    /// <see cref="Configure"/> on a connection's first open: the pool hands the same SQLite handle out
    /// again, and the settings live in the handle, so a pooled read pays them once instead of per call.
    /// </summary>
    private static void ConfigureOnce(SqliteConnection connection)
    {
        if (connection.Handle is { } handle && !ConfiguredHandles.TryGetValue(handle, out _))
        {
            Configure(connection);
            ConfiguredHandles.AddOrUpdate(handle, ConfiguredMarker);
        }
    }

    private static void Configure(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        // NORMAL is durable across process crashes in WAL mode; only a power loss can drop the last commits.
        // Checkpointing every 10,000 pages (about 40 MiB of WAL) instead of SQLite's 1,000 lets a page that
        // many commits touch (random-key indexes on the ingest path) reach the database file once, not
        // once per few commits: about a sixth more interactions per second on the touchpoint ingest path.
        // secure_delete overwrites deleted rows and freed pages with zeros, so erased personal data does
        // not linger in free space (ADR 0019); it costs a write of the freed bytes on each delete.
        command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=" + BusyTimeoutMilliseconds + "; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=" + AutoCheckpointPages + "; PRAGMA secure_delete=ON;";
        command.ExecuteNonQuery();
    }

    private StoreUnavailableException CannotRead(SqliteException ex) =>
        new($"SQLite database '{System.IO.Path.GetFileName(Path)}' cannot be read (SQLite error {ex.SqliteErrorCode}).", ex);

    private static bool IsUnavailable(SqliteException ex) =>
        ex.SqliteErrorCode is 5 /* BUSY */ or 6 /* LOCKED */ or 10 /* IOERR */ or 13 /* FULL */ or 14 /* CANTOPEN */ or 8 /* READONLY */;

    /// <inheritdoc />
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        CloseIdleQueryConnections();
        _writeLock.Dispose();
        EmptyLogOnClose();
        CloseWriter();

        // Only this file's pool: clearing every pool would close connections other databases of the
        // process are opening or using at that moment.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>
    /// Empties the log before the writer closes. SQLite does so itself when the last connection to the
    /// file closes; a connection still open elsewhere in the process (a reader finishing late) would
    /// leave the log, and with it older page images, on disk.
    /// </summary>
    private void EmptyLogOnClose()
    {
        if (_writer is null)
        {
            return;
        }

        try
        {
            using var command = _writer.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            command.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // Closing goes on; the last connection's own checkpoint still runs.
        }
    }

    /// <summary>A connection kept open for <see cref="QueryAsync"/>, with the statements it has prepared.</summary>
    private sealed class QueryConnection(SqliteConnection connection) : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);

        public SqliteCommand Prepared(string sql)
        {
            if (!_prepared.TryGetValue(sql, out var command))
            {
                if (_prepared.Count >= MaxPreparedStatements)
                {
                    DisposeStatements();
                }

                command = connection.CreateCommand();
                command.CommandText = sql;
                _prepared.Add(sql, command);
            }

            command.Parameters.Clear();
            return command;
        }

        public void Dispose()
        {
            DisposeStatements();
            connection.Dispose();
        }

        private void DisposeStatements()
        {
            foreach (var command in _prepared.Values)
            {
                command.Dispose();
            }

            _prepared.Clear();
        }
    }
}
