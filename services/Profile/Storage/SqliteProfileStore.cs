using System.Globalization;
using System.Text.Json;
using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Paging;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Profile.Storage;

/// <summary>The profile service's SQLite schema, shared by its adapters (one file per service).</summary>
internal static class ProfileSqliteSchema
{
    /// <summary>
    /// Profile ids are UUIDv7 (time ordered, so inserts append); identifiers are keyed by (kind, value),
    /// which is both the uniqueness rule and the one index a lookup reads.
    /// </summary>
    public static readonly IReadOnlyList<(string Id, string Sql)> Migrations =
    [
        ("profile-001", """
            CREATE TABLE profiles (id TEXT PRIMARY KEY, version INTEGER NOT NULL, stage INTEGER NOT NULL, document TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX profiles_stage ON profiles (stage);
            CREATE TABLE identifiers (kind INTEGER NOT NULL, value TEXT NOT NULL, profile_id TEXT NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID;
            CREATE INDEX identifiers_profile ON identifiers (profile_id);
            CREATE TABLE profile_aliases (merged_id TEXT PRIMARY KEY, survivor_id TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX profile_aliases_survivor ON profile_aliases (survivor_id);
            CREATE TABLE profile_merges (seq INTEGER PRIMARY KEY AUTOINCREMENT, survivor_id TEXT NOT NULL, merged_id TEXT NOT NULL, linked_by INTEGER NOT NULL, merged_at INTEGER NOT NULL, moved TEXT NOT NULL);
            CREATE INDEX profile_merges_survivor ON profile_merges (survivor_id, seq);
            CREATE TABLE segments (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, rule TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE segment_members (segment_id TEXT NOT NULL, profile_id TEXT NOT NULL, PRIMARY KEY (segment_id, profile_id)) WITHOUT ROWID;
            CREATE INDEX segment_members_profile ON segment_members (profile_id)
            """),
        ("profile-inbox-001", SqliteInbox.Schema),
        ("profile-outbox-001", SqliteOutbox.Schema),
        // Erasure deletes the merges a profile took part in on either side (survivor_id OR merged_id).
        ("profile-merges-002", "CREATE INDEX profile_merges_merged ON profile_merges (merged_id)"),
        ("profile-erasure-tombstones-001", SqliteErasureTombstones.Schema),
        // The merge ledger keeps what undoing a merge needs (both profiles as they were, the ids merged
        // into the merged profile before) until the merge is split; a split edge stays, marked.
        ("profile-merges-003-split", """
            ALTER TABLE profile_merges ADD COLUMN undo TEXT;
            ALTER TABLE profile_merges ADD COLUMN merged_aliases TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE profile_merges ADD COLUMN split_at INTEGER
            """),
    ];
}

/// <summary>Profiles in the service's SQLite file.</summary>
internal sealed class SqliteProfileStore([FromKeyedServices(ProfileModule.Name)] SqliteDatabase db) : IProfileStore
{
    private const int ConstraintViolation = 19;

    private readonly SqliteDatabase _db = db.Migrated(ProfileSqliteSchema.Migrations);

    public Task<IdentitySnapshot> LoadAsync(IReadOnlyCollection<IdentifierKey> identifiers, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            var owners = new Dictionary<IdentifierKey, string>();
            var loaded = new Dictionary<string, CustomerProfile>(StringComparer.Ordinal);
            await using (var command = connection.CreateCommand())
            {
                // One indexed read per identifier brings its owner's document along.
                command.CommandText = "SELECT p.id, p.version, p.document FROM identifiers i JOIN profiles p ON p.id = i.profile_id WHERE i.kind = $kind AND i.value = $value";
                var kind = command.Parameters.Add("$kind", SqliteType.Integer);
                var value = command.Parameters.Add("$value", SqliteType.Text);
                foreach (var key in identifiers)
                {
                    kind.Value = (int)key.Kind;
                    value.Value = key.Value;
                    await using var reader = await command.ExecuteReaderAsync(ct);
                    if (await reader.ReadAsync(ct))
                    {
                        var id = reader.GetString(0);
                        owners[key] = id;
                        if (!loaded.ContainsKey(id))
                        {
                            loaded[id] = ProfileDocument.FromJson(reader.GetString(2)).ToDomain(id, reader.GetInt64(1));
                        }
                    }
                }
            }

            var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT survivor_id FROM profile_aliases WHERE merged_id = $id";
                var id = command.Parameters.Add("$id", SqliteType.Text);
                foreach (var profileId in profileIds)
                {
                    id.Value = profileId;
                    if (await command.ExecuteScalarAsync(ct) is string survivor)
                    {
                        aliases[profileId] = survivor;
                        wanted.Add(survivor);
                    }
                    else
                    {
                        wanted.Add(profileId);
                    }
                }
            }

            wanted.ExceptWith(loaded.Keys);
            var profiles = loaded.Values.Concat(await ReadProfilesAsync(connection, null, wanted, ct)).ToList();
            return new IdentitySnapshot(owners, profiles, aliases);
        }, cancellationToken);

    public Task<CustomerProfile?> GetAsync(string id, CancellationToken cancellationToken) =>
        _db.QueryAsync(
            "SELECT id, version, document FROM profiles WHERE id = COALESCE((SELECT survivor_id FROM profile_aliases WHERE merged_id = $id), $id)",
            parameters => parameters.AddWithValue("$id", id),
            ReadOne,
            cancellationToken);

    public Task<CustomerProfile?> FindAsync(IdentifierKey identifier, CancellationToken cancellationToken) =>
        _db.QueryAsync(
            "SELECT p.id, p.version, p.document FROM identifiers i JOIN profiles p ON p.id = i.profile_id WHERE i.kind = $kind AND i.value = $value",
            parameters =>
            {
                parameters.AddWithValue("$kind", (int)identifier.Kind);
                parameters.AddWithValue("$value", identifier.Value);
            },
            ReadOne,
            cancellationToken);

    public Task<IReadOnlyList<CustomerProfile>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ids.Count == 0
            ? Task.FromResult<IReadOnlyList<CustomerProfile>>([])
            : _db.ReadAsync<IReadOnlyList<CustomerProfile>>(async (connection, ct) => await ReadProfilesAsync(connection, null, ids, ct), cancellationToken);

    public Task<IReadOnlyList<CustomerProfile>> ListAsync(string afterId, int limit, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<CustomerProfile>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT id, version, document FROM profiles WHERE id > $after ORDER BY id LIMIT $limit", ("$after", afterId), ("$limit", limit));
            var profiles = new List<CustomerProfile>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                profiles.Add(ProfileDocument.FromJson(reader.GetString(2)).ToDomain(reader.GetString(0), reader.GetInt64(1)));
            }

            return profiles;
        }, cancellationToken);

    public Task VisitAudienceAsync(string? segmentId, JourneyStage stage, Action<CustomerProfile> visit, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = segmentId is not null
                ? Command(connection, null, "SELECT p.id, p.version, p.document FROM segment_members m JOIN profiles p ON p.id = m.profile_id WHERE m.segment_id = $segment", ("$segment", segmentId))
                : stage != JourneyStage.Unspecified
                    ? Command(connection, null, "SELECT id, version, document FROM profiles WHERE stage = $stage", ("$stage", (int)stage))
                    : Command(connection, null, "SELECT id, version, document FROM profiles");

            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                visit(ProfileDocument.FromJson(reader.GetString(2)).ToDomain(reader.GetString(0), reader.GetInt64(1)));
            }

            return 0;
        }, cancellationToken);

    public Task SaveAsync(ProfileChangeSet changes, CancellationToken cancellationToken)
    {
        // Serialised before the write lock: the lock is what the handler, Identify and the relay queue on.
        var profiles = WithDocuments(changes.Saved);
        return _db.WriteAsync(async (connection, tx, ct) =>
        {
            await SqliteErasureTombstones.ThrowIfBlockedAsync(connection, tx, changes.ErasureChecks, ct);
            if (changes.Consumer is { } consumer && changes.EventIds.Count > 0)
            {
                // Same row as SqliteInbox.TryClaimAsync, with one prepared statement for the whole batch.
                await using var claim = new Statement(connection, tx, "INSERT OR IGNORE INTO inbox (consumer, event_id, received_at) VALUES ($consumer, $id, $at)", "$consumer", "$id", "$at");
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                foreach (var eventId in changes.EventIds)
                {
                    if (await claim.ExecuteAsync(ct, consumer, eventId, now) != 1)
                    {
                        throw new ConcurrencyConflictException("Event", eventId);
                    }
                }
            }

            var mergedAliases = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var merged in changes.Merged)
            {
                mergedAliases[merged.Id] = await AliasesAsync(connection, tx, merged.Id, ct);
                if (merged.ExpectedVersion > 0)
                {
                    await ExpectOneAsync(connection, tx, "DELETE FROM profiles WHERE id = $a AND version = $b", merged.Id, merged.ExpectedVersion, merged.Id, ct);
                    await ExecuteAsync(connection, tx, "DELETE FROM segment_members WHERE profile_id = $a", ct, ("$a", merged.Id));
                }

                await ExecuteAsync(connection, tx, "UPDATE profile_aliases SET survivor_id = $b WHERE survivor_id = $a", ct, ("$a", merged.Id), ("$b", merged.SurvivorId));
                await ExecuteAsync(connection, tx, "UPDATE profile_merges SET survivor_id = $b WHERE survivor_id = $a", ct, ("$a", merged.Id), ("$b", merged.SurvivorId));
                await ExecuteAsync(connection, tx, "INSERT OR REPLACE INTO profile_aliases (merged_id, survivor_id) VALUES ($a, $b)", ct, ("$a", merged.Id), ("$b", merged.SurvivorId));
            }

            foreach (var split in changes.Splits)
            {
                await SplitAsync(connection, tx, split, ct);
            }

            await SaveProfilesAsync(connection, tx, profiles, ct);
            foreach (var release in changes.Releases)
            {
                await ExpectIdentifierAsync(connection, tx, "DELETE FROM identifiers WHERE kind = $kind AND value = $value AND profile_id = $owner", release.Key, release.Owner, null, ct);
            }

            await using (var insert = new Statement(connection, tx, "INSERT INTO identifiers (kind, value, profile_id) VALUES ($kind, $value, $profile)", "$kind", "$value", "$profile"))
            await using (var move = new Statement(connection, tx, "UPDATE identifiers SET profile_id = $profile WHERE kind = $kind AND value = $value AND profile_id = $owner", "$kind", "$value", "$profile", "$owner"))
            {
                foreach (var claim in changes.Claims)
                {
                    int rows;
                    try
                    {
                        rows = claim.PreviousOwner is { } previous
                            ? await move.ExecuteAsync(ct, (int)claim.Key.Kind, claim.Key.Value, claim.ProfileId, previous)
                            : await insert.ExecuteAsync(ct, (int)claim.Key.Kind, claim.Key.Value, claim.ProfileId);
                    }
                    catch (SqliteException ex) when (ex.SqliteErrorCode == ConstraintViolation)
                    {
                        throw new AlreadyExistsException("Identifier", claim.Key.Kind.ToString());
                    }

                    if (rows != 1)
                    {
                        throw new ConcurrencyConflictException("Identifier", claim.Key.Kind.ToString());
                    }
                }
            }

            await using (var insert = Command(connection, tx, "INSERT INTO profile_merges (survivor_id, merged_id, linked_by, merged_at, moved, undo, merged_aliases) VALUES ($survivor, $merged, $linked, $at, $moved, $undo, $aliases)"))
            {
                foreach (var merge in changes.Merges)
                {
                    insert.Parameters.Clear();
                    insert.Parameters.AddWithValue("$survivor", merge.SurvivorId);
                    insert.Parameters.AddWithValue("$merged", merge.MergedId);
                    insert.Parameters.AddWithValue("$linked", (int)merge.LinkedBy);
                    insert.Parameters.AddWithValue("$at", merge.MergedAt.ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue("$moved", SerializeKeys(merge.MovedIdentifiers));
                    insert.Parameters.AddWithValue("$undo", (object?)MergeUndoDocument.ToJson(merge.Undo) ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$aliases", JsonSerializer.Serialize(mergedAliases.GetValueOrDefault(merge.MergedId) ?? []));
                    await insert.ExecuteNonQueryAsync(ct);
                }
            }

            foreach (var membership in changes.Memberships)
            {
                await ExecuteAsync(
                    connection,
                    tx,
                    membership.Entered
                        ? "INSERT OR IGNORE INTO segment_members (segment_id, profile_id) SELECT $a, $b WHERE EXISTS (SELECT 1 FROM segments WHERE id = $a)"
                        : "DELETE FROM segment_members WHERE segment_id = $a AND profile_id = $b",
                    ct,
                    ("$a", membership.SegmentId),
                    ("$b", membership.ProfileId));
            }

            await SqliteOutbox.AppendAsync(connection, tx, changes.Outbox, ct);
            return 0;
        }, cancellationToken);
    }

    public Task<IReadOnlySet<string>> UnclaimedAsync(string consumer, IReadOnlyList<string> eventIds, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlySet<string>>(async (connection, ct) =>
        {
            var unclaimed = new HashSet<string>(StringComparer.Ordinal);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1 FROM inbox WHERE consumer = $consumer AND event_id = $id";
            command.Parameters.AddWithValue("$consumer", consumer);
            var id = command.Parameters.Add("$id", SqliteType.Text);
            foreach (var eventId in eventIds)
            {
                id.Value = eventId;
                if (await command.ExecuteScalarAsync(ct) is null)
                {
                    unclaimed.Add(eventId);
                }
            }

            return unclaimed;
        }, cancellationToken);

    public Task<Page<ProfileMerge>> ListMergesAsync(string survivorId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        long before = long.MaxValue;
        if (after.Length > 0 && !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out before))
        {
            throw new InvalidArgumentException("page_token", "is not a token returned by this service");
        }

        return _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(
                connection,
                null,
                "SELECT seq, survivor_id, merged_id, linked_by, merged_at, moved FROM profile_merges WHERE survivor_id = $id AND seq < $before AND split_at IS NULL ORDER BY seq DESC LIMIT $limit",
                ("$id", survivorId),
                ("$before", before),
                ("$limit", pageSize + 1));
            var merges = new List<(long Seq, ProfileMerge Merge)>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                merges.Add((reader.GetInt64(0), new ProfileMerge(reader.GetString(1), reader.GetString(2), (IdentifierKind)reader.GetInt32(3), ProfileDocument.Time(reader.GetInt64(4)), DeserializeKeys(reader.GetString(5)))));
            }

            var page = merges.Take(pageSize).ToList();
            var token = merges.Count > pageSize ? PageTokens.Encode(page[^1].Seq.ToString(CultureInfo.InvariantCulture)) : "";
            return new Page<ProfileMerge>(page.Select(m => m.Merge).ToList(), token);
        }, cancellationToken);
    }

    public Task<MergeEdge?> LatestMergeAsync(string survivorId, CancellationToken cancellationToken) =>
        ReadEdgeAsync("survivor_id", survivorId, cancellationToken);

    public Task<bool> ErasedAsync(string tombstoneKey, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) => (await SqliteErasureTombstones.FindAsync(connection, null, [tombstoneKey], ct)).Count > 0, cancellationToken);

    public Task<MergeEdge?> MergeOfAsync(string mergedId, CancellationToken cancellationToken) =>
        ReadEdgeAsync("merged_id", mergedId, cancellationToken);

    private Task<MergeEdge?> ReadEdgeAsync(string column, string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, $"SELECT survivor_id, merged_id, linked_by, merged_at, moved, undo, merged_aliases FROM profile_merges WHERE {column} = $id AND split_at IS NULL ORDER BY seq DESC LIMIT 1", ("$id", id));
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct))
            {
                return null;
            }

            var merged = reader.GetString(1);
            var merge = new ProfileMerge(reader.GetString(0), merged, (IdentifierKind)reader.GetInt32(2), ProfileDocument.Time(reader.GetInt64(3)), DeserializeKeys(reader.GetString(4)))
            {
                Undo = MergeUndoDocument.FromJson(reader.IsDBNull(5) ? null : reader.GetString(5), merged),
            };
            return new MergeEdge(merge, JsonSerializer.Deserialize<List<string>>(reader.GetString(6)) ?? []);
        }, cancellationToken);

    /// <summary>
    /// Marks the edge split and drops its undo data, and gives the restored profile back the ids that
    /// answered with it before the merge, and their merge records.
    /// </summary>
    private static async Task SplitAsync(SqliteConnection connection, SqliteTransaction tx, ProfileSplitRecord split, CancellationToken ct)
    {
        var marked = await ExecuteAsync(
            connection,
            tx,
            "UPDATE profile_merges SET split_at = $at, undo = NULL WHERE seq = (SELECT MAX(seq) FROM profile_merges WHERE survivor_id = $survivor AND merged_id = $restored AND split_at IS NULL)",
            ct,
            ("$at", split.SplitAt.ToUnixTimeMilliseconds()),
            ("$survivor", split.SurvivorId),
            ("$restored", split.RestoredId));
        if (marked != 1)
        {
            throw new ConcurrencyConflictException("Merge", "profiles/" + split.RestoredId);
        }

        await ExecuteAsync(
            connection,
            tx,
            """
            DELETE FROM profile_aliases WHERE merged_id = $restored;
            UPDATE profile_aliases SET survivor_id = $restored WHERE survivor_id = $survivor AND merged_id IN (SELECT value FROM json_each($aliases));
            UPDATE profile_merges SET survivor_id = $restored WHERE survivor_id = $survivor AND merged_id IN (SELECT value FROM json_each($aliases))
            """,
            ct,
            ("$survivor", split.SurvivorId),
            ("$restored", split.RestoredId),
            ("$aliases", JsonSerializer.Serialize(split.RestoredAliases)));
    }

    private static async Task<List<string>> AliasesAsync(SqliteConnection connection, SqliteTransaction? tx, string survivorId, CancellationToken ct)
    {
        await using var command = Command(connection, tx, "SELECT merged_id FROM profile_aliases WHERE survivor_id = $id ORDER BY merged_id", ("$id", survivorId));
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public Task<IReadOnlyList<string>> AliasesOfAsync(string survivorId, CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<string>>(async (connection, ct) => await AliasesAsync(connection, null, survivorId, ct), cancellationToken);

    public Task<long> EraseAsync(ProfileErasure erasure, CancellationToken cancellationToken)
    {
        var profiles = WithDocuments(erasure.CleanedProfiles);
        return _db.WriteAsync(async (connection, tx, ct) =>
        {
            if (erasure.Consumer is { } consumer && erasure.EventId is { } eventId
                && !await SqliteInbox.TryClaimAsync(connection, tx, consumer, eventId, DateTimeOffset.UtcNow, ct))
            {
                throw new ConcurrencyConflictException("Event", eventId);
            }

            long erased = 0;
            foreach (var id in erasure.ProfileIds)
            {
                erased += await ExecuteAsync(connection, tx, "DELETE FROM identifiers WHERE profile_id = $a", ct, ("$a", id));
                erased += await ExecuteAsync(connection, tx, "DELETE FROM profile_aliases WHERE survivor_id = $a", ct, ("$a", id));
                erased += await ExecuteAsync(connection, tx, "DELETE FROM profile_merges WHERE survivor_id = $a OR merged_id = $a", ct, ("$a", id));
                erased += await ExecuteAsync(connection, tx, "DELETE FROM segment_members WHERE profile_id = $a", ct, ("$a", id));
                erased += await ExecuteAsync(connection, tx, "DELETE FROM profiles WHERE id = $a", ct, ("$a", id));
            }

            await SqliteErasureTombstones.RememberAsync(connection, tx, erasure.Tombstones, erasure.ErasedAt, ct);
            await SaveProfilesAsync(connection, tx, profiles, ct);
            await SqliteOutbox.AppendAsync(connection, tx, [.. erasure.Outbox, erasure.Completion(erased)], ct);
            _db.RequestScrub();
            return erased;
        }, cancellationToken);
    }

    private static List<(SavedProfile Saved, string Document)> WithDocuments(IReadOnlyList<SavedProfile> saved) =>
        [.. saved.Select(s => (s, ProfileDocument.From(s.Profile).ToJson()))];

    private static async Task SaveProfilesAsync(SqliteConnection connection, SqliteTransaction tx, List<(SavedProfile Saved, string Document)> saved, CancellationToken ct)
    {
        if (saved.Count == 0)
        {
            return;
        }

        await using var insert = new Statement(connection, tx, "INSERT INTO profiles (id, version, stage, document) VALUES ($id, $version, $stage, $document)", "$id", "$version", "$stage", "$document");
        await using var update = new Statement(connection, tx, "UPDATE profiles SET version = $version, stage = $stage, document = $document WHERE id = $id AND version = $expected", "$id", "$version", "$stage", "$document", "$expected");
        foreach (var ((profile, expected), document) in saved)
        {
            int rows;
            try
            {
                rows = expected == 0
                    ? await insert.ExecuteAsync(ct, profile.Id, profile.Version, (int)profile.Stage, document)
                    : await update.ExecuteAsync(ct, profile.Id, profile.Version, (int)profile.Stage, document, expected);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == ConstraintViolation)
            {
                throw new ConcurrencyConflictException("Profile", "profiles/" + profile.Id);
            }

            if (rows != 1)
            {
                throw new ConcurrencyConflictException("Profile", "profiles/" + profile.Id);
            }
        }
    }

    private static async Task<List<CustomerProfile>> ReadProfilesAsync(SqliteConnection connection, SqliteTransaction? tx, IEnumerable<string> ids, CancellationToken ct)
    {
        var profiles = new List<CustomerProfile>();
        await using var command = Command(connection, tx, "SELECT id, version, document FROM profiles WHERE id = $id");
        var id = command.Parameters.Add("$id", SqliteType.Text);
        foreach (var profileId in ids)
        {
            id.Value = profileId;
            if (await ReadOneAsync(command, ct) is { } profile)
            {
                profiles.Add(profile);
            }
        }

        return profiles;
    }

    private static async Task<CustomerProfile?> ReadOneAsync(SqliteCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return ReadOne(reader);
    }

    private static CustomerProfile? ReadOne(SqliteDataReader reader) =>
        reader.Read() ? ProfileDocument.FromJson(reader.GetString(2)).ToDomain(reader.GetString(0), reader.GetInt64(1)) : null;

    private static async Task ExpectOneAsync(SqliteConnection connection, SqliteTransaction tx, string sql, string a, object b, string profileId, CancellationToken ct)
    {
        if (await ExecuteAsync(connection, tx, sql, ct, ("$a", a), ("$b", b)) != 1)
        {
            throw new ConcurrencyConflictException("Profile", "profiles/" + profileId);
        }
    }

    private static async Task ExpectIdentifierAsync(SqliteConnection connection, SqliteTransaction tx, string sql, IdentifierKey key, string? owner, string? profile, CancellationToken ct)
    {
        List<(string Name, object? Value)> parameters = [("$kind", (int)key.Kind), ("$value", key.Value)];
        if (owner is not null)
        {
            parameters.Add(("$owner", owner));
        }

        if (profile is not null)
        {
            parameters.Add(("$profile", profile));
        }

        if (await ExecuteAsync(connection, tx, sql, ct, [.. parameters]) != 1)
        {
            throw new ConcurrencyConflictException("Identifier", key.Kind.ToString());
        }
    }

    internal static string SerializeKeys(IReadOnlyList<IdentifierKey> keys) =>
        JsonSerializer.Serialize(keys.Select(k => new[] { ((int)k.Kind).ToString(CultureInfo.InvariantCulture), k.Value }));

    internal static IReadOnlyList<IdentifierKey> DeserializeKeys(string json) =>
        JsonSerializer.Deserialize<string[][]>(json)!.Select(k => new IdentifierKey((IdentifierKind)int.Parse(k[0], CultureInfo.InvariantCulture), k[1])).ToList();

    /// <summary>One statement prepared once and run with many parameter sets: a batch pays the parse once.</summary>
    private sealed class Statement : IAsyncDisposable
    {
        private readonly SqliteCommand _command;
        private readonly SqliteParameter[] _parameters;

        public Statement(SqliteConnection connection, SqliteTransaction tx, string sql, params string[] names)
        {
            _command = Command(connection, tx, sql);
            _parameters = names.Select(name => _command.Parameters.Add(name, SqliteType.Text)).ToArray();
        }

        public Task<int> ExecuteAsync(CancellationToken ct, params object[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                _parameters[i].SqliteType = values[i] is string ? SqliteType.Text : SqliteType.Integer;
                _parameters[i].Value = values[i];
            }

            return _command.ExecuteNonQueryAsync(ct);
        }

        public ValueTask DisposeAsync() => _command.DisposeAsync();
    }
}
