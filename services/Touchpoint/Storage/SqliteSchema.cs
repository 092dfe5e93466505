using Journey.Shared.Events;
using Journey.Shared.Storage;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The touchpoint service's SQLite schema, shared by its adapters (one file, one migration list).
/// Write-heavy tables are keyed so that inserts land together: raw interactions by rowid, and the
/// per-day aggregates by day first, so a day's writes stay in a few hot pages. Event ids are claimed by
/// id alone: a re-sent interaction is a duplicate whatever time it carries.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The named steps of the service's file; every adapter applies them, later applications do nothing.</summary>
    public static readonly IReadOnlyList<(string Id, string Sql)> Migrations =
    [
        ("touchpoint-001-catalog", """
            CREATE TABLE touchpoints (
                id TEXT PRIMARY KEY,
                display_name TEXT NOT NULL,
                channel INTEGER NOT NULL,
                ownership INTEGER NOT NULL,
                stage_mask INTEGER NOT NULL,
                criticality INTEGER NOT NULL,
                target REAL NOT NULL,
                statement TEXT NOT NULL,
                owning_team TEXT NOT NULL,
                topics TEXT NOT NULL,
                retired INTEGER NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                retired_at INTEGER) WITHOUT ROWID;
            CREATE INDEX touchpoints_by_channel ON touchpoints (channel, id);
            CREATE INDEX touchpoints_by_ownership ON touchpoints (ownership, id);
            CREATE TABLE touchpoint_stages (
                stage INTEGER NOT NULL,
                touchpoint_id TEXT NOT NULL,
                PRIMARY KEY (stage, touchpoint_id)) WITHOUT ROWID
            """),
        ("touchpoint-002-interactions", """
            CREATE TABLE interactions (
                seq INTEGER PRIMARY KEY,
                event_id TEXT NOT NULL,
                touchpoint_id TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                recorded_at INTEGER NOT NULL,
                person_id INTEGER NOT NULL,
                type INTEGER NOT NULL,
                identifiers TEXT NOT NULL,
                details TEXT NOT NULL);
            CREATE INDEX interactions_by_person ON interactions (person_id, occurred_at, seq);
            CREATE INDEX interactions_by_time ON interactions (occurred_at);
            CREATE TABLE interaction_ids (
                event_id TEXT PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE person_state (
                person_id INTEGER PRIMARY KEY,
                last_at INTEGER NOT NULL,
                last_touchpoint_id TEXT NOT NULL,
                last_purchase_at INTEGER);
            CREATE INDEX person_state_by_last ON person_state (last_at);
            CREATE TABLE person_links (
                identifier TEXT PRIMARY KEY,
                person_id INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX person_links_by_person ON person_links (person_id);
            CREATE TABLE profile_persons (
                profile_id TEXT NOT NULL,
                person_id INTEGER NOT NULL,
                PRIMARY KEY (profile_id, person_id)) WITHOUT ROWID;
            CREATE INDEX profile_persons_by_person ON profile_persons (person_id)
            """),
        ("touchpoint-003-aggregates", """
            CREATE TABLE touchpoint_days (
                day INTEGER NOT NULL,
                touchpoint_id TEXT NOT NULL,
                interactions INTEGER NOT NULL,
                rating_sum INTEGER NOT NULL,
                rating_count INTEGER NOT NULL,
                PRIMARY KEY (day, touchpoint_id)) WITHOUT ROWID;
            CREATE TABLE touchpoint_day_people (
                day INTEGER NOT NULL,
                touchpoint_id TEXT NOT NULL,
                person_id INTEGER NOT NULL,
                first_at INTEGER NOT NULL,
                last_at INTEGER NOT NULL,
                PRIMARY KEY (day, touchpoint_id, person_id)) WITHOUT ROWID;
            CREATE TABLE person_stage_days (
                day INTEGER NOT NULL,
                person_id INTEGER NOT NULL,
                stage_mask INTEGER NOT NULL,
                PRIMARY KEY (day, person_id)) WITHOUT ROWID;
            CREATE TABLE person_touchpoints (
                person_id INTEGER NOT NULL,
                touchpoint_id TEXT NOT NULL,
                first_at INTEGER NOT NULL,
                PRIMARY KEY (person_id, touchpoint_id)) WITHOUT ROWID;
            CREATE TABLE purchases (
                person_id INTEGER NOT NULL,
                at INTEGER NOT NULL,
                day INTEGER NOT NULL,
                PRIMARY KEY (person_id, at)) WITHOUT ROWID;
            CREATE INDEX purchases_by_day ON purchases (day)
            """),
        ("touchpoint-004-inbox", SqliteInbox.Schema),
        ("touchpoint-005-person-profile", """
            CREATE TABLE person_profile (
                person_id INTEGER PRIMARY KEY,
                profile_id TEXT NOT NULL)
            """),
        // What the profile service says each profile holds (profile-updated, profiles-merged): a
        // profile's timeline and the profile an entry names come from here. person_overlaps records that
        // interactions carrying an identifier of one person were filed under another (their identifiers
        // were first seen apart), so a timeline by identifiers finds every interaction carrying them.
        ("touchpoint-006-profiles", """
            DROP TABLE person_profile;
            CREATE TABLE profiles (
                profile_id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                survivor_id TEXT) WITHOUT ROWID;
            CREATE INDEX profiles_by_survivor ON profiles (survivor_id) WHERE survivor_id IS NOT NULL;
            CREATE TABLE profile_identifiers (
                identifier TEXT NOT NULL,
                profile_id TEXT NOT NULL,
                PRIMARY KEY (identifier, profile_id)) WITHOUT ROWID;
            CREATE INDEX profile_identifiers_by_profile ON profile_identifiers (profile_id);
            CREATE TABLE person_overlaps (
                person_id INTEGER NOT NULL,
                filed_person_id INTEGER NOT NULL,
                PRIMARY KEY (person_id, filed_person_id)) WITHOUT ROWID;
            CREATE INDEX person_overlaps_by_filed ON person_overlaps (filed_person_id)
            """),
        // An id claimed before fingerprints were kept has none and counts as a duplicate of anything.
        ("touchpoint-007-interaction-fingerprints", "ALTER TABLE interaction_ids ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''"),
        // Erased profiles are remembered by tombstone (a keyed hash), no longer by a row naming the profile.
        ("touchpoint-008-erasure-tombstones", SqliteErasureTombstones.Schema + """
            ;
            DELETE FROM profiles WHERE version = 9223372036854775807
            """),
        // Tracking sources: the source as one JSON document, its keys' hashes apart so a key finds
        // its source by index, issue counts per source, kind and name, and the message ids of the
        // identities already published.
        ("touchpoint-009-tracking", """
            CREATE TABLE tracking_sources (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                data TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE tracking_keys (
                hash TEXT PRIMARY KEY,
                source_id TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX tracking_keys_by_source ON tracking_keys (source_id);
            CREATE TABLE tracking_issues (
                source_id TEXT NOT NULL,
                kind INTEGER NOT NULL,
                name TEXT NOT NULL,
                detail TEXT NOT NULL,
                count INTEGER NOT NULL,
                first_at INTEGER NOT NULL,
                last_at INTEGER NOT NULL,
                PRIMARY KEY (source_id, kind, name, detail)) WITHOUT ROWID;
            CREATE TABLE tracking_identities (
                source_id TEXT NOT NULL,
                message_id TEXT NOT NULL,
                PRIMARY KEY (source_id, message_id)) WITHOUT ROWID
            """),
        // From when each profile held each identifier, kept past a release: an interaction is the
        // profile's that held its identifier when it happened (a shared cookie moves between customers).
        ("touchpoint-010-identifier-holdings", """
            CREATE TABLE identifier_holdings (
                identifier TEXT NOT NULL,
                profile_id TEXT NOT NULL,
                since INTEGER NOT NULL,
                PRIMARY KEY (identifier, profile_id, since)) WITHOUT ROWID;
            CREATE INDEX identifier_holdings_by_profile ON identifier_holdings (profile_id)
            """),
        // When each identity's message id was claimed, for the retention sweep; ids claimed before
        // count from this migration.
        ("touchpoint-011-tracking-identity-times", """
            ALTER TABLE tracking_identities ADD COLUMN claimed_at INTEGER NOT NULL DEFAULT 0;
            UPDATE tracking_identities SET claimed_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
            CREATE INDEX tracking_identities_by_claimed ON tracking_identities (claimed_at)
            """),
        // The paths report anchored at a touchpoint reads who first met it in a period.
        ("touchpoint-012-person-touchpoints-by-touchpoint",
            "CREATE INDEX person_touchpoints_by_touchpoint ON person_touchpoints (touchpoint_id, first_at)"),
        // Which merge linked a profile to a person (the merged profile's id), so a split of that merge
        // removes exactly those links; links older than this column stay.
        ("touchpoint-013-profile-person-merges", """
            ALTER TABLE profile_persons ADD COLUMN merged_profile TEXT NULL;
            CREATE INDEX profile_persons_by_merge ON profile_persons (merged_profile) WHERE merged_profile IS NOT NULL
            """),
    ];
}
