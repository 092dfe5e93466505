using System.Globalization;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>
/// A person's timeline, and what the profile and consent services ask of it (merges, profile snapshots, erasure).
/// </summary>
/// <remarks>
/// Which profile an interaction is a person's follows the profile service and nothing else: of the
/// interaction's identifiers that a profile holds now (by its latest <c>profile-updated</c>, plus what
/// merges into it handed over since; a profile id is held by the profile it names, or its survivor), the
/// surest decides: a profile id, then a customer id or e-mail, then the others, each in the order
/// recorded. An entry names that profile, and a profile's timeline lists exactly the interactions it
/// names. This service never links identifiers through each other for a profile: when two known
/// customers shared a cookie, the cookie's own interactions are on the timeline of whichever holds the
/// cookie now, and each customer's interactions recorded with their e-mail or customer id stay on theirs.
/// </remarks>
public sealed class PersonTimeline(IInteractionLog log, ITouchpointEvents events, IdentifierHasher hasher, ErasureTombstones tombstones, TimeProvider clock)
{
    private const string ProfilePrefix = "profiles/";

    /// <summary>One page of the timeline of whoever <paramref name="kind"/>/<paramref name="value"/> identifies, newest first.</summary>
    public async Task<(IReadOnlyList<TimelineEntry> Page, string NextPageToken)> ListAsync(IdentifierKind kind, string value, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(kind != IdentifierKind.Unspecified && Enum.IsDefined(kind), "identifier.kind", "must be a known identifier kind");
        validation.Require(value.Length is >= 1 and <= 256, "identifier.value", "must be 1 to 256 characters");
        validation.Require(kind != IdentifierKind.ProfileId || value != ProfilePrefix, "identifier.value", "must be a profile id");
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
            rows = await NameAsync(await log.TimelineAsync(identifier, cursor, size + 1, cancellationToken), cancellationToken);
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
        foreach (var holder in await log.HoldersAsync(identifiers.Select(Lookup).Distinct().ToList(), cancellationToken))
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
        await log.EraseAsync(
            eventId, erased.ToList(), profiles.Order(StringComparer.Ordinal).ToList(), tombstones.For(keys, requestedAt), count => events.ErasureCompleted(erasure, count, now), now, cancellationToken);
    }

    private string TombstoneKey(PersonIdentifier identifier) => tombstones.Key((int)identifier.Kind, identifier.Value);

    private string ProfileKey(string profileId) => tombstones.Key((int)IdentifierKind.ProfileId, profileId);

    /// <summary>Up to <paramref name="limit"/> interactions the profile <paramref name="profileId"/> names (see the remarks), newest first, after <paramref name="cursor"/>.</summary>
    private async Task<List<TimelineEntry>> ProfileTimelineAsync(string profileId, TimelineCursor? cursor, int limit, CancellationToken cancellationToken)
    {
        var profile = await log.ProfileAsync(profileId, cancellationToken);
        var carried = CarriedBy(profileId, profile);
        var page = new List<TimelineEntry>(limit);
        while (true)
        {
            var batch = await log.RecordedWithAsync(carried, cursor, limit, cancellationToken);
            // Another customer's interaction that also carries one of this profile's weaker identifiers is theirs.
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

    /// <summary>Names, on each entry, the profile that now holds the surest of its identifiers any live profile holds.</summary>
    private async Task<IReadOnlyList<TimelineEntry>> NameAsync(IReadOnlyList<TimelineEntry> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return rows;
        }

        var holders = await log.HoldersAsync(rows.SelectMany(r => r.Interaction.Identifiers).Select(Lookup).Distinct().ToList(), cancellationToken);
        if (holders.Count == 0)
        {
            return rows;
        }

        // Two profiles can hold one weak identifier for a moment; the one whose snapshot is later has it now.
        var owners = holders
            .GroupBy(h => h.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(h => h.UpdatedAt).ThenBy(h => h.ProfileId, StringComparer.Ordinal).First().ProfileId, StringComparer.Ordinal);
        return rows.Select(r => r with
        {
            ProfileId = r.Interaction.Identifiers.OrderBy(Strength).Select(i => owners.GetValueOrDefault(Lookup(i).Key)).FirstOrDefault(p => p is not null),
        }).ToList();
    }

    /// <summary>How surely an identifier names one person, surest first: a profile id, then a known customer's (customer id, e-mail), then the rest.</summary>
    private static int Strength(PersonIdentifier identifier) => identifier.Kind switch
    {
        IdentifierKind.ProfileId => 0,
        IdentifierKind.CustomerId or IdentifierKind.Email => 1,
        _ => 2,
    };

    /// <summary>The form profiles hold an identifier in: a profile id without its prefix.</summary>
    private static PersonIdentifier Lookup(PersonIdentifier identifier) =>
        identifier.Kind == IdentifierKind.ProfileId ? identifier with { Value = Bare(identifier.Value) } : identifier;

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
