using Journey.Recommendation.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Recommendation.Storage.SqliteSchema;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Recommendation.Storage;

internal sealed class SqliteContentLibrary([FromKeyedServices(RecommendationModule.Name)] SqliteDatabase db) : IContentLibrary
{
    private readonly SqliteDatabase _db = db.Migrated(Migrations);

    public Task SaveAsync(ContentItem item, long storedVersion, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            var parameters = new (string, object?)[] { ("$id", item.Id), ("$doc", Json.Write(ContentDocument.From(item))), ("$kind", (int)item.Kind), ("$retired", item.Retired ? 1 : 0), ("$version", item.Version), ("$stored", storedVersion) };
            if (storedVersion == 0)
            {
                try
                {
                    await ExecuteAsync(connection, tx, "INSERT INTO contents (id, doc, kind, retired, version) VALUES ($id, $doc, $kind, $retired, $version)", ct, parameters);
                }
                catch (SqliteException ex) when (IsUniqueViolation(ex))
                {
                    throw new ConcurrencyConflictException("Content", item.Name);
                }
            }
            else if (await ExecuteAsync(connection, tx, "UPDATE contents SET doc = $doc, kind = $kind, retired = $retired, version = $version WHERE id = $id AND version = $stored", ct, parameters) == 0)
            {
                throw new ConcurrencyConflictException("Content", item.Name);
            }

            return 0;
        }, cancellationToken);

    public Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT doc FROM contents WHERE id = $id", ("$id", id));
            return await command.ExecuteScalarAsync(ct) is string doc ? Json.Read<ContentDocument>(doc).ToDomain() : null;
        }, cancellationToken);

    public Task<IReadOnlyList<ContentItem>> ListAsync(ContentFilter filter, string afterId, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<ContentItem>>(async (connection, ct) =>
        {
            var sql = "SELECT doc FROM contents WHERE id > $after";
            if (!filter.IncludeRetired)
            {
                sql += " AND retired = 0";
            }

            if (filter.Kind != ContentKind.Unspecified)
            {
                sql += " AND kind = $kind";
            }

            if (filter.Channel != ChannelKind.Unspecified)
            {
                sql += " AND EXISTS (SELECT 1 FROM json_each(doc, '$.channels') WHERE value = $channel)";
            }

            if (filter.Stage != Stage.Unspecified)
            {
                sql += " AND EXISTS (SELECT 1 FROM json_each(doc, '$.stages') WHERE json_extract(value, '$.stage') = $stage)";
            }

            if (filter.Topic.Length > 0)
            {
                sql += " AND EXISTS (SELECT 1 FROM json_each(doc, '$.topics') WHERE value = $topic)";
            }

            await using var command = Command(connection, null, sql + " ORDER BY id LIMIT $limit",
                ("$after", afterId), ("$kind", (int)filter.Kind), ("$channel", (int)filter.Channel), ("$stage", (int)filter.Stage), ("$topic", filter.Topic), ("$limit", limit));
            return await ReadItemsAsync(command, ct);
        }, cancellationToken);

    public Task<IReadOnlyList<ContentItem>> ReadActiveAsync(CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<ContentItem>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT doc FROM contents WHERE retired = 0");
            return await ReadItemsAsync(command, ct);
        }, cancellationToken);

    private static async Task<IReadOnlyList<ContentItem>> ReadItemsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var items = new List<ContentItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Json.Read<ContentDocument>(reader.GetString(0)).ToDomain());
        }

        return items;
    }
}
