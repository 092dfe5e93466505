using System.Globalization;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>
/// A person's timeline, and what the profile and consent services ask of it (merges, profile snapshots, erasure).
/// </summary>
/// <remarks>
/// Whose an interaction is follows the profile service and nothing else (<see cref="Attribution"/>):
/// each identifier points at the profile that held it when the interaction happened, by the
/// <c>profile-updated</c> and <c>profiles-merged</c> events, and the surest decides. A profile's
/// timeline lists exactly the interactions attributed to it or to the profiles merged into it, and a
/// timeline by any other identifier is the timeline of the profile holding it now. This service never
/// links identifiers through each other: when two known customers shared a cookie, the cookie's own
/// interactions are on the timeline of whichever held it when they happened, and each customer's
/// interactions recorded with their e-mail or customer id stay on theirs.
/// </remarks>
public sealed class PersonTimeline(IInteractionLog log, ITouchpointEvents events, IdentifierHasher hasher, ErasureTombstones tombstones, TimeProvider clock)
{
    private const string ProfilePrefix = "profiles/";

    /// <summary>One page of the timeline of whoever <paramref name="kind"/>/<paramref name="value"/> identifies, newest first.</summary>
    public async Task<(IReadOnlyList<TimelineEntry> Page, string NextPageToken)> ListAsync(IdentifierKind kind, string value, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(kind != IdentifierKind.Unspecified && Enum.IsDefined(kind), "person.identifiers.identifiers[0].kind", "must be a known identifier kind");
        validation.Require(value.Length is >= 1 and <= 256, "person.identifiers.identifiers[0].value", "must be 1 to 256 characters");
        validation.Require(kind != IdentifierKind.ProfileId || value != ProfilePrefix, "person.identifiers.identifiers[0].value", "must be a profile id");
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        var cursor = DecodeCursor(pageToken);
        validation.Require(pageToken.Length == 0 || cursor is not null, "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();

        var size = PageTokens.Size(pageSize);
        IReadOnlyList<TimelineEntry> rows;
        if (kind == IdentifierKind.ProfileId)
        {
            rows = await ProfileTimelineAsync(Bare(value), cursor, size + 1, cancellationToken);
        }
        else
        {
            var identifier = kind switch
            {
                IdentifierKind.Email => new PersonIdentifier(kind, hasher.HashEmail(value)),
                IdentifierKind.Phone => new PersonIdentifier(kind, hasher.HashPhone(value)),
                _ => new PersonIdentifier(kind, value),
            };
            rows = await HolderAsync(identifier, cancellationToken) is { } holder
                ? await ProfileTimelineAsync(holder, cursor, size + 1, cancellationToken)
                : await NameAsync(await log.RecordedWithAsync([identifier], cursor, size + 1, cancellationToken), cancellationToken);
        }

        if (rows.Count <= size)
        {
            return (rows, "");
        }

        var last = rows[size - 1].Cursor;
        return (rows.Take(size).ToList(),
            PageTokens.Encode(string.Create(CultureInfo.InvariantCulture, $"{last.OccurredAt.ToUnixTimeMilliseconds()}.{last.Sequence}")));
    }

    /// <summary>
    /// Applies profile merges, so a profile's timeline covers everyone merged into it; a merge of an
    /// erased person's profile or identifiers stamped before the erasure settled is skipped.
    /// </summary>
    public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, CancellationToken cancellationToken) =>
        log.ApplyMergesAsync(
            [.. merges.Select(m => m with { ErasureKeys = [.. m.MovedIdentifiers.Select(TombstoneKey), ProfileKey(m.Survivor), ProfileKey(m.Merged)] })],
            clock.GetUtcNow(),
            cancellationToken);

    /// <summary>
    /// Applies undone merges, so each timeline is again what it would be had the merge never happened;
    /// a split naming an erased person's profile or identifiers is skipped.
    /// </summary>
    public Task ApplySplitsAsync(IReadOnlyList<ProfileSplitNotice> splits, CancellationToken cancellationToken) =>
        log.ApplySplitsAsync(
            [.. splits.Select(s => s with { ErasureKeys = [.. s.RestoredIdentifiers.Select(TombstoneKey), ProfileKey(s.Restored), .. s.RestoredAliases.Select(ProfileKey)] })],
            clock.GetUtcNow(),
            cancellationToken);

    /// <summary>
    /// Applies profile snapshots: the identifiers each profile holds now; a snapshot of an erased
    /// person stamped before the erasure settled is skipped.
    /// </summary>
    public Task ApplyProfilesAsync(IReadOnlyList<ProfileSnapshot> snapshots, CancellationToken cancellationToken) =>
        log.ApplyProfilesAsync(
            [.. snapshots.Select(s => s with { ErasureKeys = [.. s.Identifiers.Select(TombstoneKey), ProfileKey(s.ProfileId)] })],
            clock.GetUtcNow(),
            cancellationToken);

    /// <summary>
    /// Erases everyone linked to <paramref name="identifiers"/>, and the profiles holding them or named by
    /// them with every identifier those hold, leaves a tombstone for each of those identifiers and
    /// profiles, and announces it with <c>erasure-completed</c>.
    /// </summary>
    public async Task EraseAsync(string eventId, string erasure, IReadOnlyList<PersonIdentifier> identifiers, DateTimeOffset requestedAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var profiles = identifiers.Where(i => i.Kind == IdentifierKind.ProfileId).Select(i => Bare(i.Value)).ToHashSet(StringComparer.Ordinal);
        foreach (var holder in await log.HoldersAsync(identifiers.Select(Attribution.Lookup).Distinct().ToList(), cancellationToken))
        {
            profiles.Add(holder.ProfileId);
        }

        var erased = new HashSet<PersonIdentifier>(identifiers);
        foreach (var id in profiles.ToList())
        {
            if (await log.ProfileAsync(id, cancellationToken) is { } known)
            {
                profiles.Add(known.ProfileId);
                profiles.UnionWith(known.MergedIds);
                erased.UnionWith(CarriedBy(known.ProfileId, known));
            }
        }

        var keys = erased.Select(TombstoneKey).Concat(profiles.Select(ProfileKey));
        var keep = await KeepAsync(erased, profiles, cancellationToken);
        await log.EraseAsync(
            eventId, erased.ToList(), keep, profiles.Order(StringComparer.Ordinal).ToList(), tombstones.For(keys, requestedAt), count => events.ErasureCompleted(erasure, count, now), now, cancellationToken);
    }

    /// <summary>
    /// Of the interactions the log files with the erased identifiers' people, those of another customer
    /// the profile service keeps apart: attributed to a profile not erased, carrying no erased identifier.
    /// A device two customers shared otherwise takes the other customer's history with it.
    /// </summary>
    private async Task<ErasureKeep> KeepAsync(HashSet<PersonIdentifier> erased, HashSet<string> profiles, CancellationToken cancellationToken)
    {
        const int Page = 500;
        var erasedKeys = erased.SelectMany(i => new[] { i.Key, Attribution.Lookup(i).Key }).ToHashSet(StringComparer.Ordinal);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        var links = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var identifier in erased)
        {
            TimelineCursor? cursor = null;
            while (true)
            {
                var batch = await log.TimelineAsync(identifier, cursor, Page, cancellationToken);
                foreach (var entry in await NameAsync(batch.Where(e => seen.Add(e.Interaction.EventId)).ToList(), cancellationToken))
                {
                    var carried = entry.Interaction.Identifiers;
                    if (entry.ProfileId is { } owner && !profiles.Contains(owner) && !carried.Any(i => erasedKeys.Contains(i.Key) || erasedKeys.Contains(Attribution.Lookup(i).Key)))
                    {
                        kept.Add(entry.Interaction.EventId);
                        links.UnionWith(carried.Select(i => i.Key));
                    }
                }

                if (batch.Count < Page)
                {
                    break;
                }

                cursor = batch[^1].Cursor;
            }
        }

        return kept.Count == 0 ? ErasureKeep.None : new ErasureKeep(kept, links);
    }

    private string TombstoneKey(PersonIdentifier identifier) => tombstones.Key((int)identifier.Kind, identifier.Value);

    private string ProfileKey(string profileId) => tombstones.Key((int)IdentifierKind.ProfileId, profileId);

    /// <summary>Up to <paramref name="limit"/> interactions the profile <paramref name="profileId"/> names (see the remarks), newest first, after <paramref name="cursor"/>.</summary>
    private async Task<List<TimelineEntry>> ProfileTimelineAsync(string profileId, TimelineCursor? cursor, int limit, CancellationToken cancellationToken)
    {
        var profile = await log.ProfileAsync(profileId, cancellationToken);
        var carried = CarriedBy(profileId, profile);
        carried.AddRange(profile?.FormerIdentifiers ?? []);
        var page = new List<TimelineEntry>(limit);
        while (true)
        {
            var batch = await log.RecordedWithAsync(carried, cursor, limit, cancellationToken);
            // An interaction carrying one of this profile's identifiers may be attributed to another: a stronger
            // identifier of theirs, or a weak one they held when it happened.
            page.AddRange((await NameAsync(batch, cancellationToken)).Where(e => e.ProfileId == profile?.ProfileId).Take(limit - page.Count));
            if (page.Count == limit || batch.Count < limit)
            {
                return page;
            }

            cursor = batch[^1].Cursor;
        }
    }

    /// <summary>The identifiers whose interactions are a profile's: those it holds, and its own and its merged profiles' ids.</summary>
    private static List<PersonIdentifier> CarriedBy(string profileId, KnownProfile? profile)
    {
        var carried = new List<PersonIdentifier>(profile?.Identifiers ?? []);
        IEnumerable<string> ids = profile is null ? [profileId] : [profile.ProfileId, .. profile.MergedIds];
        foreach (var id in ids)
        {
            // Senders may give a profile id with or without its prefix; interactions keep it as sent.
            carried.Add(new PersonIdentifier(IdentifierKind.ProfileId, id));
            carried.Add(new PersonIdentifier(IdentifierKind.ProfileId, ProfilePrefix + id));
        }

        return carried;
    }

    /// <summary>
    /// The profile a timeline by <paramref name="identifier"/> is of: the live profile holding it now
    /// (of two holding a weak one for a moment, the later snapshot's), else the last that held it; null
    /// while no profile ever held it.
    /// </summary>
    private async Task<string?> HolderAsync(PersonIdentifier identifier, CancellationToken cancellationToken)
    {
        var lookup = Attribution.Lookup(identifier);
        var holders = await log.HoldersAsync([lookup], cancellationToken);
        if (holders.Count > 0)
        {
            return holders.OrderByDescending(h => h.UpdatedAt).ThenBy(h => h.ProfileId, StringComparer.Ordinal).First().ProfileId;
        }

        return Attribution.HolderAt(await log.HoldingsAsync([lookup], cancellationToken), DateTimeOffset.MaxValue)?.ProfileId;
    }

    /// <summary>Names, on each entry, the profile it is attributed to and the other known customers it points at (<see cref="Attribution"/>).</summary>
    private async Task<IReadOnlyList<TimelineEntry>> NameAsync(IReadOnlyList<TimelineEntry> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return rows;
        }

        var holdings = (await log.HoldingsAsync(rows.SelectMany(r => r.Interaction.Identifiers).Select(Attribution.Lookup).Distinct().ToList(), cancellationToken))
            .ToLookup(h => h.Key, StringComparer.Ordinal);
        return rows.Select(r =>
        {
            var attributed = Attribution.Of(r.Interaction, holdings);
            return r with { ProfileId = attributed.ProfileId, ConflictingProfiles = attributed.ConflictingProfiles };
        }).ToList();
    }

    private static string Bare(string profileId) =>
        profileId.StartsWith(ProfilePrefix, StringComparison.Ordinal) ? profileId[ProfilePrefix.Length..] : profileId;

    private static TimelineCursor? DecodeCursor(string token)
    {
        var text = PageTokens.TryDecode(token);
        var dot = text?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (text is null || dot < 1
            || !long.TryParse(text.AsSpan(0, dot), NumberStyles.Integer, CultureInfo.InvariantCulture, out var millis)
            || !long.TryParse(text.AsSpan(dot + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var sequence)
            || millis is < -62135596800000 or > 253402300799999)
        {
            return null;
        }

        return new TimelineCursor(DateTimeOffset.FromUnixTimeMilliseconds(millis), sequence);
    }
}
