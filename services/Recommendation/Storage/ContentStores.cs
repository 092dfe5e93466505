using System.Text.Json;
using Journey.Recommendation.Domain;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Recommendation.Storage;

/// <summary>The library in SQLite: one row per item, the version bumped on every upsert.</summary>
internal sealed class SqliteContentStore : IContentStore
{
    private readonly SqliteDatabase _database;

    public SqliteContentStore([FromKeyedServices(RecommendationModule.Name)] SqliteDatabase database)
    {
        _database = database;
        _database.Migrate([("content-001", "CREATE TABLE contents (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID")]);
    }

    public Task<ContentItem> UpsertAsync(ContentItem item, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var read = connection.CreateCommand();
            read.Transaction = transaction;
            read.CommandText = "SELECT version FROM contents WHERE id = $id";
            read.Parameters.AddWithValue("$id", item.Id);
            var stored = item with { Version = (await read.ExecuteScalarAsync(ct) is long version ? version : 0) + 1 };
            await using var write = connection.CreateCommand();
            write.Transaction = transaction;
            write.CommandText = "INSERT OR REPLACE INTO contents (id, version, body) VALUES ($id, $version, $body)";
            write.Parameters.AddWithValue("$id", stored.Id);
            write.Parameters.AddWithValue("$version", stored.Version);
            write.Parameters.AddWithValue("$body", JsonSerializer.Serialize(stored));
            await write.ExecuteNonQueryAsync(ct);
            return stored;
        }, cancellationToken);

    public Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT body FROM contents WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            return await command.ExecuteScalarAsync(ct) is string body ? JsonSerializer.Deserialize<ContentItem>(body) : null;
        }, cancellationToken);
}

/// <summary>The library in MongoDB.</summary>
internal sealed class MongoContentStore([FromKeyedServices(RecommendationModule.Name)] MongoStore store) : IContentStore
{
    private readonly IMongoCollection<BsonDocument> _contents = store.Database.GetCollection<BsonDocument>("contents");

    public Task<ContentItem> UpsertAsync(ContentItem item, CancellationToken cancellationToken) =>
        store.WriteAsync(async (session, ct) =>
        {
            var current = await _contents.Find(session, new BsonDocument("_id", item.Id)).FirstOrDefaultAsync(ct);
            var stored = item with { Version = (current?["version"].AsInt64 ?? 0) + 1 };
            await _contents.ReplaceOneAsync(session, new BsonDocument("_id", item.Id),
                new BsonDocument { ["_id"] = stored.Id, ["version"] = stored.Version, ["body"] = JsonSerializer.Serialize(stored) },
                new ReplaceOptions { IsUpsert = true }, ct);
            return stored;
        }, cancellationToken);

    public Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken) =>
        store.ReadAsync(async (_, ct) =>
        {
            var document = await _contents.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
            return document is null ? null : JsonSerializer.Deserialize<ContentItem>(document["body"].AsString);
        }, cancellationToken);
}
