using Journey.Recommendation.Domain;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Recommendation.Storage.SqliteSchema;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Recommendation.Storage;

internal sealed class SqliteAudienceStore([FromKeyedServices(RecommendationModule.Name)] SqliteDatabase db) : IAudienceStore
{
    private readonly SqliteDatabase _db = db.Migrated(Migrations);

    /// <summary>Recommendation records go <paramref name="retention"/> after they were made, as MongoDB's TTL index does.</summary>
    internal static SqliteRetentionRule RecommendationRetention(TimeSpan retention) => new(
        "recommendation records",
        "SELECT json_group_array(id) FROM (SELECT id FROM recommendations WHERE created_at < $cutoff LIMIT $max)",
        "DELETE FROM recommendations WHERE id IN (SELECT value FROM json_each($keys)) AND created_at < $cutoff",
        now => (now - retention).UtcTicks);

    /// <summary>A day's impression counts go once <see cref="MongoAudienceStore.ImpressionRetention"/> has passed since it ended: only today's are read.</summary>
    internal static SqliteRetentionRule ImpressionRetention { get; } = new(
        "impression counts",
        "SELECT json_group_array(json_array(person_key, day, content)) FROM (SELECT person_key, day, content FROM impressions WHERE day < $cutoff LIMIT $max)",
        """
        DELETE FROM impressions
        WHERE (person_key, day, content) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each($keys))
            AND day < $cutoff
        """,
        now => DateOnly.FromDateTime((now - MongoAudienceStore.ImpressionRetention).UtcDateTime).DayNumber);

    public Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            var touchpoint = await Session.ReadTouchpointAsync(connection, null, touchpointId, ct);
            var person = await Session.ReadPersonAsync(connection, null, identifierKeys, ct);
            var impressions = new Dictionary<string, int>(StringComparer.Ordinal);
            var personKey = person?.Key ?? (identifierKeys.Count > 0 ? identifierKeys[0] : null);
            if (personKey is not null)
            {
                await using var command = Command(connection, null, "SELECT content, count FROM impressions WHERE person_key = $key AND day = $day", ("$key", personKey), ("$day", day.DayNumber));
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    impressions[reader.GetString(0)] = reader.GetInt32(1);
                }
            }

            return new AudienceContext(touchpoint, person, impressions);
        }, cancellationToken);

    public Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<AlsoConsumed>>(async (connection, ct) =>
        {
            var rows = new List<AlsoConsumed>();
            await using var command = Command(connection, null, "SELECT b, count FROM co_consumption WHERE a = $a ORDER BY count DESC, b LIMIT $limit", ("$limit", perSeed));
            var seed = command.Parameters.AddWithValue("$a", "");
            foreach (var id in seedIds)
            {
                seed.Value = id;
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    rows.Add(new AlsoConsumed(id, reader.GetString(0), reader.GetInt64(1)));
                }
            }

            return rows;
        }, cancellationToken);

    public Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            await using var insert = Command(connection, tx, "INSERT INTO recommendations (id, person_key, stage, experiment, variant, contents, created_at) VALUES ($id, $person, $stage, $experiment, $variant, $contents, $at)");
            var (id, person, stage, experiment, variant, contents, at) = (
                insert.Parameters.Add("$id", SqliteType.Text), insert.Parameters.Add("$person", SqliteType.Text), insert.Parameters.Add("$stage", SqliteType.Integer),
                insert.Parameters.Add("$experiment", SqliteType.Text), insert.Parameters.Add("$variant", SqliteType.Text), insert.Parameters.Add("$contents", SqliteType.Text),
                insert.Parameters.Add("$at", SqliteType.Integer));
            foreach (var record in records)
            {
                (id.Value, person.Value, stage.Value, experiment.Value, variant.Value, contents.Value, at.Value) =
                    (record.Id, record.PersonKey, (int)record.Stage, record.ExperimentId, record.Variant, Json.Write(record.ContentIds), record.CreatedAt.UtcTicks);
                await insert.ExecuteNonQueryAsync(ct);
            }

            using var session = new Session(_db, connection, tx);
            foreach (var counts in IssuedCounts.Of(records))
            {
                await session.AddVariantCountsAsync(counts.Experiment, counts.Counts, ct);
            }

            return 0;
        }, cancellationToken);

    public Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT person_key, stage, experiment, variant, contents, created_at FROM recommendations WHERE id = $id", ("$id", id));
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct)
                ? new RecommendationRecord(id, reader.GetString(0), (Stage)reader.GetInt32(1), reader.GetString(2), reader.GetString(3), Json.Read<List<string>>(reader.GetString(4)), new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero))
                : null;
        }, cancellationToken);

    public Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            var rows = new List<ItemStats>();
            var next = cursor;
            await using var command = Command(connection, null, "SELECT content, stage, impressions, clicks, conversions, seq FROM item_stats WHERE seq > $after ORDER BY seq", ("$after", cursor));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new ItemStats(reader.GetString(0), (Stage)reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
                next = reader.GetInt64(5);
            }

            return new ItemStatsChanges(rows, next);
        }, cancellationToken);

    public Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<VariantCounts>>(async (connection, ct) =>
        {
            var rows = new List<VariantCounts>();
            await using var command = Command(connection, null, "SELECT variant, recommendations, impressions, clicks, conversions FROM variant_counts WHERE experiment = $e ORDER BY variant", ("$e", experimentId));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(new VariantCounts(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
            }

            return rows;
        }, cancellationToken);

    public Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            // The person and identifier indexes take random keys: a larger page cache on the writer
            // keeps their inner pages resident across batches.
            await ExecuteAsync(connection, tx, "PRAGMA cache_size=-65536", ct);
            using var session = new Session(_db, connection, tx);
            return await work(session, ct);
        }, cancellationToken);

    /// <summary>
    /// One write transaction. The statements of the event paths are prepared once per transaction and
    /// rebound per event: preparing costs more than running them. Identifier links already stored for a
    /// person read or written in this transaction are not rewritten (they sit on random keys, the
    /// dearest writes of the path).
    /// </summary>
    private sealed class Session(SqliteDatabase database, SqliteConnection connection, SqliteTransaction tx) : IAudienceSession, IDisposable
    {
        private readonly Dictionary<string, HashSet<string>> _linked = new(StringComparer.Ordinal);
        private SqliteCommand? _claim;
        private SqliteCommand? _find;
        private SqliteCommand? _savePerson;
        private SqliteCommand? _link;

        public async Task<bool> TryClaimAsync(string consumer, string eventId, DateTimeOffset now, CancellationToken cancellationToken)
        {
            // The same row SqliteInbox.TryClaimAsync writes, through one prepared statement.
            _claim ??= Prepare("INSERT OR IGNORE INTO inbox (consumer, event_id, received_at) VALUES ($consumer, $id, $at)", "$consumer", "$id", "$at");
            _claim.Parameters[0].Value = consumer;
            _claim.Parameters[1].Value = eventId;
            _claim.Parameters[2].Value = now.ToUnixTimeMilliseconds();
            return await _claim.ExecuteNonQueryAsync(cancellationToken) == 1;
        }

        public async Task<PersonState?> FindPersonAsync(IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken)
        {
            _find ??= Prepare(FindPersonSql, "$id");
            var person = await FindPersonAsync(_find, identifierKeys, cancellationToken);
            if (person is not null)
            {
                _linked[person.Key] = [.. person.IdentifierKeys, person.Key];
            }

            return person;
        }

        public async Task SavePersonAsync(PersonState person, CancellationToken cancellationToken)
        {
            _savePerson ??= Prepare("INSERT INTO persons (key, doc) VALUES ($key, $doc) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc", "$key", "$doc");
            _savePerson.Parameters[0].Value = person.Key;
            _savePerson.Parameters[1].Value = Json.Write(PersonDocument.From(person));
            await _savePerson.ExecuteNonQueryAsync(cancellationToken);

            _link ??= Prepare("INSERT INTO person_ids (id, person_key) VALUES ($id, $key) ON CONFLICT (id) DO UPDATE SET person_key = excluded.person_key", "$id", "$key");
            if (!_linked.TryGetValue(person.Key, out var linked))
            {
                _linked[person.Key] = linked = new HashSet<string>(StringComparer.Ordinal);
            }

            _link.Parameters[1].Value = person.Key;
            linked.Add(person.Key);
            foreach (var key in person.IdentifierKeys)
            {
                if (linked.Add(key))
                {
                    _link.Parameters[0].Value = key;
                    await _link.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }

        public void Dispose()
        {
            _claim?.Dispose();
            _find?.Dispose();
            _savePerson?.Dispose();
            _link?.Dispose();
        }

        private SqliteCommand Prepare(string sql, params string[] parameters)
        {
            var command = Command(connection, tx, sql);
            foreach (var name in parameters)
            {
                command.Parameters.Add(name, SqliteType.Text);
            }

            command.Prepare();
            return command;
        }

        public Task<IReadOnlyDictionary<string, DateTimeOffset>> FindErasedAsync(IReadOnlyList<string> tombstoneKeys, CancellationToken cancellationToken) =>
            SqliteErasureTombstones.FindAsync(connection, tx, tombstoneKeys, cancellationToken);

        public async Task RememberErasureAsync(IReadOnlyList<ErasureTombstone> tombstones, DateTimeOffset now, CancellationToken cancellationToken)
        {
            await SqliteErasureTombstones.RememberAsync(connection, tx, tombstones, now, cancellationToken);
            // Written with the erasure's deletions: once this transaction commits, the log's older images of the person go too.
            database.RequestScrub();
        }

        public async Task<long> DeletePersonAsync(string personKey, CancellationToken cancellationToken)
        {
            _linked.Clear();
            var ids = await LinkedIdsAsync(personKey, cancellationToken);
            long count = await ExecuteAsync(connection, tx, "DELETE FROM persons WHERE key = $key", cancellationToken, ("$key", personKey));
            await using (var unlink = Command(connection, tx, "DELETE FROM person_ids WHERE id = $id AND (person_key = $key OR id = $key)", ("$key", personKey)))
            {
                var id = unlink.Parameters.Add("$id", SqliteType.Text);
                foreach (var key in ids)
                {
                    id.Value = key;
                    count += await unlink.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            count += await ExecuteAsync(connection, tx, "DELETE FROM recommendations WHERE person_key = $key", cancellationToken, ("$key", personKey));
            count += await ExecuteAsync(connection, tx, "DELETE FROM impressions WHERE person_key = $key", cancellationToken, ("$key", personKey));
            return count;
        }

        public async Task RekeyAsync(string fromKey, string toKey, CancellationToken cancellationToken)
        {
            _linked.Clear();
            await ExecuteAsync(connection, tx, "UPDATE recommendations SET person_key = $to WHERE person_key = $from", cancellationToken, ("$from", fromKey), ("$to", toKey));
            await ExecuteAsync(connection, tx, """
                INSERT INTO impressions (person_key, day, content, count) SELECT $to, day, content, count FROM impressions WHERE person_key = $from
                ON CONFLICT (person_key, day, content) DO UPDATE SET count = count + excluded.count
                """, cancellationToken, ("$from", fromKey), ("$to", toKey));
            await ExecuteAsync(connection, tx, "DELETE FROM impressions WHERE person_key = $from", cancellationToken, ("$from", fromKey));
            await using var move = Command(connection, tx, "UPDATE person_ids SET person_key = $to WHERE id = $id AND person_key = $from", ("$from", fromKey), ("$to", toKey));
            var id = move.Parameters.Add("$id", SqliteType.Text);
            foreach (var key in await LinkedIdsAsync(fromKey, cancellationToken))
            {
                id.Value = key;
                await move.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        /// <summary>
        /// The identifier keys that can link to <paramref name="personKey"/>: the key itself and those its
        /// document lists (every link is written from it), so links are found by primary key rather than
        /// through a second random-key index on the ingest path.
        /// </summary>
        private async Task<IReadOnlyList<string>> LinkedIdsAsync(string personKey, CancellationToken cancellationToken)
        {
            await using var command = Command(connection, tx, "SELECT doc FROM persons WHERE key = $key", ("$key", personKey));
            var ids = new List<string> { personKey };
            if (await command.ExecuteScalarAsync(cancellationToken) is string doc)
            {
                ids.AddRange(Json.Read<PersonDocument>(doc).Ids.Where(i => i != personKey));
            }

            return ids;
        }

        public Task<TouchpointState?> GetTouchpointAsync(string id, CancellationToken cancellationToken) =>
            ReadTouchpointAsync(connection, tx, id, cancellationToken);

        public Task SaveTouchpointAsync(TouchpointState touchpoint, CancellationToken cancellationToken) =>
            ExecuteAsync(connection, tx, """
                INSERT INTO touchpoints (id, channel, stages, retired, version) VALUES ($id, $channel, $stages, $retired, $version)
                ON CONFLICT (id) DO UPDATE SET channel = excluded.channel, stages = excluded.stages, retired = excluded.retired, version = excluded.version
                """, cancellationToken,
                ("$id", touchpoint.Id), ("$channel", (int)touchpoint.Channel), ("$stages", Json.Write(touchpoint.Stages.Select(s => (int)s))), ("$retired", touchpoint.Retired ? 1 : 0), ("$version", touchpoint.Version));

        public Task AddImpressionAsync(string personKey, string contentId, DateOnly day, CancellationToken cancellationToken) =>
            ExecuteAsync(connection, tx, "INSERT INTO impressions (person_key, day, content, count) VALUES ($key, $day, $content, 1) ON CONFLICT (person_key, day, content) DO UPDATE SET count = count + 1", cancellationToken,
                ("$key", personKey), ("$day", day.DayNumber), ("$content", contentId));

        public Task AddItemStatsAsync(ItemStats delta, CancellationToken cancellationToken) =>
            ExecuteAsync(connection, tx, """
                INSERT INTO item_stats (content, stage, impressions, clicks, conversions, seq) VALUES ($content, $stage, $i, $c, $v, (SELECT COALESCE(MAX(seq), 0) + 1 FROM item_stats))
                ON CONFLICT (content, stage) DO UPDATE SET impressions = impressions + $i, clicks = clicks + $c, conversions = conversions + $v, seq = excluded.seq
                """, cancellationToken,
                ("$content", delta.ContentId), ("$stage", (int)delta.Stage), ("$i", delta.Impressions), ("$c", delta.Clicks), ("$v", delta.Conversions));

        public Task AddVariantCountsAsync(string experimentId, VariantCounts delta, CancellationToken cancellationToken) =>
            ExecuteAsync(connection, tx, """
                INSERT INTO variant_counts (experiment, variant, recommendations, impressions, clicks, conversions) VALUES ($e, $variant, $r, $i, $c, $v)
                ON CONFLICT (experiment, variant) DO UPDATE SET recommendations = recommendations + $r, impressions = impressions + $i, clicks = clicks + $c, conversions = conversions + $v
                """, cancellationToken,
                ("$e", experimentId), ("$variant", delta.Variant), ("$r", delta.Recommendations), ("$i", delta.Impressions), ("$c", delta.Clicks), ("$v", delta.Conversions));

        public Task AddCoConsumptionAsync(string a, string b, CancellationToken cancellationToken) =>
            ExecuteAsync(connection, tx, "INSERT INTO co_consumption (a, b, count) VALUES ($a, $b, 1) ON CONFLICT (a, b) DO UPDATE SET count = count + 1", cancellationToken, ("$a", a), ("$b", b));

        public Task AppendOutboxAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken) =>
            SqliteOutbox.AppendAsync(connection, tx, messages, cancellationToken);

        public static async Task<TouchpointState?> ReadTouchpointAsync(SqliteConnection connection, SqliteTransaction? tx, string id, CancellationToken cancellationToken)
        {
            await using var command = Command(connection, tx, "SELECT channel, stages, retired, version FROM touchpoints WHERE id = $id", ("$id", id));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new TouchpointState(id, (ChannelKind)reader.GetInt32(0), Json.Read<List<int>>(reader.GetString(1)).Select(s => (Stage)s).ToList(), reader.GetInt32(2) == 1, reader.GetInt64(3))
                : null;
        }

        // A person's own key is found in persons itself; only its other identifiers need a link row.
        private const string FindPersonSql = """
            SELECT doc FROM persons WHERE key = $id
            UNION ALL SELECT p.doc FROM person_ids i JOIN persons p ON p.key = i.person_key WHERE i.id = $id
            LIMIT 1
            """;

        public static async Task<PersonState?> ReadPersonAsync(SqliteConnection connection, SqliteTransaction? tx, IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken)
        {
            await using var command = Command(connection, tx, FindPersonSql);
            command.Parameters.Add("$id", SqliteType.Text);
            return await FindPersonAsync(command, identifierKeys, cancellationToken);
        }

        private static async Task<PersonState?> FindPersonAsync(SqliteCommand command, IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken)
        {
            foreach (var key in identifierKeys)
            {
                command.Parameters[0].Value = key;
                if (await command.ExecuteScalarAsync(cancellationToken) is string doc)
                {
                    return Json.Read<PersonDocument>(doc).ToDomain();
                }
            }

            return null;
        }
    }
}
