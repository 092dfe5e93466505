using System.Text.Json;
using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Consent.Storage;

/// <summary>Purposes and the ledger in MongoDB; records are inserted, never updated.</summary>
internal sealed class MongoConsentLedger : IConsentLedger
{
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _purposes;
    private readonly IMongoCollection<BsonDocument> _subjects;
    private readonly IMongoCollection<BsonDocument> _records;

    public MongoConsentLedger([FromKeyedServices(ConsentModule.Name)] MongoStore store)
    {
        _store = store;
        _purposes = store.Database.GetCollection<BsonDocument>("purposes");
        _subjects = store.Database.GetCollection<BsonDocument>("subject_identifiers");
        _records = store.Database.GetCollection<BsonDocument>("records");
        _records.Indexes.CreateOne(new CreateIndexModel<BsonDocument>(
            Builders<BsonDocument>.IndexKeys.Ascending("subject_id").Ascending("purpose_id").Descending("sequence")));
        _records.Indexes.CreateOne(new CreateIndexModel<BsonDocument>(
            Builders<BsonDocument>.IndexKeys.Ascending("subject_id").Descending("sequence"), new CreateIndexOptions { Unique = true }));
    }

    public Task InsertPurposeAsync(Purpose purpose, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            if (await _purposes.Find(session, new BsonDocument("_id", purpose.Id)).AnyAsync(ct))
            {
                throw new AlreadyExistsException("Purpose", $"purposes/{purpose.Id}");
            }

            await _purposes.InsertOneAsync(session, new BsonDocument { ["_id"] = purpose.Id, ["body"] = JsonSerializer.Serialize(purpose) }, cancellationToken: ct);
            return 0;
        }, cancellationToken);

    public Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var document = await _purposes.Find(new BsonDocument("_id", id)).FirstOrDefaultAsync(ct);
            return document is null ? null : JsonSerializer.Deserialize<Purpose>(document["body"].AsString);
        }, cancellationToken);

    public Task<string?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken) =>
        _store.ReadAsync((_, ct) => FindSubjectAsync(null, identifiers, ct), cancellationToken);

    public Task<ConsentRecord> AppendAsync(IReadOnlyList<SubjectIdentifier> identifiers, string newSubjectId, Func<string, ConsentRecord?, (ConsentRecord Record, OutboxMessage Changed)> build, CancellationToken cancellationToken) =>
        _store.WriteAsync(async (session, ct) =>
        {
            var subjectId = await FindSubjectAsync(session, identifiers, ct) ?? newSubjectId;
            foreach (var identifier in identifiers)
            {
                var key = Key(identifier);
                if (!await _subjects.Find(session, new BsonDocument("_id", key)).AnyAsync(ct))
                {
                    await _subjects.InsertOneAsync(session, new BsonDocument { ["_id"] = key, ["subject_id"] = subjectId }, cancellationToken: ct);
                }
            }

            var last = await _records.Find(session, new BsonDocument("subject_id", subjectId)).Sort(new BsonDocument("sequence", -1)).FirstOrDefaultAsync(ct);
            var (record, changed) = build(subjectId, last is null ? null : JsonSerializer.Deserialize<ConsentRecord>(last["body"].AsString));
            await _records.InsertOneAsync(session, new BsonDocument
            {
                ["subject_id"] = record.SubjectId,
                ["sequence"] = record.Sequence,
                ["purpose_id"] = record.PurposeId,
                ["body"] = JsonSerializer.Serialize(record),
                ["hash"] = record.Hash,
            }, cancellationToken: ct);
            await MongoOutbox.AppendAsync(session, _store.Database, [changed], ct);
            return record;
        }, cancellationToken);

    public Task<ConsentRecord?> LatestAsync(string subjectId, string purposeId, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var document = await _records.Find(new BsonDocument { ["subject_id"] = subjectId, ["purpose_id"] = purposeId }).Sort(new BsonDocument("sequence", -1)).FirstOrDefaultAsync(ct);
            return document is null ? null : JsonSerializer.Deserialize<ConsentRecord>(document["body"].AsString);
        }, cancellationToken);

    private async Task<string?> FindSubjectAsync(IClientSessionHandle? session, IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken ct)
    {
        foreach (var identifier in identifiers)
        {
            var filter = new BsonDocument("_id", Key(identifier));
            var found = session is null ? await _subjects.Find(filter).FirstOrDefaultAsync(ct) : await _subjects.Find(session, filter).FirstOrDefaultAsync(ct);
            if (found is not null)
            {
                return found["subject_id"].AsString;
            }
        }

        return null;
    }

    private static string Key(SubjectIdentifier identifier) => $"{(int)identifier.Kind}:{identifier.Value}";
}
