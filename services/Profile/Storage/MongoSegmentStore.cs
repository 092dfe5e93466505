using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Profile.Storage;

/// <summary>
/// Segment definitions and members in the service's MongoDB database. Members are a read model of the
/// profiles (each profile lists its segments, and a segment's creation backfills them), so a segment's
/// members are deleted after its definition in chunks outside any transaction: all of a large segment's
/// members in one transaction outgrow MongoDB's cache share for a transaction (TransactionTooLargeForCache).
/// </summary>
internal sealed class MongoSegmentStore : ISegmentStore
{
    /// <summary>Members deleted by one statement.</summary>
    internal const int MemberChunk = 1000;

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

    public async Task CreateAsync(Segment segment, CancellationToken cancellationToken)
    {
        // A deletion of this id that stopped between its definition and its last members left them behind.
        if (await GetAsync(segment.Id, cancellationToken) is null)
        {
            await DeleteMembersAsync(segment.Id, cancellationToken);
        }

        await _store.WriteAsync(async (session, ct) =>
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
    }

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

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var deleted = await _store.WriteAsync(
            async (session, ct) => (await _segments.DeleteOneAsync(session, new BsonDocument("_id", id), cancellationToken: ct)).DeletedCount == 1, cancellationToken);
        await DeleteMembersAsync(id, cancellationToken);
        return deleted;
    }

    public async Task<Page<string>> ListMembersAsync(string segmentId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        var rows = await _store.ReadAsync(async (_, ct) =>
            await _members.Find(new BsonDocument { ["segment_id"] = segmentId, ["profile_id"] = new BsonDocument("$gt", after) })
                .Sort(new BsonDocument("profile_id", 1)).Limit(pageSize + 1).ToListAsync(ct), cancellationToken);
        var page = rows.Take(pageSize).Select(r => r["profile_id"].AsString).ToList();
        return new Page<string>(page, rows.Count > pageSize ? PageTokens.Encode(page[^1]) : "");
    }

    /// <summary>
    /// Deletes the segment's members, <see cref="MemberChunk"/> at a time, each chunk on its own (the
    /// segment_id index finds them); returns how many went.
    /// </summary>
    private Task<long> DeleteMembersAsync(string segmentId, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            long deleted = 0;
            while (true)
            {
                var chunk = await _members.Find(new BsonDocument("segment_id", segmentId)).Project(new BsonDocument("_id", 1)).Limit(MemberChunk).ToListAsync(ct);
                if (chunk.Count == 0)
                {
                    return deleted;
                }

                deleted += (await _members.DeleteManyAsync(new BsonDocument("_id", new BsonDocument("$in", new BsonArray(chunk.Select(d => d["_id"])))), ct)).DeletedCount;
            }
        }, cancellationToken);

    private static Segment ToDomain(BsonDocument row) =>
        new(row["_id"].AsString, row["display_name"].AsString, RuleDocument.Deserialize(row["rule"].AsString), ProfileDocument.Time(row["created_at"].ToInt64()));
}
