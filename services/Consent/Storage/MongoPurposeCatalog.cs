using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Consent.Storage;

/// <summary>Purposes and policy versions in the service's MongoDB database.</summary>
internal sealed class MongoPurposeCatalog : IPurposeCatalog
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _purposes;
    private readonly IMongoCollection<BsonDocument> _versions;

    public MongoPurposeCatalog([FromKeyedServices(ConsentModule.Name)] MongoStore store)
    {
        _store = store;
        _purposes = store.Database.GetCollection<BsonDocument>("purposes");
        _versions = store.Database.GetCollection<BsonDocument>("policy_versions");
    }

    public async Task CreatePurposeAsync(Purpose purpose, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteAsync(async (session, ct) =>
            {
                await _purposes.InsertOneAsync(session, ToDocument(purpose), cancellationToken: ct);
                return 0;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new AlreadyExistsException("Purpose", ConsentNames.Purpose(purpose.Id));
        }
    }

    public Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken) =>
        _store.FindOneAsync(_purposes, new BsonDocument("_id", id), FromDocument, cancellationToken);

    public Task<IReadOnlyList<Purpose>> ListPurposesAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<Purpose>>(async (_, ct) =>
        {
            var documents = await _purposes.Find(new BsonDocument("_id", new BsonDocument("$gt", afterId)))
                .Sort(new BsonDocument("_id", 1)).Limit(limit).ToListAsync(ct);
            return documents.Select(FromDocument).ToList();
        }, cancellationToken);

    public async Task UpdatePurposeAsync(Purpose purpose, CancellationToken cancellationToken)
    {
        var outcome = await _store.WriteAsync(async (session, ct) =>
        {
            var filter = new BsonDocument { ["_id"] = purpose.Id, ["version"] = purpose.Version - 1 };
            var result = await _purposes.ReplaceOneAsync(session, filter, ToDocument(purpose), cancellationToken: ct);
            if (result.MatchedCount == 1)
            {
                return 1;
            }

            return await _purposes.Find(session, new BsonDocument("_id", purpose.Id)).AnyAsync(ct) ? -1 : 0;
        }, cancellationToken);
        if (outcome == 0)
        {
            throw new NotFoundException("Purpose", ConsentNames.Purpose(purpose.Id));
        }

        if (outcome < 0)
        {
            throw new ConcurrencyConflictException("Purpose", ConsentNames.Purpose(purpose.Id));
        }
    }

    public async Task<PolicyVersion> CreatePolicyVersionAsync(string text, string sha256, DateTimeOffset now, Func<int, RequestClaim>? request, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.WriteAsync(async (session, ct) =>
            {
                var latest = await _versions.Find(session, new BsonDocument()).Sort(new BsonDocument("_id", -1)).Limit(1).FirstOrDefaultAsync(ct);
                var version = latest is null ? 1 : latest["_id"].AsInt32 + 1;
                await _versions.InsertOneAsync(session, new BsonDocument
                {
                    ["_id"] = version,
                    ["text"] = text,
                    ["sha256"] = sha256,
                    ["created_at"] = now.ToUnixTimeMilliseconds(),
                }, cancellationToken: ct);
                await MongoRequestClaims.ClaimAsync(session, _store.Database, request?.Invoke(version), ct);
                return new PolicyVersion(version, text, sha256, now);
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            // Another replica took the same number at the same moment.
            throw new ConcurrencyConflictException("Policy version", "next");
        }
    }

    public Task<PolicyVersion?> GetPolicyVersionAsync(int version, CancellationToken cancellationToken) =>
        _store.FindOneAsync(
            _versions,
            new BsonDocument("_id", version),
            document => new PolicyVersion(version, document["text"].AsString, document["sha256"].AsString, DateTimeOffset.FromUnixTimeMilliseconds(document["created_at"].AsInt64)),
            cancellationToken);

    public Task<IReadOnlyList<PolicyVersion>> ListPolicyVersionsAsync(int afterVersion, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<PolicyVersion>>(async (_, ct) =>
        {
            var documents = await _versions.Find(new BsonDocument("_id", new BsonDocument("$gt", afterVersion)))
                .Project(new BsonDocument("text", 0)).Sort(new BsonDocument("_id", 1)).Limit(limit).ToListAsync(ct);
            return documents.Select(d => new PolicyVersion(d["_id"].AsInt32, "", d["sha256"].AsString, DateTimeOffset.FromUnixTimeMilliseconds(d["created_at"].AsInt64))).ToList();
        }, cancellationToken);

    public Task<int> LatestPolicyVersionAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var latest = await _versions.Find(new BsonDocument()).Project(new BsonDocument("_id", 1)).Sort(new BsonDocument("_id", -1)).Limit(1).FirstOrDefaultAsync(ct);
            return latest is null ? 0 : latest["_id"].AsInt32;
        }, cancellationToken);

    private static BsonDocument ToDocument(Purpose purpose) => new()
    {
        ["_id"] = purpose.Id,
        ["description"] = purpose.Description,
        ["legal_basis"] = (int)purpose.LegalBasis,
        ["channels"] = purpose.Channels.Bits,
        ["default_decision"] = (int)purpose.Default,
        ["validity_ms"] = purpose.Validity is { } validity ? (BsonValue)(long)validity.TotalMilliseconds : BsonNull.Value,
        ["minimum_policy_version"] = purpose.MinimumPolicyVersion,
        ["version"] = purpose.Version,
        ["created_at"] = purpose.CreatedAt.ToUnixTimeMilliseconds(),
        ["updated_at"] = purpose.UpdatedAt.ToUnixTimeMilliseconds(),
    };

    private static Purpose FromDocument(BsonDocument d) => new(
        d["_id"].AsString,
        d["description"].AsString,
        (LegalBasis)d["legal_basis"].AsInt32,
        new ChannelMask(d["channels"].AsInt32),
        (DefaultDecision)d["default_decision"].AsInt32,
        d["validity_ms"].IsBsonNull ? null : TimeSpan.FromMilliseconds(d["validity_ms"].AsInt64),
        d["minimum_policy_version"].AsInt32,
        d["version"].AsInt64,
        DateTimeOffset.FromUnixTimeMilliseconds(d["created_at"].AsInt64),
        DateTimeOffset.FromUnixTimeMilliseconds(d["updated_at"].AsInt64));
}
