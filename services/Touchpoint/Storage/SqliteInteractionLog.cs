using System.Text.Json;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// The interaction log in SQLite. One transaction per batch writes the raw rows (rowid key: appends),
/// the event-id claims (keyed by the sender's id alone, so a re-sent interaction is a duplicate whatever
/// time it carries), the identifier links of new people, the outbox rows, and the aggregates, which are
/// summed in memory per batch first so a batch touches each aggregate row once.
/// </summary>
internal sealed class SqliteInteractionLog([FromKeyedServices(TouchpointModule.Name)] SqliteDatabase database) : IInteractionLog
{
    private const string Consumer = "touchpoint";

    private const string EntryColumns = "seq, event_id, touchpoint_id, occurred_at, recorded_at, type, identifiers, details";

    /// <summary>The snapshot time of a profile known only from a merge: any snapshot is newer.</summary>
    private static readonly long NeverUpdated = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();

    private readonly SqliteDatabase _database = database.Migrated(SqliteSchema.Migrations);

    /// <summary>SQLite writes as much as the settings group; its transactions are bounded by the WAL settings, not a cache.</summary>
    public TransactionBudget TransactionBudget => TransactionBudget.Unbounded;

    /// <summary>
    /// The fingerprint as the claim row keeps it: its first 4 bytes, as a blob (a blob keeps its bytes in
    /// the column's TEXT affinity, where an integer would be turned into text). The claim table is a
    /// random-key index the single writer touches once per interaction and rewrites page by page, so
    /// every byte of its rows costs ingestion; 32 bits leave one reused id in four billion taken for a
    /// re-send.
    /// </summary>
    private static byte[] StoredFingerprint(byte[] fingerprint) => fingerprint[..4];

    /// <summary>
    /// Whether a claimed id's stored fingerprint matches: the leading 4 (or, as claims kept before, 8)
    /// bytes, or the 32 hex digits claims kept before that, or nothing for an id claimed before
    /// fingerprints were kept (a duplicate of anything).
    /// </summary>
    private static bool SameContent(object? stored, byte[] fingerprint) => stored switch
    {
        byte[] { Length: 4 or 8 } bytes => bytes.AsSpan().SequenceEqual(fingerprint.AsSpan(0, bytes.Length)),
        string { Length: > 0 } text => text == Convert.ToHexStringLower(fingerprint),
        _ => true,
    };

    public Task<IReadOnlyList<Appended>> AppendAsync(IReadOnlyList<PendingInteraction> batch, CancellationToken cancellationToken) =>
        _database.WriteAsync<IReadOnlyList<Appended>>(async (connection, transaction, ct) =>
        {
            var stored = new Appended[batch.Count];
            var events = new List<OutboxMessage>(batch.Count);
            var aggregates = new BatchAggregates();
            var resolved = new Dictionary<string, long>(StringComparer.Ordinal);

            await using var claim = Command(connection, transaction, "INSERT OR IGNORE INTO interaction_ids (event_id, fingerprint) VALUES ($id, $fingerprint)");
            var claimId = claim.Parameters.Add("$id", SqliteType.Text);
            var claimFingerprint = claim.Parameters.Add("$fingerprint", SqliteType.Blob);
            await using var claimed = Command(connection, transaction, "SELECT fingerprint FROM interaction_ids WHERE event_id = $id");
            var claimedId = claimed.Parameters.Add("$id", SqliteType.Text);
            await using var findLink = Command(connection, transaction, "SELECT person_id FROM person_links WHERE identifier = $key");
            var findKey = findLink.Parameters.Add("$key", SqliteType.Text);
            await using var addLink = Command(connection, transaction, "INSERT OR IGNORE INTO person_links (identifier, person_id) VALUES ($key, $person)");
            var addKey = addLink.Parameters.Add("$key", SqliteType.Text);
            var addPerson = addLink.Parameters.Add("$person", SqliteType.Integer);
            await using var addOverlap = Command(connection, transaction, "INSERT OR IGNORE INTO person_overlaps (person_id, filed_person_id) VALUES ($person, $filed)");
            var overlapPerson = addOverlap.Parameters.Add("$person", SqliteType.Integer);
            var overlapFiled = addOverlap.Parameters.Add("$filed", SqliteType.Integer);
            var linked = new List<long?>();
            await using var knownBy = Command(connection, transaction, $"""
                SELECT coalesce(max(CASE WHEN identifier LIKE '{(int)IdentifierKind.CustomerId}:%' THEN {(int)KnownBy.CustomerId} ELSE 0 END), 0)
                     | coalesce(max(CASE WHEN identifier LIKE '{(int)IdentifierKind.Email}:%' THEN {(int)KnownBy.Email} ELSE 0 END), 0)
                FROM person_links WHERE person_id = $person
                """);
            var knownPerson = knownBy.Parameters.Add("$person", SqliteType.Integer);
            await using var newPerson = Command(connection, transaction, "INSERT INTO person_state (last_at, last_touchpoint_id) VALUES ($at, $tp) RETURNING person_id");
            var newAt = newPerson.Parameters.Add("$at", SqliteType.Integer);
            var newTp = newPerson.Parameters.Add("$tp", SqliteType.Text);
            await using var insert = Command(connection, transaction, """
                INSERT INTO interactions (event_id, touchpoint_id, occurred_at, recorded_at, person_id, type, identifiers, details)
                VALUES ($event_id, $touchpoint_id, $occurred_at, $recorded_at, $person_id, $type, $identifiers, $details)
                """);
            var p = new[] { "$event_id", "$touchpoint_id", "$occurred_at", "$recorded_at", "$person_id", "$type", "$identifiers", "$details" }
                .Select(name => insert.Parameters.AddWithValue(name, DBNull.Value)).ToArray();

            for (var i = 0; i < batch.Count; i++)
            {
                var interaction = batch[i].Interaction;
                var occurred = interaction.OccurredAt.ToUnixTimeMilliseconds();
                var day = JourneyAnalytics.DayOf(interaction.OccurredAt);
                claimId.Value = interaction.EventId;
                claimFingerprint.Value = StoredFingerprint(batch[i].Fingerprint);
                if (await claim.ExecuteNonQueryAsync(ct) == 0)
                {
                    claimedId.Value = interaction.EventId;
                    stored[i] = SameContent(await claimed.ExecuteScalarAsync(ct), batch[i].Fingerprint) ? Appended.Duplicate : Appended.Conflict;
                    continue;
                }

                linked.Clear();
                foreach (var identifier in interaction.Identifiers)
                {
                    long? link = null;
                    if (resolved.TryGetValue(identifier.Key, out var known))
                    {
                        link = known;
                    }
                    else
                    {
                        findKey.Value = identifier.Key;
                        if (await findLink.ExecuteScalarAsync(ct) is long found)
                        {
                            // Remembered so it is not looked up again in this batch.
                            resolved[identifier.Key] = found;
                            link = found;
                        }
                    }

                    linked.Add(link);
                }

                var chosen = await PersonGrouping.ChooseAsync(interaction.Identifiers, k => linked[k] is not null, async k =>
                {
                    knownPerson.Value = linked[k]!.Value;
                    return (KnownBy)(long)(await knownBy.ExecuteScalarAsync(ct))!;
                });
                var person = chosen is { } index ? linked[index] : null;

                if (person is null)
                {
                    newAt.Value = occurred;
                    newTp.Value = interaction.TouchpointId;
                    person = (long)(await newPerson.ExecuteScalarAsync(ct))!;
                }

                for (var k = 0; k < interaction.Identifiers.Count; k++)
                {
                    if (linked[k] is { } other)
                    {
                        if (other != person.Value)
                        {
                            // Seen apart before: the other person's identifier now also has an interaction filed here.
                            overlapPerson.Value = other;
                            overlapFiled.Value = person.Value;
                            await addOverlap.ExecuteNonQueryAsync(ct);
                        }
                    }
                    else if (resolved.TryAdd(interaction.Identifiers[k].Key, person.Value))
                    {
                        // Links only ever get added: an identifier stays with the first person it was seen with.
                        addKey.Value = interaction.Identifiers[k].Key;
                        addPerson.Value = person.Value;
                        await addLink.ExecuteNonQueryAsync(ct);
                    }
                }

                p[0].Value = interaction.EventId;
                p[1].Value = interaction.TouchpointId;
                p[2].Value = occurred;
                p[3].Value = interaction.RecordedAt.ToUnixTimeMilliseconds();
                p[4].Value = person.Value;
                p[5].Value = (int)interaction.Type;
                p[6].Value = JsonSerializer.Serialize(interaction.Identifiers.Select(x => x.Key).ToArray());
                p[7].Value = InteractionDetails.Write(interaction);
                await insert.ExecuteNonQueryAsync(ct);

                aggregates.Add(interaction, person.Value, day, occurred, batch[i].StageMask);
                events.Add(batch[i].Event);
                stored[i] = Appended.Stored;
            }

            await aggregates.FlushAsync(connection, transaction, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, events, ct);
            return stored;
        }, cancellationToken);

    public Task<IReadOnlyList<TimelineEntry>> TimelineAsync(PersonIdentifier identifier, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<TimelineEntry>>(async (connection, ct) =>
        {
            var people = await ResolveAsync(connection, null, [identifier], ct);
            if (people.Count == 0)
            {
                return [];
            }

            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT {EntryColumns} FROM interactions
                WHERE person_id IN ({string.Join(',', people)}) AND (occurred_at < $at OR (occurred_at = $at AND seq < $seq))
                ORDER BY occurred_at DESC, seq DESC LIMIT $limit
                """;
            return await ReadEntriesAsync(command, after, limit, ct);
        }, cancellationToken);

    public Task<IReadOnlyList<TimelineEntry>> RecordedWithAsync(IReadOnlyList<PersonIdentifier> identifiers, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<TimelineEntry>>(async (connection, ct) =>
        {
            // Every interaction carrying one of the identifiers is filed under its person or under a
            // person it overlaps; the identifiers each row carries decide.
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                WITH wanted(identifier) AS (SELECT value FROM json_each($keys)),
                linked(person_id) AS (SELECT person_id FROM person_links WHERE identifier IN (SELECT identifier FROM wanted)),
                people(person_id) AS (
                    SELECT person_id FROM linked
                    UNION SELECT filed_person_id FROM person_overlaps WHERE person_id IN (SELECT person_id FROM linked))
                SELECT {EntryColumns} FROM interactions
                WHERE person_id IN (SELECT person_id FROM people) AND (occurred_at < $at OR (occurred_at = $at AND seq < $seq))
                    AND EXISTS (SELECT 1 FROM json_each(interactions.identifiers) AS carried WHERE carried.value IN (SELECT identifier FROM wanted))
                ORDER BY occurred_at DESC, seq DESC LIMIT $limit
                """;
            command.Parameters.AddWithValue("$keys", Keys(identifiers.Select(i => i.Key)));
            return await ReadEntriesAsync(command, after, limit, ct);
        }, cancellationToken);

    public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var erased = await SqliteErasureTombstones.FindAsync(connection, transaction, merges.SelectMany(m => m.ErasureKeys), ct);
            foreach (var merge in merges)
            {
                if (!await SqliteInbox.TryClaimAsync(connection, transaction, Consumer + "." + TouchpointTopics.ProfilesMerged, merge.EventId, now, ct)
                    || ErasureTombstones.Blocks(erased, merge.ErasureKeys, merge.PublishedAt ?? merge.MergedAt))
                {
                    continue;
                }

                var people = await ResolveAsync(connection, transaction,
                    [.. merge.MovedIdentifiers, new PersonIdentifier(IdentifierKind.ProfileId, merge.Merged), new PersonIdentifier(IdentifierKind.ProfileId, merge.Survivor)], ct);
                // A link that was there before stays as it was: only those this merge adds name it, and go with its split.
                await using var link = Command(connection, transaction, "INSERT OR IGNORE INTO profile_persons (profile_id, person_id, merged_profile) VALUES ($profile, $person, $merged)");
                var profile = link.Parameters.Add("$profile", SqliteType.Text);
                var person = link.Parameters.Add("$person", SqliteType.Integer);
                link.Parameters.AddWithValue("$merged", merge.Merged);
                foreach (var id in people)
                {
                    foreach (var target in new[] { merge.Survivor, merge.Merged })
                    {
                        profile.Value = target;
                        person.Value = id;
                        await link.ExecuteNonQueryAsync(ct);
                    }
                }

                await MergeProfilesAsync(connection, transaction, merge, ct);
            }

            return 0;
        }, cancellationToken);

    public Task ApplySplitsAsync(IReadOnlyList<ProfileSplitNotice> splits, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var erased = await SqliteErasureTombstones.FindAsync(connection, transaction, splits.SelectMany(s => s.ErasureKeys), ct);
            foreach (var split in splits)
            {
                if (!await SqliteInbox.TryClaimAsync(connection, transaction, Consumer + "." + TouchpointTopics.ProfileSplit, split.EventId, now, ct)
                    || ErasureTombstones.Blocks(erased, split.ErasureKeys, split.PublishedAt))
                {
                    continue;
                }

                // The restored profile is live again with its aliases; the identifiers it takes back leave the
                // survivor, and the survivor's holdings of them that began with or after the merge become its own.
                // The people the merge linked to both profiles are apart again, as they were before it.
                await using var restore = Command(connection, transaction, """
                    DELETE FROM profile_persons WHERE merged_profile = $restored;
                    INSERT INTO profiles (profile_id, version, updated_at, survivor_id) VALUES ($restored, 0, $never, NULL)
                    ON CONFLICT (profile_id) DO UPDATE SET survivor_id = NULL;
                    UPDATE profiles SET survivor_id = $restored WHERE survivor_id = $survivor AND profile_id IN (SELECT value FROM json_each($aliases));
                    DELETE FROM profile_identifiers WHERE profile_id = $survivor AND identifier IN (SELECT value FROM json_each($keys));
                    INSERT OR IGNORE INTO profile_identifiers (identifier, profile_id) SELECT value, $restored FROM json_each($keys);
                    INSERT OR IGNORE INTO identifier_holdings (identifier, profile_id, since)
                        SELECT identifier, $restored, since FROM identifier_holdings
                        WHERE profile_id = $survivor AND since >= $merged AND identifier IN (SELECT value FROM json_each($keys));
                    DELETE FROM identifier_holdings WHERE profile_id = $survivor AND since >= $merged AND identifier IN (SELECT value FROM json_each($keys))
                    """);
                restore.Parameters.AddWithValue("$restored", split.Restored);
                restore.Parameters.AddWithValue("$survivor", split.Survivor);
                restore.Parameters.AddWithValue("$never", NeverUpdated);
                restore.Parameters.AddWithValue("$aliases", Keys(split.RestoredAliases));
                restore.Parameters.AddWithValue("$keys", Keys(split.RestoredIdentifiers.Select(i => i.Key)));
                restore.Parameters.AddWithValue("$merged", split.MergedAt.ToUnixTimeMilliseconds());
                await restore.ExecuteNonQueryAsync(ct);
            }

            return 0;
        }, cancellationToken);

    public Task ApplyProfilesAsync(IReadOnlyList<ProfileSnapshot> snapshots, DateTimeOffset now, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            var erased = await SqliteErasureTombstones.FindAsync(connection, transaction, snapshots.SelectMany(s => s.ErasureKeys), ct);
            foreach (var profile in snapshots.GroupBy(s => s.ProfileId, StringComparer.Ordinal))
            {
                var (claimed, latest) = await ProfileSnapshotClaims.ClaimAsync(profile, erased, eventId => SqliteInbox.TryClaimAsync(connection, transaction, Consumer + "." + TouchpointTopics.ProfileUpdated, eventId, now, ct));

                var stored = await ReadProfileAsync(connection, transaction, profile.Key, ct);
                if (latest is null || (stored is { } row && (row.SurvivorId is not null || row.Version >= latest.Version)))
                {
                    continue;
                }

                await using (var upsert = Command(connection, transaction, """
                    INSERT INTO profiles (profile_id, version, updated_at, survivor_id) VALUES ($profile, $version, $at, NULL)
                    ON CONFLICT (profile_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at
                    """))
                {
                    upsert.Parameters.AddWithValue("$profile", latest.ProfileId);
                    upsert.Parameters.AddWithValue("$version", latest.Version);
                    upsert.Parameters.AddWithValue("$at", latest.UpdatedAt.ToUnixTimeMilliseconds());
                    await upsert.ExecuteNonQueryAsync(ct);
                }

                // Most snapshots follow an interaction and hold the same identifiers as before: nothing to rewrite then.
                var held = await HeldAsync(connection, transaction, latest.ProfileId, ct);
                var wanted = latest.Identifiers.Select(i => i.Key).ToHashSet(StringComparer.Ordinal);
                if (!held.SetEquals(wanted))
                {
                    await using var release = Command(connection, transaction,
                        "DELETE FROM profile_identifiers WHERE profile_id = $profile AND identifier NOT IN (SELECT value FROM json_each($keys))");
                    release.Parameters.AddWithValue("$profile", latest.ProfileId);
                    release.Parameters.AddWithValue("$keys", Keys(wanted));
                    await release.ExecuteNonQueryAsync(ct);
                    var gained = wanted.Except(held).ToList();
                    await HoldAsync(connection, transaction, latest.ProfileId, gained, ct);
                    var since = Attribution.HeldSince(claimed.Where(c => stored is null || c.Version > stored.Value.Version), latest);
                    await using var record = Command(connection, transaction, "INSERT OR IGNORE INTO identifier_holdings (identifier, profile_id, since) VALUES ($key, $profile, $since)");
                    var key = record.Parameters.Add("$key", SqliteType.Text);
                    record.Parameters.AddWithValue("$profile", latest.ProfileId);
                    var from = record.Parameters.Add("$since", SqliteType.Integer);
                    foreach (var gain in gained)
                    {
                        (key.Value, from.Value) = (gain, since[gain].ToUnixTimeMilliseconds());
                        await record.ExecuteNonQueryAsync(ct);
                    }
                }
            }

            return 0;
        }, cancellationToken);

    public Task<KnownProfile?> ProfileAsync(string profileId, CancellationToken cancellationToken) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            var live = await LiveAsync(connection, null, profileId, ct);
            if (await ReadProfileAsync(connection, null, live, ct) is null)
            {
                return null;
            }

            var merged = new List<string>();
            await using (var query = Command(connection, null, "SELECT profile_id FROM profiles WHERE survivor_id = $profile ORDER BY profile_id"))
            {
                query.Parameters.AddWithValue("$profile", live);
                await using var reader = await query.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    merged.Add(reader.GetString(0));
                }
            }

            var held = await HeldAsync(connection, null, live, ct);
            var former = new SortedSet<string>(StringComparer.Ordinal);
            await using (var query = Command(connection, null, "SELECT DISTINCT identifier FROM identifier_holdings WHERE profile_id IN (SELECT value FROM json_each($profiles))"))
            {
                query.Parameters.AddWithValue("$profiles", Keys([live, .. merged]));
                await using var reader = await query.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    if (!held.Contains(reader.GetString(0)))
                    {
                        former.Add(reader.GetString(0));
                    }
                }
            }

            return (KnownProfile?)new KnownProfile(live, held.Order(StringComparer.Ordinal).Select(ParseKey).ToList(), merged)
            {
                FormerIdentifiers = former.Select(ParseKey).ToList(),
            };
        }, cancellationToken);

    public Task<IReadOnlyList<IdentifierHolding>> HoldingsAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<IdentifierHolding>>(async (connection, ct) =>
        {
            var found = new List<(string Key, string Profile, long Since)>();
            await using (var query = Command(connection, null, """
                WITH wanted(identifier) AS (SELECT value FROM json_each($keys))
                SELECT identifier, profile_id, since FROM identifier_holdings WHERE identifier IN (SELECT identifier FROM wanted)
                UNION ALL
                SELECT c.identifier, c.profile_id, p.updated_at FROM profile_identifiers c JOIN profiles p ON p.profile_id = c.profile_id
                WHERE c.identifier IN (SELECT identifier FROM wanted) AND p.survivor_id IS NULL
                    AND NOT EXISTS (
                        SELECT 1 FROM identifier_holdings h LEFT JOIN profiles m ON m.profile_id = h.profile_id
                        WHERE h.identifier = c.identifier AND (h.profile_id = c.profile_id OR m.survivor_id = c.profile_id))
                """))
            {
                query.Parameters.AddWithValue("$keys", Keys(identifiers.Where(i => i.Kind != IdentifierKind.ProfileId).Select(i => i.Key).Distinct(StringComparer.Ordinal)));
                await using var reader = await query.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    found.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }
            }

            found.AddRange(identifiers.Where(i => i.Kind == IdentifierKind.ProfileId).Select(i => (i.Key, i.Value, long.MinValue)));
            var live = new Dictionary<string, (string Profile, bool Known)?>(StringComparer.Ordinal);
            await using var known = Command(connection, null, """
                SELECT EXISTS (SELECT 1 FROM profile_identifiers WHERE profile_id = $profile AND substr(identifier, 1, 2) IN ('1:', '2:'))
                """);
            var knownProfile = known.Parameters.Add("$profile", SqliteType.Text);
            var holdings = new List<IdentifierHolding>(found.Count);
            foreach (var (key, profile, since) in found)
            {
                if (!live.TryGetValue(profile, out var resolved))
                {
                    var id = await LiveAsync(connection, null, profile, ct);
                    knownProfile.Value = id;
                    resolved = await ReadProfileAsync(connection, null, id, ct) is null ? null : (id, await known.ExecuteScalarAsync(ct) is long and not 0);
                    live[profile] = resolved;
                }

                if (resolved is { } holder)
                {
                    holdings.Add(new IdentifierHolding(key, holder.Profile, since == long.MinValue ? DateTimeOffset.MinValue : DateTimeOffset.FromUnixTimeMilliseconds(since), holder.Known));
                }
            }

            return holdings;
        }, cancellationToken);

    public Task<IReadOnlyList<ProfileHolding>> HoldersAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
        _database.ReadAsync<IReadOnlyList<ProfileHolding>>(async (connection, ct) =>
        {
            var holdings = new List<ProfileHolding>();
            await using (var query = Command(connection, null, """
                SELECT h.identifier, h.profile_id, p.updated_at FROM profile_identifiers h JOIN profiles p ON p.profile_id = h.profile_id
                WHERE h.identifier IN (SELECT value FROM json_each($keys)) AND p.survivor_id IS NULL
                """))
            {
                query.Parameters.AddWithValue("$keys", Keys(identifiers.Where(i => i.Kind != IdentifierKind.ProfileId).Select(i => i.Key)));
                await using var reader = await query.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    holdings.Add(new ProfileHolding(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
                }
            }

            foreach (var named in identifiers.Where(i => i.Kind == IdentifierKind.ProfileId))
            {
                var live = await LiveAsync(connection, null, named.Value, ct);
                if (await ReadProfileAsync(connection, null, live, ct) is { } row)
                {
                    holdings.Add(new ProfileHolding(named.Key, live, DateTimeOffset.FromUnixTimeMilliseconds(row.UpdatedAt)));
                }
            }

            return holdings;
        }, cancellationToken);

    public Task EraseAsync(
        string eventId,
        IReadOnlyList<PersonIdentifier> identifiers,
        ErasureKeep keep,
        IReadOnlyList<string> profiles,
        IReadOnlyList<ErasureTombstone> tombstones,
        Func<long, OutboxMessage> completed,
        DateTimeOffset now,
        CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            if (!await SqliteInbox.TryClaimAsync(connection, transaction, Consumer + "." + Topics.ErasureRequested, eventId, now, ct))
            {
                return 0;
            }

            var people = await ResolveAsync(connection, transaction, identifiers, ct);
            long erased = 0;
            if (people.Count > 0)
            {
                var list = string.Join(',', people);
                // Another customer's interactions and links stay, with the person rows they are filed under.
                var kept = keep.EventIds.Count > 0;
                foreach (var sql in new[]
                {
                    $"DELETE FROM interactions WHERE person_id IN ({list}) AND event_id NOT IN (SELECT value FROM json_each($events))",
                    $"DELETE FROM person_links WHERE person_id IN ({list}) AND identifier NOT IN (SELECT value FROM json_each($links))",
                    $"DELETE FROM profile_persons WHERE person_id IN ({list})",
                    kept ? "" : $"DELETE FROM person_overlaps WHERE person_id IN ({list}) OR filed_person_id IN ({list})",
                })
                {
                    if (sql.Length == 0)
                    {
                        continue;
                    }

                    await using var delete = Command(connection, transaction, sql);
                    delete.Parameters.AddWithValue("$events", Keys(keep.EventIds));
                    delete.Parameters.AddWithValue("$links", Keys(keep.LinkKeys));
                    erased += await delete.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var holdings = Command(connection, transaction, "DELETE FROM identifier_holdings WHERE identifier IN (SELECT value FROM json_each($keys))"))
            {
                holdings.Parameters.AddWithValue("$keys", Keys(identifiers.Select(i => i.Key)));
                erased += await holdings.ExecuteNonQueryAsync(ct);
            }

            if (profiles.Count > 0)
            {
                // The tombstones, not a row naming the profile, keep a snapshot of it still on its way out.
                var keys = Keys(profiles);
                await using (var holdings = Command(connection, transaction, """
                    DELETE FROM identifier_holdings WHERE profile_id IN (SELECT value FROM json_each($profiles))
                        OR profile_id IN (SELECT profile_id FROM profiles WHERE survivor_id IN (SELECT value FROM json_each($profiles)))
                    """))
                {
                    holdings.Parameters.AddWithValue("$profiles", keys);
                    erased += await holdings.ExecuteNonQueryAsync(ct);
                }

                await using (var release = Command(connection, transaction, "DELETE FROM profile_identifiers WHERE profile_id IN (SELECT value FROM json_each($profiles))"))
                {
                    release.Parameters.AddWithValue("$profiles", keys);
                    erased += await release.ExecuteNonQueryAsync(ct);
                }

                await using var forget = Command(connection, transaction, """
                    DELETE FROM profiles WHERE profile_id IN (SELECT value FROM json_each($profiles)) OR survivor_id IN (SELECT value FROM json_each($profiles))
                    """);
                forget.Parameters.AddWithValue("$profiles", keys);
                await forget.ExecuteNonQueryAsync(ct);
            }

            await SqliteErasureTombstones.RememberAsync(connection, transaction, tombstones, now, ct);
            await SqliteOutbox.AppendAsync(connection, transaction, [completed(erased)], ct);
            _database.RequestScrub();
            return 0;
        }, cancellationToken);

    public Task<int> SweepAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (connection, transaction, ct) =>
        {
            // The claims go with their interactions: older ones are rejected by the retention rule before any claim.
            const string Expired = "SELECT seq FROM interactions WHERE occurred_at < $cutoff ORDER BY occurred_at LIMIT $max";
            await using var claims = Command(connection, transaction,
                $"DELETE FROM interaction_ids WHERE event_id IN (SELECT event_id FROM interactions WHERE seq IN ({Expired}))");
            claims.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            claims.Parameters.AddWithValue("$max", max);
            await claims.ExecuteNonQueryAsync(ct);

            await using var delete = Command(connection, transaction, $"DELETE FROM interactions WHERE seq IN ({Expired})");
            delete.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            delete.Parameters.AddWithValue("$max", max);
            var removed = await delete.ExecuteNonQueryAsync(ct);
            return removed;
        }, cancellationToken);

    /// <summary>
    /// Hands the merged profile to the survivor: its identifiers (unless the survivor's snapshot was taken
    /// after the merge and holds what is the survivor's now), its id and the ids merged into it before.
    /// </summary>
    private static async Task MergeProfilesAsync(SqliteConnection connection, SqliteTransaction transaction, ProfileMerge merge, CancellationToken ct)
    {
        // The survivor may have been merged away itself since: the chain ends at the live profile.
        var survivor = await LiveAsync(connection, transaction, merge.Survivor, ct);
        if (survivor == merge.Merged)
        {
            return;
        }

        var stored = await ReadProfileAsync(connection, transaction, survivor, ct);
        if (stored is null)
        {
            await using var create = Command(connection, transaction, "INSERT INTO profiles (profile_id, version, updated_at, survivor_id) VALUES ($profile, 0, $at, NULL)");
            create.Parameters.AddWithValue("$profile", survivor);
            create.Parameters.AddWithValue("$at", NeverUpdated);
            await create.ExecuteNonQueryAsync(ct);
        }

        if (stored is null || stored.Value.UpdatedAt < merge.MergedAt.ToUnixTimeMilliseconds())
        {
            var handed = await HeldAsync(connection, transaction, merge.Merged, ct);
            handed.UnionWith(merge.MovedIdentifiers.Select(i => i.Key));
            await HoldAsync(connection, transaction, survivor, handed, ct);
        }

        // What the merged profile held stays on record as its holdings, which read as the survivor's.
        var moved = await HeldAsync(connection, transaction, merge.Merged, ct);
        moved.UnionWith(merge.MovedIdentifiers.Select(i => i.Key));
        await using (var record = Command(connection, transaction, """
            INSERT OR IGNORE INTO identifier_holdings (identifier, profile_id, since)
            SELECT value, $merged, $at FROM json_each($keys) AS moved
            WHERE NOT EXISTS (SELECT 1 FROM identifier_holdings h WHERE h.identifier = moved.value AND h.profile_id = $merged)
            """))
        {
            record.Parameters.AddWithValue("$merged", merge.Merged);
            record.Parameters.AddWithValue("$at", merge.MergedAt.ToUnixTimeMilliseconds());
            record.Parameters.AddWithValue("$keys", Keys(moved));
            await record.ExecuteNonQueryAsync(ct);
        }

        await using var alias = Command(connection, transaction, """
            DELETE FROM profile_identifiers WHERE profile_id = $merged;
            INSERT INTO profiles (profile_id, version, updated_at, survivor_id) VALUES ($merged, 0, $never, $survivor)
            ON CONFLICT (profile_id) DO UPDATE SET survivor_id = excluded.survivor_id;
            UPDATE profiles SET survivor_id = $survivor WHERE survivor_id = $merged
            """);
        alias.Parameters.AddWithValue("$merged", merge.Merged);
        alias.Parameters.AddWithValue("$survivor", survivor);
        alias.Parameters.AddWithValue("$never", NeverUpdated);
        await alias.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The live profile <paramref name="profileId"/> names: itself, or the survivor it was merged into.</summary>
    private static async Task<string> LiveAsync(SqliteConnection connection, SqliteTransaction? transaction, string profileId, CancellationToken ct)
    {
        await using var query = Command(connection, transaction, "SELECT survivor_id FROM profiles WHERE profile_id = $profile");
        var parameter = query.Parameters.Add("$profile", SqliteType.Text);
        // Merges re-point the profiles merged before, so one hop is the rule; the bound only guards against a cycle.
        for (var hops = 0; hops < 64; hops++)
        {
            parameter.Value = profileId;
            if (await query.ExecuteScalarAsync(ct) is not string survivor)
            {
                break;
            }

            profileId = survivor;
        }

        return profileId;
    }

    private static async Task<(long Version, long UpdatedAt, string? SurvivorId)?> ReadProfileAsync(SqliteConnection connection, SqliteTransaction? transaction, string profileId, CancellationToken ct)
    {
        await using var query = Command(connection, transaction, "SELECT version, updated_at, survivor_id FROM profiles WHERE profile_id = $profile");
        query.Parameters.AddWithValue("$profile", profileId);
        await using var reader = await query.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)) : null;
    }

    private static async Task<HashSet<string>> HeldAsync(SqliteConnection connection, SqliteTransaction? transaction, string profileId, CancellationToken ct)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        await using var query = Command(connection, transaction, "SELECT identifier FROM profile_identifiers WHERE profile_id = $profile");
        query.Parameters.AddWithValue("$profile", profileId);
        await using var reader = await query.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            held.Add(reader.GetString(0));
        }

        return held;
    }

    private static async Task HoldAsync(SqliteConnection connection, SqliteTransaction transaction, string profileId, IEnumerable<string> keys, CancellationToken ct)
    {
        await using var hold = Command(connection, transaction, "INSERT OR IGNORE INTO profile_identifiers (identifier, profile_id) SELECT value, $profile FROM json_each($keys)");
        hold.Parameters.AddWithValue("$profile", profileId);
        hold.Parameters.AddWithValue("$keys", Keys(keys));
        await hold.ExecuteNonQueryAsync(ct);
    }

    private static string Keys(IEnumerable<string> keys) => JsonSerializer.Serialize(keys);

    private static async Task<IReadOnlyList<TimelineEntry>> ReadEntriesAsync(SqliteCommand command, TimelineCursor? after, int limit, CancellationToken ct)
    {
        command.Parameters.AddWithValue("$at", after?.OccurredAt.ToUnixTimeMilliseconds() ?? long.MaxValue);
        command.Parameters.AddWithValue("$seq", after?.Sequence ?? long.MaxValue);
        command.Parameters.AddWithValue("$limit", limit);
        var rows = new List<TimelineEntry>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var occurred = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3));
            var details = InteractionDetails.Read(reader.GetString(7));
            var interaction = new Interaction(
                reader.GetString(1),
                reader.GetString(2),
                occurred,
                (JsonSerializer.Deserialize<string[]>(reader.GetString(6)) ?? []).Select(ParseKey).ToList(),
                (InteractionType)reader.GetInt32(5),
                details.Content ?? "",
                details.Recommendation ?? "",
                details.Rating,
                details.Comment ?? "",
                details.Currency is { } currency ? new MoneyAmount(currency, details.Units, details.Nanos) : null,
                details.Properties ?? [],
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
            rows.Add(new TimelineEntry(interaction, new TimelineCursor(occurred, reader.GetInt64(0))));
        }

        return rows;
    }

    /// <summary>
    /// The internal person ids behind <paramref name="identifiers"/>: each identifier's link, the people
    /// of a profile id, and everyone sharing a merged profile with any of them.
    /// </summary>
    private static async Task<List<long>> ResolveAsync(SqliteConnection connection, SqliteTransaction? transaction, IReadOnlyList<PersonIdentifier> identifiers, CancellationToken ct)
    {
        var people = new HashSet<long>();
        await using var link = Command(connection, transaction, "SELECT person_id FROM person_links WHERE identifier = $key");
        var key = link.Parameters.Add("$key", SqliteType.Text);
        await using var profile = Command(connection, transaction, "SELECT person_id FROM profile_persons WHERE profile_id = $profile");
        var profileId = profile.Parameters.Add("$profile", SqliteType.Text);
        foreach (var identifier in identifiers)
        {
            key.Value = identifier.Key;
            if (await link.ExecuteScalarAsync(ct) is long person)
            {
                people.Add(person);
            }

            if (identifier.Kind == IdentifierKind.ProfileId)
            {
                profileId.Value = identifier.Value;
                await ReadIdsAsync(profile, people, ct);
            }
        }

        if (people.Count > 0)
        {
            await using var siblings = Command(connection, transaction, $"""
                SELECT DISTINCT b.person_id FROM profile_persons a JOIN profile_persons b ON b.profile_id = a.profile_id
                WHERE a.person_id IN ({string.Join(',', people)})
                """);
            await ReadIdsAsync(siblings, people, ct);
        }

        return people.Order().ToList();
    }

    private static async Task ReadIdsAsync(SqliteCommand command, HashSet<long> into, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            into.Add(reader.GetInt64(0));
        }
    }

    private static PersonIdentifier ParseKey(string key)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        return new PersonIdentifier((IdentifierKind)int.Parse(key.AsSpan(0, colon), System.Globalization.CultureInfo.InvariantCulture), key[(colon + 1)..]);
    }

    /// <summary>A batch's contribution to the aggregates, summed in memory and written once per row.</summary>
    private sealed class BatchAggregates
    {
        private readonly Dictionary<(int Day, string Touchpoint), (long Count, long RatingSum, long RatingCount)> _touchpointDays = [];
        private readonly Dictionary<(int Day, string Touchpoint, long Person), (long First, long Last)> _dayPeople = [];
        private readonly Dictionary<(int Day, long Person), int> _stageDays = [];
        private readonly Dictionary<(long Person, string Touchpoint), long> _personTouchpoints = [];
        private readonly Dictionary<long, (long LastAt, string Touchpoint, long? PurchaseAt)> _people = [];
        private readonly HashSet<(long Person, long At, int Day)> _purchases = [];

        public void Add(Interaction interaction, long person, int day, long at, int stageMask)
        {
            var rated = interaction.Rating > 0 ? 1 : 0;
            var tpDay = (day, interaction.TouchpointId);
            _touchpointDays[tpDay] = _touchpointDays.TryGetValue(tpDay, out var t) ? (t.Count + 1, t.RatingSum + interaction.Rating, t.RatingCount + rated) : (1, interaction.Rating, rated);
            var dp = (day, interaction.TouchpointId, person);
            _dayPeople[dp] = _dayPeople.TryGetValue(dp, out var d) ? (Math.Min(d.First, at), Math.Max(d.Last, at)) : (at, at);
            _stageDays[(day, person)] = _stageDays.GetValueOrDefault((day, person)) | stageMask;
            var pt = (person, interaction.TouchpointId);
            _personTouchpoints[pt] = _personTouchpoints.TryGetValue(pt, out var first) ? Math.Min(first, at) : at;
            var purchase = interaction.Type == InteractionType.Purchase;
            if (purchase)
            {
                _purchases.Add((person, at, day));
            }

            if (_people.TryGetValue(person, out var state))
            {
                _people[person] = (
                    Math.Max(state.LastAt, at),
                    at >= state.LastAt ? interaction.TouchpointId : state.Touchpoint,
                    purchase ? Math.Max(state.PurchaseAt ?? at, at) : state.PurchaseAt);
            }
            else
            {
                _people[person] = (at, interaction.TouchpointId, purchase ? at : null);
            }
        }

        public async Task FlushAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken ct)
        {
            await using (var command = Command(connection, transaction, """
                INSERT INTO touchpoint_days (day, touchpoint_id, interactions, rating_sum, rating_count) VALUES ($day, $tp, $n, $sum, $count)
                ON CONFLICT (day, touchpoint_id) DO UPDATE SET interactions = interactions + excluded.interactions,
                    rating_sum = rating_sum + excluded.rating_sum, rating_count = rating_count + excluded.rating_count
                """))
            {
                var (day, tp, n, sum, count) = Params(command, "$day", "$tp", "$n", "$sum", "$count");
                foreach (var ((d, t), v) in _touchpointDays)
                {
                    (day.Value, tp.Value, n.Value, sum.Value, count.Value) = (d, t, v.Count, v.RatingSum, v.RatingCount);
                    await command.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var command = Command(connection, transaction, """
                INSERT INTO touchpoint_day_people (day, touchpoint_id, person_id, first_at, last_at) VALUES ($day, $tp, $person, $first, $last)
                ON CONFLICT (day, touchpoint_id, person_id) DO UPDATE SET first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
                """))
            {
                var (day, tp, person, first, last) = Params(command, "$day", "$tp", "$person", "$first", "$last");
                foreach (var ((d, t, p), v) in _dayPeople)
                {
                    (day.Value, tp.Value, person.Value, first.Value, last.Value) = (d, t, p, v.First, v.Last);
                    await command.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var command = Command(connection, transaction, """
                INSERT INTO person_stage_days (day, person_id, stage_mask) VALUES ($day, $person, $mask)
                ON CONFLICT (day, person_id) DO UPDATE SET stage_mask = stage_mask | excluded.stage_mask WHERE (stage_mask | excluded.stage_mask) <> stage_mask
                """))
            {
                var day = command.Parameters.Add("$day", SqliteType.Integer);
                var person = command.Parameters.Add("$person", SqliteType.Integer);
                var mask = command.Parameters.Add("$mask", SqliteType.Integer);
                foreach (var ((d, p), m) in _stageDays)
                {
                    (day.Value, person.Value, mask.Value) = (d, p, m);
                    await command.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var command = Command(connection, transaction, """
                INSERT INTO person_touchpoints (person_id, touchpoint_id, first_at) VALUES ($person, $tp, $first)
                ON CONFLICT (person_id, touchpoint_id) DO UPDATE SET first_at = excluded.first_at WHERE excluded.first_at < first_at
                """))
            {
                var person = command.Parameters.Add("$person", SqliteType.Integer);
                var tp = command.Parameters.Add("$tp", SqliteType.Text);
                var first = command.Parameters.Add("$first", SqliteType.Integer);
                foreach (var ((p, t), f) in _personTouchpoints)
                {
                    (person.Value, tp.Value, first.Value) = (p, t, f);
                    await command.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var command = Command(connection, transaction, "INSERT OR IGNORE INTO purchases (person_id, at, day) VALUES ($person, $at, $day)"))
            {
                var person = command.Parameters.Add("$person", SqliteType.Integer);
                var at = command.Parameters.Add("$at", SqliteType.Integer);
                var day = command.Parameters.Add("$day", SqliteType.Integer);
                foreach (var (p, a, d) in _purchases)
                {
                    (person.Value, at.Value, day.Value) = (p, a, d);
                    await command.ExecuteNonQueryAsync(ct);
                }
            }

            await using (var command = Command(connection, transaction, """
                UPDATE person_state SET
                    last_touchpoint_id = CASE WHEN $last >= last_at THEN $tp ELSE last_touchpoint_id END,
                    last_at = max(last_at, $last),
                    last_purchase_at = CASE WHEN $purchase IS NULL THEN last_purchase_at ELSE max(coalesce(last_purchase_at, $purchase), $purchase) END
                WHERE person_id = $person
                """))
            {
                var person = command.Parameters.Add("$person", SqliteType.Integer);
                var last = command.Parameters.Add("$last", SqliteType.Integer);
                var tp = command.Parameters.Add("$tp", SqliteType.Text);
                var purchase = command.Parameters.Add("$purchase", SqliteType.Integer);
                foreach (var (p, s) in _people)
                {
                    (person.Value, last.Value, tp.Value) = (p, s.LastAt, s.Touchpoint);
                    purchase.Value = s.PurchaseAt is { } at ? at : DBNull.Value;
                    await command.ExecuteNonQueryAsync(ct);
                }
            }
        }

        private static (SqliteParameter, SqliteParameter, SqliteParameter, SqliteParameter, SqliteParameter) Params(SqliteCommand command, string a, string b, string c, string d, string e) =>
            (command.Parameters.Add(a, SqliteType.Integer), command.Parameters.Add(b, SqliteType.Text), command.Parameters.Add(c, SqliteType.Integer),
             command.Parameters.Add(d, SqliteType.Integer), command.Parameters.Add(e, SqliteType.Integer));
    }
}

/// <summary>
/// The fields most interactions leave empty, kept as one JSON column (empty text when all are empty) so
/// the common row binds eight values instead of fifteen on the ingest path.
/// </summary>
internal sealed record InteractionDetails(
    string? Content, string? Recommendation, int Rating, string? Comment, string? Currency, long Units, int Nanos, Dictionary<string, string>? Properties)
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault };

    public static string Write(Interaction x) =>
        x.Content.Length == 0 && x.Recommendation.Length == 0 && x.Rating == 0 && x.Comment.Length == 0 && x.Value is null && x.Properties.Count == 0
            ? ""
            : JsonSerializer.Serialize(
                new InteractionDetails(
                    NullIfEmpty(x.Content), NullIfEmpty(x.Recommendation), x.Rating, NullIfEmpty(x.Comment), x.Value?.CurrencyCode, x.Value?.Units ?? 0, x.Value?.Nanos ?? 0,
                    x.Properties.Count == 0 ? null : new Dictionary<string, string>(x.Properties)),
                Options);

    public static InteractionDetails Read(string json) =>
        json.Length == 0 ? new(null, null, 0, null, null, 0, 0, null) : JsonSerializer.Deserialize<InteractionDetails>(json, Options)!;

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
