using Journey.Profile.Domain;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Profile.Storage;

/// <summary>Profiles in SQLite. The identifier table's primary key (kind, value) is what makes an identifier belong to one profile only.</summary>
internal sealed class SqliteProfileStore : IProfileStore
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;

    public SqliteProfileStore([FromKeyedServices(ProfileModule.Name)] SqliteDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
        _database.Migrate([
            ("profile-001", """
                CREATE TABLE profiles (
                    id TEXT PRIMARY KEY,
                    stage INTEGER NOT NULL,
                    interaction_count INTEGER NOT NULL,
                    first_at INTEGER NOT NULL,
                    last_at INTEGER NOT NULL,
                    version INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE profile_identifiers (
                    kind INTEGER NOT NULL,
                    value TEXT NOT NULL,
                    profile_id TEXT NOT NULL,
                    PRIMARY KEY (kind, value)) WITHOUT ROWID;
                CREATE INDEX profile_identifiers_by_profile ON profile_identifiers (profile_id)
                """),
            ("profile-inbox-001", SqliteInbox.Schema),
        ]);
    }

    public Task<PersonProfile?> GetAsync(string id, CancellationToken cancellationToken) =>
        _database.ReadAsync((connection, ct) => LoadAsync(connection, null, id, ct), cancellationToken);

    public Task<PersonProfile?> FindAsync(PersonIdentifier identifier, CancellationToken cancellationToken) =>
        _database.ReadAsync((connection, ct) => FindAsync(connection, null, identifier, ct), cancellationToken);

    public Task ApplyAsync(string consumer, IReadOnlyList<string> eventIds, Func<IProfileTransaction, IReadOnlySet<string>, Task> work, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            foreach (var eventId in eventIds)
            {
                if (await SqliteInbox.TryClaimAsync(connection, transaction, consumer, eventId, _time.GetUtcNow(), ct))
                {
                    fresh.Add(eventId);
                }
            }

            var unit = new Transaction(connection, transaction, ct);
            await work(unit, fresh);
            await SqliteOutbox.AppendAsync(connection, transaction, unit.Outgoing, ct);
            return 0;
        }, cancellationToken);

    private static async Task<PersonProfile?> FindAsync(SqliteConnection connection, SqliteTransaction? transaction, PersonIdentifier identifier, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT profile_id FROM profile_identifiers WHERE kind = $kind AND value = $value";
        command.Parameters.AddWithValue("$kind", (int)identifier.Kind);
        command.Parameters.AddWithValue("$value", identifier.Value);
        return await command.ExecuteScalarAsync(ct) is string id ? await LoadAsync(connection, transaction, id, ct) : null;
    }

    private static async Task<PersonProfile?> LoadAsync(SqliteConnection connection, SqliteTransaction? transaction, string id, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT p.stage, p.interaction_count, p.first_at, p.last_at, p.version, i.kind, i.value
            FROM profiles p LEFT JOIN profile_identifiers i ON i.profile_id = p.id
            WHERE p.id = $id ORDER BY i.kind, i.value
            """;
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        PersonProfile? profile = null;
        var identifiers = new List<PersonIdentifier>();
        while (await reader.ReadAsync(ct))
        {
            profile ??= new PersonProfile(id, identifiers, (JourneyStage)reader.GetInt32(0), reader.GetInt64(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), reader.GetInt64(4));
            if (!reader.IsDBNull(5))
            {
                identifiers.Add(new PersonIdentifier((IdentifierKind)reader.GetInt32(5), reader.GetString(6)));
            }
        }

        return profile;
    }

    private sealed class Transaction(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken) : IProfileTransaction
    {
        public List<OutboxMessage> Outgoing { get; } = [];

        public Task<PersonProfile?> FindAsync(PersonIdentifier identifier) => SqliteProfileStore.FindAsync(connection, transaction, identifier, cancellationToken);

        public async Task SaveAsync(PersonProfile profile)
        {
            await using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
                upsert.CommandText = """
                    INSERT INTO profiles (id, stage, interaction_count, first_at, last_at, version)
                    VALUES ($id, $stage, $count, $first, $last, $version)
                    ON CONFLICT (id) DO UPDATE SET stage = $stage, interaction_count = $count, first_at = $first, last_at = $last, version = $version
                    """;
                upsert.Parameters.AddWithValue("$id", profile.Id);
                upsert.Parameters.AddWithValue("$stage", (int)profile.Stage);
                upsert.Parameters.AddWithValue("$count", profile.InteractionCount);
                upsert.Parameters.AddWithValue("$first", profile.FirstInteractionAt.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$last", profile.LastInteractionAt.ToUnixTimeMilliseconds());
                upsert.Parameters.AddWithValue("$version", profile.Version);
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var claim = connection.CreateCommand();
            claim.Transaction = transaction;
            // Claims only identifiers nobody holds: the primary key refuses a second owner.
            claim.CommandText = "INSERT OR IGNORE INTO profile_identifiers (kind, value, profile_id) VALUES ($kind, $value, $id)";
            var kind = claim.Parameters.Add("$kind", SqliteType.Integer);
            var value = claim.Parameters.Add("$value", SqliteType.Text);
            claim.Parameters.AddWithValue("$id", profile.Id);
            foreach (var identifier in profile.Identifiers)
            {
                kind.Value = (int)identifier.Kind;
                value.Value = identifier.Value;
                await claim.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        public void Publish(OutboxMessage message) => Outgoing.Add(message);
    }
}
