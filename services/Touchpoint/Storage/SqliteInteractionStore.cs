using System.Text.Json;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// Interactions in SQLite. Rows get a time-ordered integer key, so the table itself appends; only
/// the deduplication table is keyed by the sender's (random) id. That index is the one random-key
/// structure on the ingest path: BASELINES puts it at roughly the cost of the table itself, and it is
/// what makes a repeated id a cheap point lookup.
/// </summary>
internal sealed class SqliteInteractionStore : IInteractionStore
{
    private readonly SqliteDatabase _database;

    public SqliteInteractionStore([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database)
    {
        _database = database;
        _database.Migrate([
            ("interactions-001", """
            CREATE TABLE interactions (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                interaction_id TEXT NOT NULL,
                touchpoint TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                type INTEGER NOT NULL,
                body TEXT NOT NULL);
            CREATE TABLE interaction_ids (interaction_id TEXT PRIMARY KEY) WITHOUT ROWID
            """),
            // Times arrive roughly in order, so this index appends like the table does; it lets the retention sweep find old rows without a scan.
            ("interactions-002", "CREATE INDEX interactions_by_time ON interactions (occurred_at)"),
        ]);
    }

    public Task<IReadOnlySet<string>> AppendAsync(IReadOnlyList<(Interaction Interaction, OutboxMessage Recorded)> interactions, CancellationToken cancellationToken) =>
        _database.WriteAsync<IReadOnlySet<string>>(async (connection, transaction, ct) =>
        {
            var duplicates = new HashSet<string>(StringComparer.Ordinal);
            var recorded = new List<OutboxMessage>(interactions.Count);
            await using var claim = connection.CreateCommand();
            claim.Transaction = transaction;
            claim.CommandText = "INSERT OR IGNORE INTO interaction_ids (interaction_id) VALUES ($id)";
            var claimId = claim.Parameters.Add("$id", SqliteType.Text);
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO interactions (interaction_id, touchpoint, occurred_at, type, body) VALUES ($id, $touchpoint, $at, $type, $body)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var touchpoint = insert.Parameters.Add("$touchpoint", SqliteType.Text);
            var at = insert.Parameters.Add("$at", SqliteType.Integer);
            var type = insert.Parameters.Add("$type", SqliteType.Integer);
            var body = insert.Parameters.Add("$body", SqliteType.Text);
            foreach (var (interaction, message) in interactions)
            {
                claimId.Value = interaction.InteractionId;
                if (await claim.ExecuteNonQueryAsync(ct) == 0)
                {
                    duplicates.Add(interaction.InteractionId);
                    continue;
                }

                id.Value = interaction.InteractionId;
                touchpoint.Value = interaction.TouchpointId;
                at.Value = interaction.OccurredAt!.Value.ToUnixTimeMilliseconds();
                type.Value = (int)interaction.Type;
                body.Value = JsonSerializer.Serialize(InteractionBody.From(interaction));
                await insert.ExecuteNonQueryAsync(ct);
                recorded.Add(message);
            }

            await SqliteOutbox.AppendAsync(connection, transaction, recorded, ct);
            return duplicates;
        }, cancellationToken);

    public Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            // The ids go too: a sender repeating an interaction this old is refused as outside retention anyway.
            command.CommandText = """
                CREATE TEMP TABLE IF NOT EXISTS expired (seq INTEGER PRIMARY KEY, interaction_id TEXT NOT NULL);
                DELETE FROM temp.expired;
                INSERT INTO temp.expired SELECT seq, interaction_id FROM interactions WHERE occurred_at < $cutoff ORDER BY occurred_at LIMIT $max;
                DELETE FROM interaction_ids WHERE interaction_id IN (SELECT interaction_id FROM temp.expired);
                DELETE FROM interactions WHERE seq IN (SELECT seq FROM temp.expired);
                SELECT COUNT(*) FROM temp.expired;
                """;
            command.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$max", max);
            return Convert.ToInt32(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    public Task<long> CountAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM interactions";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, cancellationToken);
}

/// <summary>The parts of an interaction no query filters on, stored as one document.</summary>
internal sealed record InteractionBody(
    IReadOnlyList<PersonIdentifier> Identifiers,
    string ContentId,
    string RecommendationId,
    int Rating,
    string Comment,
    Money? Value,
    IReadOnlyDictionary<string, string> Properties)
{
    public static InteractionBody From(Interaction interaction) =>
        new(interaction.Identifiers, interaction.ContentId, interaction.RecommendationId, interaction.Rating, interaction.Comment, interaction.Value, interaction.Properties);
}
