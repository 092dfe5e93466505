using Journey.Consent.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Consent.Storage;

/// <summary>
/// The ledger's checkpoints in the service's MongoDB database. A checkpoint and the heads it newly
/// covers are written in one transaction that inserts the checkpoint under its number, so two
/// replicas making the same checkpoint at once cannot both succeed and mix their heads.
/// </summary>
internal sealed class MongoConsentCheckpoints : IConsentCheckpointStore
{
    private const string HeadsCollection = "checkpoint_heads";
    private readonly MongoStore _store;
    private readonly IMongoCollection<BsonDocument> _checkpoints;
    private readonly IMongoCollection<BsonDocument> _heads;
    private readonly IMongoCollection<BsonDocument> _subjects;
    private readonly IMongoCollection<BsonDocument> _records;

    public MongoConsentCheckpoints([FromKeyedServices(ConsentModule.Name)] MongoStore store)
    {
        _store = store;
        _checkpoints = store.Database.GetCollection<BsonDocument>("checkpoints");
        _heads = store.Database.GetCollection<BsonDocument>(HeadsCollection);
        _subjects = store.Database.GetCollection<BsonDocument>("subjects");
        _records = store.Database.GetCollection<BsonDocument>("records");
        store.Indexes.Declare(Indexes);
    }

    /// <summary>The covered heads by bucket, so checking one subject reads one bucket. Records are read through the ledger's unique (subject, sequence) index.</summary>
    internal static IReadOnlyList<MongoIndex> Indexes { get; } = [new(HeadsCollection, new BsonDocument("bucket", 1)) { Name = "bucket" }];

    public Task<LedgerCheckpoint?> GetLatestAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var document = await _checkpoints.Find(new BsonDocument()).Sort(new BsonDocument("_id", -1)).Limit(1).FirstOrDefaultAsync(ct);
            return document is null ? null : FromDocument(document);
        }, cancellationToken);

    public Task<LedgerCheckpoint?> GetAsync(long number, CancellationToken cancellationToken) =>
        _store.FindOneAsync(_checkpoints, new BsonDocument("_id", number), FromDocument, cancellationToken);

    public Task<IReadOnlyList<LedgerCheckpoint>> ListAsync(long beforeNumber, int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<LedgerCheckpoint>>(async (_, ct) =>
        {
            var documents = await _checkpoints.Find(new BsonDocument("_id", new BsonDocument("$lt", beforeNumber))).Sort(new BsonDocument("_id", -1)).Limit(limit).ToListAsync(ct);
            return [.. documents.Select(FromDocument)];
        }, cancellationToken);

    // Subjects and covered heads are both read in _id order (the subject id; MongoDB compares
    // strings bytewise, as ordinal comparison does) and joined as they stream, so memory holds one
    // batch of each rather than every head.
    public Task<IReadOnlyList<HeadChange>> FindChangedHeadsAsync(int limit, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<HeadChange>>(async (_, ct) =>
        {
            var changes = new List<HeadChange>();
            using var subjects = await _subjects.Find(new BsonDocument("chain_length", new BsonDocument("$gt", 0)))
                .Sort(new BsonDocument("_id", 1)).Project(new BsonDocument { ["chain_length"] = 1, ["head_hash"] = 1 }).ToCursorAsync(ct);
            using var heads = await _heads.Find(new BsonDocument()).Sort(new BsonDocument("_id", 1)).ToCursorAsync(ct);
            var covered = new SortedCursor(heads);
            while (changes.Count < limit && await subjects.MoveNextAsync(ct))
            {
                foreach (var row in subjects.Current)
                {
                    var id = row["_id"].AsString;
                    var head = new ChainHead(row["chain_length"].ToInt64(), row["head_hash"].AsString);
                    var leaf = await covered.SeekAsync(id, ct);
                    if (leaf is not null && leaf["length"].ToInt64() == head.Length && leaf["hash"].AsString == head.Hash)
                    {
                        continue;
                    }

                    var subject = Guid.Parse(id);
                    changes.Add(new HeadChange(subject, head, leaf is null ? null : new CheckpointLeaf(subject, leaf["length"].ToInt64(), leaf["hash"].AsString)));
                    if (changes.Count == limit)
                    {
                        break;
                    }
                }
            }

            return changes;
        }, cancellationToken);

    public Task<string?> GetRecordHashAsync(Guid subject, long sequence, CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var row = await _records.Find(new BsonDocument { ["subject"] = subject.ToString(), ["sequence"] = sequence })
                .Project(new BsonDocument("hash", 1)).FirstOrDefaultAsync(ct);
            return row?["hash"].AsString;
        }, cancellationToken);

    public Task<IReadOnlyList<CheckpointLeaf>> ReadBucketAsync(int bucket, CancellationToken cancellationToken) =>
        _store.ReadAsync<IReadOnlyList<CheckpointLeaf>>(async (_, ct) =>
        {
            var rows = await _heads.Find(new BsonDocument("bucket", bucket)).ToListAsync(ct);
            return [.. rows.Select(r => new CheckpointLeaf(Guid.Parse(r["_id"].AsString), r["length"].ToInt64(), r["hash"].AsString))];
        }, cancellationToken);

    public Task<(long Subjects, long Records)> CountCoveredAsync(CancellationToken cancellationToken) =>
        _store.ReadAsync(async (_, ct) =>
        {
            var group = new BsonDocument("$group", new BsonDocument { ["_id"] = BsonNull.Value, ["subjects"] = new BsonDocument("$sum", 1), ["records"] = new BsonDocument("$sum", "$length") });
            var total = await _heads.Aggregate<BsonDocument>(new[] { group }, cancellationToken: ct).FirstOrDefaultAsync(ct);
            return total is null ? (0L, 0L) : (total["subjects"].ToInt64(), total["records"].ToInt64());
        }, cancellationToken);

    public async Task SaveAsync(LedgerCheckpoint checkpoint, IReadOnlyList<CheckpointLeaf> covered, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteAsync(async (session, ct) =>
            {
                await _checkpoints.InsertOneAsync(session, ToDocument(checkpoint), cancellationToken: ct);
                if (covered.Count > 0)
                {
                    await _heads.BulkWriteAsync(session, covered.Select(HeadUpsert), cancellationToken: ct);
                }

                await _checkpoints.UpdateManyAsync(session,
                    new BsonDocument { ["_id"] = new BsonDocument("$lt", checkpoint.Number), ["bucket_hashes"] = new BsonDocument("$ne", BsonNull.Value) },
                    new BsonDocument("$set", new BsonDocument("bucket_hashes", BsonNull.Value)), cancellationToken: ct);
                return 0;
            }, cancellationToken);
        }
        catch (Exception ex) when (MongoStore.IsDuplicateKey(ex))
        {
            throw new ConcurrencyConflictException("Checkpoint", LedgerCheckpoints.Name(checkpoint.Number));
        }
    }

    private static ReplaceOneModel<BsonDocument> HeadUpsert(CheckpointLeaf leaf)
    {
        var id = leaf.Subject.ToString();
        var document = new BsonDocument { ["_id"] = id, ["bucket"] = leaf.Bucket, ["length"] = leaf.Length, ["hash"] = leaf.Hash };
        return new ReplaceOneModel<BsonDocument>(new BsonDocument("_id", id), document) { IsUpsert = true };
    }

    private static BsonDocument ToDocument(LedgerCheckpoint checkpoint) => new()
    {
        ["_id"] = checkpoint.Number,
        ["created_at"] = checkpoint.CreatedAt.ToUnixTimeMilliseconds(),
        ["subjects"] = checkpoint.Subjects,
        ["records"] = checkpoint.Records,
        ["root"] = checkpoint.Root,
        ["previous"] = checkpoint.PreviousStatementHash,
        ["key_id"] = checkpoint.KeyId,
        ["signature"] = new BsonBinaryData(checkpoint.Signature),
        ["bucket_hashes"] = checkpoint.BucketHashes is { } buckets ? new BsonBinaryData(buckets) : BsonNull.Value,
    };

    private static LedgerCheckpoint FromDocument(BsonDocument d) => new(
        d["_id"].ToInt64(), DateTimeOffset.FromUnixTimeMilliseconds(d["created_at"].ToInt64()), d["subjects"].ToInt64(), d["records"].ToInt64(), d["root"].AsString,
        d["previous"].AsString, d["key_id"].AsString, d["signature"].AsBsonBinaryData.Bytes, d["bucket_hashes"].IsBsonNull ? null : d["bucket_hashes"].AsBsonBinaryData.Bytes);

    /// <summary>Walks a cursor sorted by string <c>_id</c>, answering "the document with this id, if any" for ids asked in ascending order.</summary>
    private sealed class SortedCursor(IAsyncCursor<BsonDocument> cursor)
    {
        private IEnumerator<BsonDocument>? _batch;
        private BsonDocument? _current;
        private bool _done;

        public async Task<BsonDocument?> SeekAsync(string id, CancellationToken ct)
        {
            while (true)
            {
                if (_current is null && !await AdvanceAsync(ct))
                {
                    return null;
                }

                var order = string.CompareOrdinal(_current!["_id"].AsString, id);
                if (order == 0)
                {
                    return _current;
                }

                if (order > 0)
                {
                    return null;
                }

                _current = null;
            }
        }

        private async Task<bool> AdvanceAsync(CancellationToken ct)
        {
            while (!_done)
            {
                if (_batch is not null && _batch.MoveNext())
                {
                    _current = _batch.Current;
                    return true;
                }

                if (!await cursor.MoveNextAsync(ct))
                {
                    _done = true;
                    break;
                }

                _batch = cursor.Current.GetEnumerator();
            }

            return false;
        }
    }
}
