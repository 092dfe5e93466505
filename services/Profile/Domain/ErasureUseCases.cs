using Journey.Shared.Errors;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// Erasure of a person, asked of the profile service directly or by the consent service's event. An
/// erasure leaves tombstones so that no event stamped before it settled brings the person back.
/// </summary>
public sealed partial class ErasureUseCases(
    IProfileStore store,
    ProfileInput input,
    IProfileEvents events,
    ErasureTombstones tombstones,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    TimeProvider time,
    ILogger<ErasureUseCases> logger)
{
    /// <summary>Inbox consumer of erasure events.</summary>
    public const string ErasureConsumer = "profile.erasure-requested";

    private ProfileOptions Options => options.Value;

    /// <summary>Erases the person holding <paramref name="identifier"/>; returns the records removed.</summary>
    public async Task<long> EraseAsync(GivenIdentifier identifier, string erasure, CancellationToken cancellationToken)
    {
        var key = input.Key(identifier, "identifier");
        if (erasure.Length > 0 && !ProfileInput.IsErasureName(erasure))
        {
            throw new InvalidArgumentException("erasure", "must be erasures/{erasure} or empty");
        }

        return await EraseKeysAsync([key], erasure, time.GetUtcNow(), null, null, cancellationToken);
    }

    /// <summary>Handles an erasure request from the consent service (identifiers already hashed), requested at <paramref name="requestedAt"/>.</summary>
    public async Task EraseRequestedAsync(string eventId, string erasure, IReadOnlyList<IdentifierKey> identifiers, DateTimeOffset requestedAt, CancellationToken cancellationToken)
    {
        var unclaimed = await store.UnclaimedAsync(ErasureConsumer, [eventId], cancellationToken);
        if (unclaimed.Count == 0)
        {
            return;
        }

        await EraseKeysAsync(identifiers, erasure, requestedAt, ErasureConsumer, eventId, cancellationToken);
    }

    /// <summary>
    /// Deletes the profiles holding <paramref name="keys"/> and leaves a tombstone for each of those
    /// keys, each identifier the profiles held and each profile id (their own and those merged into
    /// them), so an event stamped before the erasure settled brings none of them back.
    /// </summary>
    private Task<long> EraseKeysAsync(IReadOnlyList<IdentifierKey> keys, string erasure, DateTimeOffset requestedAt, string? consumer, string? eventId, CancellationToken cancellationToken) =>
        // A profile changed while erasing: read again; what was erased stays erased.
        ConflictRetry.RunAsync(
            async _ =>
            {
                var now = time.GetUtcNow();
                var snapshot = await store.LoadAsync(keys.Where(k => k.Kind != IdentifierKind.ProfileId).ToList(), keys.Where(k => k.Kind == IdentifierKind.ProfileId).Select(k => k.Value).ToList(), cancellationToken);
                var targets = new HashSet<string>(snapshot.Owners.Values, StringComparer.Ordinal);
                foreach (var key in keys.Where(k => k.Kind == IdentifierKind.ProfileId))
                {
                    targets.Add(snapshot.Aliases.GetValueOrDefault(key.Value, key.Value));
                }

                var live = snapshot.Profiles.Where(p => targets.Contains(p.Id)).ToList();
                var liveIds = live.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
                var others = await store.GetManyAsync(live.SelectMany(p => p.Conflicts).Select(c => c.OtherProfileId).Where(id => !liveIds.Contains(id)).Distinct().ToList(), cancellationToken);
                var cleaned = new List<SavedProfile>();
                foreach (var other in others)
                {
                    other.Conflicts.RemoveAll(c => liveIds.Contains(c.OtherProfileId));
                    var expected = other.Version;
                    other.Version = expected + 1;
                    other.UpdatedAt = now;
                    cleaned.Add(new SavedProfile(other, expected));
                }

                var outbox = cleaned.Select(c => events.Updated(c.Profile, JourneyRules.View(c.Profile, Options, now), now)).ToList();
                var aliases = new List<string>();
                foreach (var id in liveIds)
                {
                    aliases.AddRange(await store.AliasesOfAsync(id, cancellationToken));
                }

                var erasedKeys = keys
                    .Concat(live.SelectMany(p => p.Identifiers.Select(i => i.Key)))
                    .Concat(liveIds.Concat(aliases).Select(id => new IdentifierKey(IdentifierKind.ProfileId, id)));
                using var activity = ProfileTelemetry.Source.StartActivity("profile.erase");
                var erased = await store.EraseAsync(
                    new ProfileErasure(liveIds.ToList(), cleaned, outbox, count => events.ErasureCompleted(erasure, count, now))
                    {
                        Consumer = consumer,
                        EventId = eventId,
                        Tombstones = tombstones.For(tombstones.KeysOf(erasedKeys), requestedAt),
                        ErasedAt = now,
                    },
                    cancellationToken);
                changes.Notify(liveIds.Concat(cleaned.Select(c => c.Profile.Id)));
                LogErased(logger, liveIds.Count, erased);
                return erased;
            },
            ex => ex is DomainException { Kind: ErrorKind.Conflict },
            time,
            cancellationToken);

    [LoggerMessage(EventId = 2, EventName = "PersonErased", Level = LogLevel.Information, Message = "Erased {Profiles} profile(s), {Records} records")]
    private static partial void LogErased(ILogger logger, int profiles, long records);
}

/// <summary>Erasure-tombstone keys of profile identifiers.</summary>
public static class ProfileTombstones
{
    /// <summary>The erasure-tombstone keys of <paramref name="keys"/>.</summary>
    public static IEnumerable<string> KeysOf(this ErasureTombstones tombstones, IEnumerable<IdentifierKey> keys) => keys.Select(k => tombstones.Key((int)k.Kind, k.Value));
}
