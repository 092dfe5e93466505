using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Recommendation.Domain;

/// <summary>A profile snapshot (from ProfileUpdated).</summary>
public sealed record ProfileSnapshot(string ProfileKey, IReadOnlyList<string> IdentifierKeys, Stage Stage, int Readiness, IReadOnlyList<Interest> Interests, int OpenServiceTickets, IReadOnlyList<string> Consumed, long Version);

/// <summary>A merge of two profiles (from ProfilesMerged).</summary>
public sealed record ProfileMerge(string SurvivorKey, string MergedKey, IReadOnlyList<string> MovedIdentifierKeys);

/// <summary>A merge undone (from ProfileSplit), with both profiles' snapshots after it.</summary>
/// <param name="Survivor">The profile that stays.</param>
/// <param name="Restored">The profile that comes back.</param>
/// <param name="RestoredAliasKeys">Profile keys merged into the restored profile before, which name it again.</param>
public sealed record ProfileSplitFact(ProfileSnapshot Survivor, ProfileSnapshot Restored, IReadOnlyList<string> RestoredAliasKeys);

/// <summary>A consent decision (from ConsentChanged); no channels means every channel of the purpose.</summary>
public sealed record ConsentDecision(IReadOnlyList<string> IdentifierKeys, string Purpose, bool Granted, IReadOnlyList<ChannelKind> Channels);

/// <summary>Interaction types this service reacts to, numbered as in journey.common.v1.InteractionType.</summary>
public enum InteractionKind
{
    Other = 0,
    Click = 2,
    ContentConsumed = 5,
    Purchase = 8,
    ServiceTicketOpened = 9,
    ServiceTicketResolved = 10,
    TestDriveBooked = 11,
    RecommendationImpression = 13,
    RecommendationClick = 14,
}

/// <summary>An interaction (from InteractionRecorded).</summary>
public sealed record InteractionFact(IReadOnlyList<string> IdentifierKeys, InteractionKind Kind, string ContentId, string RecommendationId, DateTimeOffset OccurredAt);

/// <summary>An erasure request (from ErasureRequested).</summary>
/// <param name="Erasure">The erasure, <c>erasures/{erasure}</c>.</param>
/// <param name="IdentifierKeys">The person's identifier keys.</param>
/// <param name="RequestedAt">When the erasure was requested: events stamped before it settled are dropped.</param>
public sealed record ErasureOrder(string Erasure, IReadOnlyList<string> IdentifierKeys, DateTimeOffset RequestedAt);

/// <summary>An event to project, with its id for the inbox.</summary>
public sealed record Incoming<T>(string EventId, T Fact)
{
    /// <summary>When the event was stamped (its envelope's time), which erasure tombstones compare; when not set, the time it is applied.</summary>
    public DateTimeOffset? PublishedAt { get; init; }
}

/// <summary>
/// Keeps the read models from events, one transaction per batch, each event claimed in the inbox so a
/// redelivery changes nothing. An event that carries identifiers an erasure tombstone blocks (stamped
/// before the erasure settled) is claimed and skipped, so it never brings an erased person back.
/// </summary>
public sealed class AudienceProjector(IAudienceStore store, RecommendationJournal journal, LearningModel learning, IRecommendationEvents events, ErasureTombstones tombstones, TimeProvider time)
{
    /// <summary>How many recent consumptions pair with a new one for co-consumption counts.</summary>
    public const int CoConsumptionWindow = 10;

    public Task ApplyProfilesAsync(string consumer, IReadOnlyList<Incoming<ProfileSnapshot>> batch, CancellationToken cancellationToken) =>
        ForEachAsync(consumer, batch, s => s.IdentifierKeys.Prepend(s.ProfileKey), ApplySnapshotAsync, cancellationToken);

    /// <summary>
    /// Undoes merges: the restored profile's person is rebuilt with its identifiers taken back from the
    /// survivor's, which keeps the rest, and both take the snapshots the split carries. Consumed content is
    /// the snapshots' (not added to what the merged person had). The restored person starts with no
    /// consent grant, none being extended to another person: the consent service's own split publishes
    /// the decisions the restored person holds again. Recommendations and impressions made while merged
    /// stay with the survivor: nothing says whose they were.
    /// </summary>
    public Task ApplySplitsAsync(string consumer, IReadOnlyList<Incoming<ProfileSplitFact>> batch, CancellationToken cancellationToken) =>
        ForEachAsync(consumer, batch, s => s.Restored.IdentifierKeys.Prepend(s.Restored.ProfileKey).Concat(s.RestoredAliasKeys), async (session, split, ct) =>
        {
            var back = split.Restored.IdentifierKeys.Prepend(split.Restored.ProfileKey).Concat(split.RestoredAliasKeys).ToHashSet(StringComparer.Ordinal);
            var survivor = await session.FindPersonAsync([split.Survivor.ProfileKey], ct);
            var restored = await session.FindPersonAsync([split.Restored.ProfileKey], ct);
            if (restored is not null && restored.Key != split.Restored.ProfileKey)
            {
                // The restored profile's key still names the survivor's person: the split has not been applied.
                restored = null;
            }

            if (survivor is not null && survivor.Key == split.Survivor.ProfileKey)
            {
                await session.SavePersonAsync(survivor with { IdentifierKeys = [.. survivor.IdentifierKeys.Where(k => !back.Contains(k))], Consumed = split.Survivor.Consumed }, ct);
            }

            await session.SavePersonAsync(
                (restored ?? new PersonState { Key = split.Restored.ProfileKey }) with
                {
                    IdentifierKeys = Union(restored?.IdentifierKeys ?? [], back),
                    Consumed = split.Restored.Consumed,
                },
                ct);
            await ApplySnapshotAsync(session, split.Survivor, ct);
            await ApplySnapshotAsync(session, split.Restored, ct);
        }, cancellationToken);

    private async Task ApplySnapshotAsync(IAudienceSession session, ProfileSnapshot snapshot, CancellationToken ct)
    {
        var keys = snapshot.IdentifierKeys.Prepend(snapshot.ProfileKey).Distinct(StringComparer.Ordinal).ToList();
        // The profile's own person, else one no profile has claimed yet (built from events before its
        // first snapshot); never another profile's, which the profile service keeps apart from this one.
        var existing = await session.FindPersonAsync([snapshot.ProfileKey], ct);
        if (existing is null && await FindByStrengthAsync(session, keys, ct) is { } found && !IsProfileKey(found.Person.Key))
        {
            existing = found.Person;
        }

        // A person found by this profile's key but kept under another's is that survivor's, the profile
        // merged into it: a snapshot of the merged profile still on its way changes nothing.
        if (existing is not null && (existing.ProfileVersion > snapshot.Version || (existing.Key != snapshot.ProfileKey && IsProfileKey(existing.Key))))
        {
            return;
        }

        // An identifier the snapshot holds that another person lists (a shared cookie) follows this profile.
        foreach (var key in keys.Skip(1))
        {
            if (await session.FindPersonAsync([key], ct) is { } other && other.Key != snapshot.ProfileKey && other.Key != existing?.Key)
            {
                await session.SavePersonAsync(other with { IdentifierKeys = [.. other.IdentifierKeys.Where(k => k != key)] }, ct);
            }
        }

        if (existing is not null && existing.Key != snapshot.ProfileKey)
        {
            await session.RekeyAsync(existing.Key, snapshot.ProfileKey, ct);
            await session.DeletePersonAsync(existing.Key, ct);
        }

        var person = (existing ?? new PersonState { Key = snapshot.ProfileKey }) with
        {
            Key = snapshot.ProfileKey,
            IdentifierKeys = Union(existing?.IdentifierKeys ?? [], keys),
            Stage = snapshot.Stage == Stage.Unspecified ? Stage.Awareness : snapshot.Stage,
            Readiness = Math.Clamp(snapshot.Readiness, 0, 100),
            Interests = snapshot.Interests,
            OpenServiceTickets = Math.Max(0, snapshot.OpenServiceTickets),
            Consumed = Union(snapshot.Consumed, existing?.Consumed ?? []).Take(PersonState.MaxConsumed).ToList(),
            ProfileVersion = snapshot.Version,
        };
        await session.SavePersonAsync(person, ct);
    }

    public async Task ApplyMergesAsync(string consumer, IReadOnlyList<Incoming<ProfileMerge>> batch, CancellationToken cancellationToken)
    {
        // Recommendations answered before the merge are re-keyed with the person's other rows, so they must be stored first.
        await journal.FlushAsync(cancellationToken);
        await ForEachAsync(consumer, batch, m => m.MovedIdentifierKeys.Append(m.SurvivorKey).Append(m.MergedKey), async (session, merge, ct) =>
        {
            var merged = await session.FindPersonAsync([merge.MergedKey], ct);
            var survivor = await session.FindPersonAsync([merge.SurvivorKey], ct);
            if (merged is null || merged.Key == survivor?.Key)
            {
                return;
            }

            await session.RekeyAsync(merged.Key, merge.SurvivorKey, ct);
            await session.DeletePersonAsync(merged.Key, ct);
            var person = (survivor ?? merged) with
            {
                Key = merge.SurvivorKey,
                IdentifierKeys = Union(survivor?.IdentifierKeys ?? [merge.SurvivorKey], Union(merged.IdentifierKeys, merge.MovedIdentifierKeys)),
                Consumed = Union(survivor?.Consumed ?? [], merged.Consumed).Take(PersonState.MaxConsumed).ToList(),
                AllowedPurposes = survivor?.AllowedPurposes ?? merged.AllowedPurposes,
                OpenServiceTickets = Math.Max(survivor?.OpenServiceTickets ?? 0, merged.OpenServiceTickets),
            };
            await session.SavePersonAsync(person, ct);
        }, cancellationToken);
    }

    public Task ApplyConsentAsync(string consumer, IReadOnlyList<Incoming<ConsentDecision>> batch, CancellationToken cancellationToken) =>
        ForEachAsync(consumer, batch, d => d.IdentifierKeys, async (session, decision, ct) =>
        {
            var person = await FindOrCreateAsync(session, decision.IdentifierKeys, ct);
            var grants = ConsentGrants.Apply(person.AllowedPurposes, decision.Purpose, decision.Granted, decision.Channels);
            await session.SavePersonAsync(person with { AllowedPurposes = grants }, ct);
        }, cancellationToken);

    public async Task ApplyInteractionsAsync(string consumer, IReadOnlyList<Incoming<InteractionFact>> batch, CancellationToken cancellationToken)
    {
        // Recommendations are looked up before the transaction: they never change once written.
        var records = new Dictionary<string, RecommendationRecord>(StringComparer.Ordinal);
        foreach (var id in batch.Select(b => b.Fact.RecommendationId).Where(id => id.Length > 0).Distinct())
        {
            if (await journal.GetAsync(id, cancellationToken) is { } record)
            {
                records[id] = record;
            }
        }

        // Most interactions (page views, opens, searches) change nothing here; they are neither claimed nor
        // hashed against the tombstones, and a batch of only those opens no transaction.
        var effective = batch.Where(b => ChangesSomething(b.Fact, records)).ToList();
        if (effective.Count == 0)
        {
            return;
        }

        var deltas = await store.WriteAsync(async (session, ct) =>
        {
            // Collected per attempt: the store runs this again after a transient abort, and only
            // the attempt that commits may reach the in-memory model.
            var collected = new List<ItemStats>();
            await ClaimEachAsync(session, consumer, effective, f => f.IdentifierKeys, (fact, c) => ApplyInteractionAsync(session, fact, records, collected, c), ct);
            return collected;
        }, cancellationToken);

        foreach (var delta in deltas)
        {
            learning.Apply(delta);
        }
    }

    /// <summary>The feedback <paramref name="fact"/> gives an item of a stored recommendation, if any.</summary>
    private static (FeedbackType Type, RecommendationRecord Record)? FeedbackOf(InteractionFact fact, Dictionary<string, RecommendationRecord> records)
    {
        var feedback = fact.Kind switch
        {
            InteractionKind.RecommendationImpression => FeedbackType.Impression,
            InteractionKind.RecommendationClick or InteractionKind.Click => FeedbackType.Click,
            InteractionKind.Purchase or InteractionKind.TestDriveBooked => FeedbackType.Conversion,
            _ => FeedbackType.Unspecified,
        };
        return feedback != FeedbackType.Unspecified && records.TryGetValue(fact.RecommendationId, out var record) && fact.ContentId.Length > 0 && record.ContentIds.Contains(fact.ContentId)
            ? (feedback, record)
            : null;
    }

    /// <summary>Whether <see cref="ApplyInteractionAsync"/> would change anything for <paramref name="fact"/>.</summary>
    private static bool ChangesSomething(InteractionFact fact, Dictionary<string, RecommendationRecord> records) =>
        FeedbackOf(fact, records) is not null
        || (fact.IdentifierKeys.Count > 0
            && ((fact.Kind == InteractionKind.ContentConsumed && fact.ContentId.Length > 0) || fact.Kind is InteractionKind.ServiceTicketOpened or InteractionKind.ServiceTicketResolved));

    private static async Task ApplyInteractionAsync(
        IAudienceSession session, InteractionFact fact, Dictionary<string, RecommendationRecord> records, List<ItemStats> deltas, CancellationToken ct)
    {
        if (FeedbackOf(fact, records) is var (feedback, record))
        {
            deltas.Add(await FeedbackService.ApplyAsync(session, record, fact.ContentId, feedback, fact.OccurredAt, ct));
        }

        if (fact.IdentifierKeys.Count == 0)
        {
            return;
        }

        if (fact.Kind == InteractionKind.ContentConsumed && fact.ContentId.Length > 0)
        {
            var person = await FindOrCreateAsync(session, fact.IdentifierKeys, ct);
            if (person.Consumed.Contains(fact.ContentId))
            {
                return;
            }

            foreach (var earlier in person.Consumed.Take(CoConsumptionWindow))
            {
                await session.AddCoConsumptionAsync(earlier, fact.ContentId, ct);
                await session.AddCoConsumptionAsync(fact.ContentId, earlier, ct);
            }

            await session.SavePersonAsync(person with { Consumed = person.Consumed.Prepend(fact.ContentId).Take(PersonState.MaxConsumed).ToList() }, ct);
        }
        else if (fact.Kind is InteractionKind.ServiceTicketOpened or InteractionKind.ServiceTicketResolved)
        {
            // The next profile snapshot carries the authoritative count; this only closes the gap until then.
            var person = await FindOrCreateAsync(session, fact.IdentifierKeys, ct);
            var tickets = Math.Max(0, person.OpenServiceTickets + (fact.Kind == InteractionKind.ServiceTicketOpened ? 1 : -1));
            await session.SavePersonAsync(person with { OpenServiceTickets = tickets }, ct);
        }
    }

    public Task ApplyTouchpointsAsync(string consumer, IReadOnlyList<Incoming<TouchpointState>> batch, CancellationToken cancellationToken) =>
        ForEachAsync(consumer, batch, null, async (session, touchpoint, ct) =>
        {
            var existing = await session.GetTouchpointAsync(touchpoint.Id, ct);
            if (existing is null || existing.Version <= touchpoint.Version)
            {
                await session.SaveTouchpointAsync(touchpoint, ct);
            }
        }, cancellationToken);

    /// <summary>
    /// Deletes each person (found by any of the order's identifiers) with their links, recommendations
    /// and impressions, and leaves a tombstone for every identifier and key they were known by.
    /// </summary>
    public async Task ApplyErasuresAsync(string consumer, IReadOnlyList<Incoming<ErasureOrder>> batch, CancellationToken cancellationToken)
    {
        // A recommendation answered before the erasure and stored after it would outlive the person.
        await journal.FlushAsync(cancellationToken);
        await ForEachAsync(consumer, batch, null, async (session, order, ct) =>
        {
            long erased = 0;
            var keys = new HashSet<string>(order.IdentifierKeys, StringComparer.Ordinal);
            if (await session.FindPersonAsync(order.IdentifierKeys, ct) is { } person)
            {
                keys.Add(person.Key);
                keys.UnionWith(person.IdentifierKeys);
            }

            foreach (var key in keys)
            {
                erased += await session.DeletePersonAsync(key, ct);
            }

            await session.RememberErasureAsync(tombstones.For(keys.Select(tombstones.Key), order.RequestedAt), time.GetUtcNow(), ct);
            await session.AppendOutboxAsync([events.ErasureCompleted(order.Erasure, erased, time.GetUtcNow())], ct);
        }, cancellationToken);
    }

    /// <summary>
    /// The person an event's identifiers name, as the profile service tells people apart: the person of
    /// its surest linked identifier (profile id, customer id, e-mail, then the rest). A person found only
    /// through a weak identifier (a shared cookie) is not used when it is a known customer's and the event
    /// names a customer of its own. The event's identifiers join the person, except a customer id,
    /// e-mail or profile id another person holds: two known customers never merge here.
    /// </summary>
    private static async Task<PersonState> FindOrCreateAsync(IAudienceSession session, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var found = await FindByStrengthAsync(session, keys, cancellationToken);
        var person = found?.Person;
        if (found is { } hit && !IsStrong(hit.Key) && keys.Any(IsStrong) && hit.Person.IdentifierKeys.Append(hit.Person.Key).Any(IsStrong))
        {
            person = null;
        }

        var joining = new List<string>();
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            if (!IsStrong(key) || await session.FindPersonAsync([key], cancellationToken) is not { } holder || holder.Key == person?.Key)
            {
                joining.Add(key);
            }
        }

        if (person is not null)
        {
            return person with { IdentifierKeys = Union(person.IdentifierKeys, joining) };
        }

        var own = joining.OrderBy(Strength).FirstOrDefault() ?? keys[0];
        return new PersonState { Key = own, IdentifierKeys = joining.Count > 0 ? joining : [own] };
    }

    /// <summary>The person of the surest of <paramref name="keys"/> linked to one, with that key.</summary>
    private static async Task<(PersonState Person, string Key)?> FindByStrengthAsync(IAudienceSession session, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var key in keys.Distinct(StringComparer.Ordinal).OrderBy(Strength))
        {
            if (await session.FindPersonAsync([key], cancellationToken) is { } person)
            {
                return (person, key);
            }
        }

        return null;
    }

    /// <summary>How surely a key names one person, as the profile service chooses a profile: profile id, customer id, e-mail, the rest.</summary>
    private static int Strength(string key) => key.AsSpan(0, Math.Max(0, key.IndexOf(':', StringComparison.Ordinal))) switch
    {
        "7" => 0,
        "1" => 1,
        "2" => 2,
        _ => 3,
    };

    private static bool IsStrong(string key) => Strength(key) < 3;

    private static bool IsProfileKey(string key) => key.StartsWith($"{IdentifierKeys.ProfileId}:", StringComparison.Ordinal);

    private static List<string> Union(IEnumerable<string> first, IEnumerable<string> second) =>
        first.Concat(second).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Claims and applies each event in one transaction of its own (<see cref="ClaimEachAsync"/>).</summary>
    private Task<int> ForEachAsync<T>(
        string consumer, IReadOnlyList<Incoming<T>> batch, Func<T, IEnumerable<string>>? identifiersOf, Func<IAudienceSession, T, CancellationToken, Task> apply, CancellationToken cancellationToken) =>
        store.WriteAsync(async (session, ct) =>
        {
            await ClaimEachAsync(session, consumer, batch, identifiersOf, (fact, c) => apply(session, fact, c), ct);
            return 0;
        }, cancellationToken);

    /// <summary>
    /// Claims and applies each event of <paramref name="batch"/> in the caller's transaction; an event whose
    /// identifiers (<paramref name="identifiersOf"/>, null for events about no person) an erasure tombstone
    /// blocks is claimed and not applied.
    /// </summary>
    private async Task ClaimEachAsync<T>(
        IAudienceSession session, string consumer, IReadOnlyList<Incoming<T>> batch, Func<T, IEnumerable<string>>? identifiersOf, Func<T, CancellationToken, Task> apply, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // One read of the tombstones for the whole batch, inside its transaction.
        var keys = identifiersOf is null ? null : batch.Select(b => identifiersOf(b.Fact).Distinct(StringComparer.Ordinal).Select(tombstones.Key).ToList()).ToList();
        var erased = keys is null ? null : await session.FindErasedAsync([.. keys.SelectMany(k => k)], ct);
        for (var i = 0; i < batch.Count; i++)
        {
            var incoming = batch[i];
            if (await session.TryClaimAsync(consumer, incoming.EventId, now, ct)
                && (erased is null || !ErasureTombstones.Blocks(erased, keys![i], incoming.PublishedAt ?? now)))
            {
                await apply(incoming.Fact, ct);
            }
        }
    }

    /// <summary>Throws for an event whose content can never be applied; the bus then parks it.</summary>
    public static void RequireIdentifiers(IReadOnlyList<string> keys, string field)
    {
        if (keys.Count == 0)
        {
            throw new InvalidArgumentException(field, "must hold at least one identifier");
        }
    }
}
