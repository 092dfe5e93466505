using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Profile.Storage;

/// <summary>Segment definitions and members in the service's MongoDB database.</summary>
internal sealed class MongoSegmentStore : ISegmentStore
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _segments;
    private readonly IMongoCollection<BsonDocument> _members;

    public MongoSegmentStore([FromKeyedServices(ProfileModule.Name)] MongoStore store)
    {
        _store = store;
        _segments = store.Database.GetCollection<BsonDocument>(ProfileMongoSchema.Segments);
        _members = store.Database.GetCollection<BsonDocument>(ProfileMongoSchema.Members);
        store.Indexes.Declare(ProfileMongoSchema.Indexes);
    }

    public Task CreateAsync(Segment segment, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            try
            {
                await _segments.InsertOneAsync(session, new BsonDocument
                {
                    ["_id"] = segment.Id,
                    ["display_name"] = segment.DisplayName,
                    ["rule"] = RuleDocument.Serialize(segment.Rule),
                    ["created_at"] = segment.CreatedAt.ToUnixTimeMilliseconds(),
                }, cancellationToken: ct);
            }
            catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
            {
                throw new AlreadyExistsException("Segment", "segments/" + segment.Id);
            }

            return 0;
        }, cancellationToken);

    public Task<Segment?> GetAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var row = await _segments.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
            return row is null ? null : ToDomain(row);
        }, cancellationToken);

    public async Task<Page<Segment>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        var rows = await _store.ReadAsync(async (_, ct) =>
            await _segments.Find(new BsonDocument("_id", new BsonDocument("$gt", after))).Sort(new BsonDocument("_id", 1)).Limit(pageSize + 1).ToListAsync(ct), cancellationToken);
        var page = rows.Take(pageSize).Select(ToDomain).ToList();
        return new Page<Segment>(page, rows.Count > pageSize ? PageTokens.Encode(page[^1].Id) : "");
    }

    public Task<IReadOnlyList<Segment>> ListAllAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<Segment>>(async (_, ct) =>
            (await _segments.Find(FilterDefinition<BsonDocument>.Empty).Sort(new BsonDocument("_id", 1)).ToListAsync(ct)).Select(ToDomain).ToList(), cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            await _members.DeleteManyAsync(session, new BsonDocument("segment_id", id), cancellationToken: ct);
            return (await _segments.DeleteOneAsync(session, new BsonDocument("_id", id), cancellationToken: ct)).DeletedCount == 1;
        }, cancellationToken);

    public async Task<Page<string>> ListMembersAsync(string segmentId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        var rows = await _store.ReadAsync(async (_, ct) =>
            await _members.Find(new BsonDocument { ["segment_id"] = segmentId, ["profile_id"] = new BsonDocument("$gt", after) })
                .Sort(new BsonDocument("profile_id", 1)).Limit(pageSize + 1).ToListAsync(ct), cancellationToken);
        var page = rows.Take(pageSize).Select(r => r["profile_id"].AsString).ToList();
        return new Page<string>(page, rows.Count > pageSize ? PageTokens.Encode(page[^1]) : "");
    }

    private static Segment ToDomain(BsonDocument row) =>
        new(row["_id"].AsString, row["display_name"].AsString, RuleDocument.Deserialize(row["rule"].AsString), ProfileDocument.Time(row["created_at"].ToInt64()));
}
