using Journey.Shared.Events;
using Journey.Shared.Storage;

namespace Journey.Consent.Storage;

/// <summary>The consent service's SQLite schema, shared by its adapters (one file per service).</summary>
internal static class SqliteSchema
{
    private const string Catalog = """
        CREATE TABLE purposes (
            id TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            legal_basis INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            default_decision INTEGER NOT NULL,
            validity_ms INTEGER NULL,
            minimum_policy_version INTEGER NOT NULL,
            version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE policy_versions (
            version INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at INTEGER NOT NULL)
        """;

    // Records append at the end of the rowid B-tree; the chain head lives on the subject row so an
    // append reads one row instead of scanning the chain.
    private const string Ledger = """
        CREATE TABLE subjects (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            merged_into TEXT NULL,
            chain_length INTEGER NOT NULL DEFAULT 0,
            head_hash TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
        CREATE INDEX ix_subjects_merged_into ON subjects (merged_into) WHERE merged_into IS NOT NULL;
        CREATE TABLE subject_identifiers (
            kind INTEGER NOT NULL,
            value TEXT NOT NULL,
            subject TEXT NOT NULL,
            PRIMARY KEY (kind, value)) WITHOUT ROWID;
        CREATE INDEX ix_subject_identifiers_subject ON subject_identifiers (subject);
        CREATE TABLE records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            subject TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            purpose TEXT NOT NULL,
            granted INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            policy_version INTEGER NOT NULL,
            captured_at INTEGER NOT NULL,
            recorded_at INTEGER NOT NULL,
            touchpoint TEXT NOT NULL,
            form_id TEXT NOT NULL,
            ip_hash TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            proof_digest TEXT NOT NULL,
            redacted INTEGER NOT NULL DEFAULT 0,
            origin INTEGER NOT NULL,
            source_record TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            UNIQUE (subject, sequence));
        CREATE TABLE decisions (
            subject TEXT NOT NULL,
            purpose TEXT NOT NULL,
            seq INTEGER NOT NULL,
            channels INTEGER NOT NULL,
            PRIMARY KEY (subject, purpose, seq)) WITHOUT ROWID;
        CREATE TABLE erasures (
            id TEXT PRIMARY KEY,
            subject TEXT NULL,
            requested_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE erasure_completions (
            erasure TEXT NOT NULL,
            service TEXT NOT NULL,
            completed_at INTEGER NOT NULL,
            records_erased INTEGER NOT NULL,
            PRIMARY KEY (erasure, service)) WITHOUT ROWID
        """;

    // A grant's capture time stays on its decision row until its expiry is published; the partial
    // index then holds only grants still waiting, so the expiry sweep never rereads published ones.
    private const string Expiry = """
        ALTER TABLE decisions ADD COLUMN pending_expiry_from INTEGER NULL;
        UPDATE decisions SET pending_expiry_from = (SELECT r.captured_at FROM records r WHERE r.seq = decisions.seq AND r.granted = 1);
        CREATE INDEX ix_decisions_pending_expiry ON decisions (purpose, pending_expiry_from) WHERE pending_expiry_from IS NOT NULL
        """;

    // Request ids of idempotent writes, stored in the transaction of the write they name. The index
    // on the expiry time lets the sweep delete the oldest without scanning.
    private const string Requests = """
        CREATE TABLE consent_requests (
            request_id TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            outcome TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX ix_consent_requests_expires_at ON consent_requests (expires_at)
        """;

    // Signed checkpoints, and the chain heads the latest one covers (one row per subject, apart from
    // the subject's own head), indexed by bucket so checking one subject reads one bucket. Only the
    // latest checkpoint keeps its bucket hashes.
    private const string Checkpoints = """
        CREATE TABLE checkpoints (
            number INTEGER PRIMARY KEY,
            created_at INTEGER NOT NULL,
            subjects INTEGER NOT NULL,
            records INTEGER NOT NULL,
            root TEXT NOT NULL,
            previous TEXT NOT NULL,
            key_id TEXT NOT NULL,
            signature BLOB NOT NULL,
            bucket_hashes BLOB NULL);
        CREATE TABLE checkpoint_heads (
            subject TEXT PRIMARY KEY,
            bucket INTEGER NOT NULL,
            length INTEGER NOT NULL,
            hash TEXT NOT NULL) WITHOUT ROWID;
        CREATE INDEX ix_checkpoint_heads_bucket ON checkpoint_heads (bucket)
        """;

    /// <summary>The named steps of the service's file; every adapter applies them, later applications do nothing.</summary>
    public static readonly IReadOnlyList<(string Id, string Sql)> Migrations =
        [
            ("consent-catalog-001", Catalog),
            ("consent-ledger-001", Ledger),
            ("consent-inbox-001", SqliteInbox.Schema),
            ("consent-outbox-001", SqliteOutbox.Schema),
            ("consent-expiry-001", Expiry),
            ("consent-requests-001", Requests),
            ("consent-checkpoints-001", Checkpoints),
            ("consent-erasure-tombstones-001", SqliteErasureTombstones.Schema),
            // Which profile's merge joined a subject to another, to which (never re-pointed) and at what
            // length of the target's chain: a split of that merge finds the subjects to give back, the
            // subjects merged into them first, and the records appended while merged.
            ("consent-subject-merges-002", """
                ALTER TABLE subjects ADD COLUMN merged_by TEXT NULL;
                ALTER TABLE subjects ADD COLUMN merged_parent TEXT NULL;
                ALTER TABLE subjects ADD COLUMN merged_head INTEGER NULL
                """),
            // The identifiers a record came through, kept for records appended while a merge into their
            // subject can be undone, so a split hands each record to the person it came through. Outside
            // the chain's hash: a split or an erasure removes them.
            ("consent-recorded-via-003", """
                CREATE TABLE recorded_via (
                    record_seq INTEGER PRIMARY KEY,
                    subject TEXT NOT NULL,
                    identifiers TEXT NOT NULL);
                CREATE INDEX ix_recorded_via_subject ON recorded_via (subject)
                """),
        ];
}
