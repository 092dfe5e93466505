using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Journey.Recommendation.Storage;

/// <summary>
/// The service's SQLite schema, applied by whichever adapter opens the file first. Keys are chosen
/// for the write paths: recommendations by UUIDv7 (appends), counters by their natural composite key.
/// </summary>
internal static class SqliteSchema
{
    public static readonly IReadOnlyList<(string Id, string Sql)> Migrations =
    [
        ("recommendation-inbox-001", SqliteInbox.Schema),
        ("recommendation-outbox-001", SqliteOutbox.Schema),
        ("recommendation-001", """
            CREATE TABLE contents (id TEXT PRIMARY KEY, doc TEXT NOT NULL, kind INTEGER NOT NULL, retired INTEGER NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE persons (key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE person_ids (id TEXT PRIMARY KEY, person_key TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX person_ids_by_person ON person_ids (person_key);
            CREATE TABLE touchpoints (id TEXT PRIMARY KEY, channel INTEGER NOT NULL, stages TEXT NOT NULL, retired INTEGER NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE recommendations (id TEXT PRIMARY KEY, person_key TEXT NOT NULL, stage INTEGER NOT NULL, experiment TEXT NOT NULL, variant TEXT NOT NULL, contents TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX recommendations_by_person ON recommendations (person_key);
            CREATE TABLE impressions (person_key TEXT NOT NULL, day INTEGER NOT NULL, content TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (person_key, day, content)) WITHOUT ROWID;
            CREATE TABLE item_stats (content TEXT NOT NULL, stage INTEGER NOT NULL, impressions INTEGER NOT NULL, clicks INTEGER NOT NULL, conversions INTEGER NOT NULL, PRIMARY KEY (content, stage)) WITHOUT ROWID;
            CREATE TABLE variant_counts (experiment TEXT NOT NULL, variant TEXT NOT NULL, recommendations INTEGER NOT NULL, impressions INTEGER NOT NULL, clicks INTEGER NOT NULL, conversions INTEGER NOT NULL, PRIMARY KEY (experiment, variant)) WITHOUT ROWID;
            CREATE TABLE co_consumption (a TEXT NOT NULL, b TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
            CREATE INDEX co_consumption_top ON co_consumption (a, count DESC);
            CREATE TABLE experiments (id TEXT PRIMARY KEY, doc TEXT NOT NULL, created_at INTEGER NOT NULL, running INTEGER NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID
            """),
        // Learned counts are re-read by what changed: every write stamps the row with the next
        // sequence number. SQLite commits one writer at a time, so numbers become visible in order.
        ("recommendation-002", """
            ALTER TABLE item_stats ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX item_stats_by_seq ON item_stats (seq)
            """),
        // Identifier links are found through the person's document (which lists them), not through an
        // index by person: that index cost a second random-key insert for every identifier ingested.
        ("recommendation-003", "DROP INDEX IF EXISTS person_ids_by_person"),
        ("recommendation-004-erasure-tombstones", SqliteErasureTombstones.Schema),
    ];

    public static bool IsUniqueViolation(SqliteException ex) => ex.SqliteErrorCode == 19;
}
