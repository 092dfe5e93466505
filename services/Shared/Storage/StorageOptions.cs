using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Storage;

/// <summary>Which store adapter every service uses.</summary>
public enum StorageProvider
{
    /// <summary>Embedded SQLite: one database file per service under <see cref="StorageOptions.DataDirectory"/>.</summary>
    Sqlite,

    /// <summary>MongoDB: one database per service on the server named by <see cref="MongoStorageOptions.ConnectionString"/>.</summary>
    Mongo,
}

/// <summary>Storage settings (section <c>Journey:Storage</c>).</summary>
public sealed class StorageOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Storage";

    /// <summary>
    /// The adapter. Default: <see cref="StorageProvider.Mongo"/> when a MongoDB connection string is
    /// set, otherwise <see cref="StorageProvider.Sqlite"/>. Naming Mongo without a connection string is
    /// a start-up error, never a silent fall-back to SQLite.
    /// </summary>
    public StorageProvider? Provider { get; set; }

    /// <summary>Folder for the SQLite files and the in-process bus; created when missing. Default <c>.data</c>, relative to the working directory.</summary>
    [Required]
    [MinLength(1)]
    public string DataDirectory { get; set; } = ".data";

    /// <summary>
    /// Page cache of every SQLite file's writer connection, in MiB, 2 to 1024. The writer stays open, so
    /// what is cached stays valid from one transaction to the next. Default: each service's own choice,
    /// 32 MiB for the touchpoint store, whose ingest transactions touch random-key indexes throughout
    /// (about 6 % more interactions a second than with 2 MiB), and SQLite's usual 2 MiB for the others,
    /// whose event handling took about a tenth more CPU per event with 32 MiB.
    /// </summary>
    [Range(2, 1024)]
    public int? SqliteWriterCacheMiB { get; set; }

    /// <summary>
    /// How much of each SQLite file the connections that serve point reads (a profile by identifier)
    /// read through a memory map instead of read calls, in MiB, 0 (off) to 2047 (SQLite's limit).
    /// Default 2047. Pages a mapped connection has read stay in the process's memory map, so the
    /// operating system keeps them unless it needs the memory: on the development machine it otherwise
    /// dropped about 2 MiB a second of an idle 1 GB store from its file cache with 20 GB free, and a
    /// lookup then waited for the disk. Mapped pages count towards the process's resident set (they are
    /// clean file pages the kernel can still reclaim under memory pressure). Set 0 on filesystems where
    /// SQLite advises against memory maps, such as network filesystems.
    /// </summary>
    [Range(0, SqliteDatabase.MaxQueryMapMiB)]
    public int SqliteQueryMapMiB { get; set; } = SqliteDatabase.MaxQueryMapMiB;

    /// <summary>
    /// How long an inbox entry (a handled event's id) is kept, after which it is removed (a TTL index
    /// on MongoDB, an hourly sweep on SQLite). A redelivery of the event after that would be handled
    /// again, so it must outlast every redelivery and replay of dead letters. Default 30 days, 1 to
    /// 3650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long an audit trail entry is kept, after which it is removed (a TTL index on MongoDB, an
    /// hourly sweep on SQLite). Default 730 days (two years of "who changed what" for reviews and
    /// accountability), 30 to 3650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "30.00:00:00", "3650.00:00:00")]
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(730);

    /// <summary>MongoDB settings.</summary>
    [ValidateObjectMembers]
    public MongoStorageOptions Mongo { get; set; } = new();

    /// <summary>The adapter in force after applying the default.</summary>
    public StorageProvider EffectiveProvider =>
        Provider ?? (string.IsNullOrWhiteSpace(Mongo.ConnectionString) ? StorageProvider.Sqlite : StorageProvider.Mongo);
}

/// <summary>MongoDB settings (section <c>Journey:Storage:Mongo</c>).</summary>
public sealed class MongoStorageOptions
{
    /// <summary>The connection string, e.g. <c>mongodb://host:27017/?replicaSet=rs0</c>. The outbox needs transactions, so the server must be a replica set. No default.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of each service's database name; the service name follows. Default <c>journey-</c>.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,32}$", ErrorMessage = "Journey:Storage:Mongo:DatabasePrefix may hold only letters, digits, '_' and '-' (1 to 32).")]
    public string DatabasePrefix { get; set; } = "journey-";

    /// <summary>How long a store call may wait for a server before it fails as unavailable. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:05:00")]
    public TimeSpan ServerSelectionTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long after a write transaction's first attempt a further attempt may still begin, when the
    /// attempts before ran into write conflicts, a failover or an unknown commit result (errors
    /// MongoDB labels retryable). Then the write fails as unavailable (UNAVAILABLE to a caller, RETRY
    /// to an event delivery). Default 10 seconds, 0 (no retry) to 2 minutes (the driver's own bound).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:02:00")]
    public TimeSpan TransactionRetryTime { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Start-up validation of <see cref="StorageOptions"/>.</summary>
[OptionsValidator]
public sealed partial class StorageOptionsValidator : IValidateOptions<StorageOptions>;

/// <summary>The rule that annotations cannot express: Mongo needs a connection string.</summary>
internal sealed class StorageProviderRule : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        options.EffectiveProvider == StorageProvider.Mongo && string.IsNullOrWhiteSpace(options.Mongo.ConnectionString)
            ? ValidateOptionsResult.Fail("Journey:Storage:Provider is Mongo but Journey:Storage:Mongo:ConnectionString is empty: set the connection string, or set the provider to Sqlite.")
            : ValidateOptionsResult.Success;
}
