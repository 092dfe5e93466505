using Journey.Shared.Events;
using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>An interaction as a sender reports it (e-mail and phone in clear form).</summary>
public sealed record InteractionInput(
    string EventId,
    string Touchpoint,
    DateTimeOffset? OccurredAt,
    IReadOnlyList<(IdentifierKind Kind, string Value)> Identifiers,
    InteractionType Type,
    string Content,
    string Recommendation,
    int Rating,
    string Comment,
    MoneyAmount? Value,
    IReadOnlyDictionary<string, string> Properties);

/// <summary>An accepted interaction (e-mail and phone as keyed hashes).</summary>
public sealed record Interaction(
    string EventId,
    string TouchpointId,
    DateTimeOffset OccurredAt,
    IReadOnlyList<PersonIdentifier> Identifiers,
    InteractionType Type,
    string Content,
    string Recommendation,
    int Rating,
    string Comment,
    MoneyAmount? Value,
    IReadOnlyDictionary<string, string> Properties,
    DateTimeOffset RecordedAt);

/// <summary>A validated interaction on its way into the log, with what the aggregates need and its event.</summary>
/// <param name="Interaction">The interaction.</param>
/// <param name="StageMask">The stages it counts for: its touchpoint's, plus purchase for a purchase.</param>
/// <param name="Event">Its <c>interaction-recorded</c> event, appended only when it is not a duplicate.</param>
public sealed record PendingInteraction(Interaction Interaction, int StageMask, OutboxMessage Event)
{
    /// <summary>
    /// The content's fingerprint, which tells a re-send from a reused id (see <see cref="InteractionFingerprint"/>).
    /// Computed with the interaction, on the caller's thread, so the store's single writer never waits for a hash.
    /// </summary>
    public byte[] Fingerprint { get; } = InteractionFingerprint.Of(Interaction);

    /// <summary>The fingerprint in lowercase hex, as the MongoDB claim documents keep it.</summary>
    public string FingerprintHex => Convert.ToHexStringLower(Fingerprint);
}

/// <summary>What became of one interaction the log was given.</summary>
public enum Appended
{
    /// <summary>Stored now.</summary>
    Stored,

    /// <summary>Its id was stored before with the same content: nothing changed.</summary>
    Duplicate,

    /// <summary>Its id was stored before with other content: nothing changed, the new content was not kept.</summary>
    Conflict,
}

/// <summary>How a store that reads the claimed ids first decides each item's outcome.</summary>
public static class AppendDecisions
{
    /// <summary>
    /// The outcome of each item, in order, given the fingerprints already stored under the items' ids
    /// (empty for an id claimed before fingerprints were kept). An id met earlier in the same batch
    /// counts as stored with that item's fingerprint.
    /// </summary>
    public static Appended[] Decide(IReadOnlyList<string> ids, IReadOnlyList<string> fingerprints, IReadOnlyDictionary<string, string> stored)
    {
        var outcomes = new Appended[ids.Count];
        var claimed = new Dictionary<string, string>(stored, StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            if (claimed.TryAdd(ids[i], fingerprints[i]))
            {
                outcomes[i] = Appended.Stored;
            }
            else
            {
                var earlier = claimed[ids[i]];
                outcomes[i] = earlier.Length > 0 && earlier != fingerprints[i] ? Appended.Conflict : Appended.Duplicate;
            }
        }

        return outcomes;
    }
}

/// <summary>
/// The content of an interaction as its sender gave it, reduced to 16 bytes (the start of a SHA-256):
/// touchpoint, time (to the millisecond), type, identifiers (e-mail and phone hashed, in any order),
/// content, recommendation, rating, comment, value and properties (in any order), each written as its
/// length in UTF-16 code units, a colon, itself and a bar, and the whole hashed as UTF-8. The time it
/// reached the service is not content, so an identical re-send has the same fingerprint and anything a
/// sender changed gives another. Stored fingerprints depend on this exact text: it never changes.
/// </summary>
public static class InteractionFingerprint
{
    // Every interaction passes here on the ingestion path: the text is built in a buffer kept per
    // thread, so a fingerprint allocates nothing but its own 16 bytes.
    [ThreadStatic]
    private static System.Text.StringBuilder? t_text;

    /// <summary>The fingerprint of <paramref name="interaction"/>.</summary>
    public static byte[] Of(Interaction interaction)
    {
        var text = t_text ??= new System.Text.StringBuilder(512);
        text.Clear();
        Field(text, interaction.TouchpointId);
        Number(text, interaction.OccurredAt.ToUnixTimeMilliseconds());
        Number(text, (int)interaction.Type);
        foreach (var key in interaction.Identifiers.Select(i => i.Key).Order(StringComparer.Ordinal))
        {
            Field(text, key);
        }

        Field(text, interaction.Content);
        Field(text, interaction.Recommendation);
        Number(text, interaction.Rating);
        Field(text, interaction.Comment);
        if (interaction.Value is { } value)
        {
            Span<char> money = stackalloc char[96];
            Field(text, money.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{value.CurrencyCode} {value.Units} {value.Nanos}", out var written)
                ? money[..written]
                : FormattableString.Invariant($"{value.CurrencyCode} {value.Units} {value.Nanos}"));
        }
        else
        {
            Field(text, "");
        }

        foreach (var (key, property) in interaction.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Field(text, key);
            Field(text, property);
        }

        var chars = System.Buffers.ArrayPool<char>.Shared.Rent(text.Length);
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            text.CopyTo(0, chars, 0, text.Length);
            var length = System.Text.Encoding.UTF8.GetBytes(chars, 0, text.Length, bytes, 0);
            Span<byte> digest = stackalloc byte[32];
            System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(0, length), digest);
            return digest[..16].ToArray();
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(chars);
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private static void Field(System.Text.StringBuilder text, ReadOnlySpan<char> value) =>
        text.Append(value.Length).Append(':').Append(value).Append('|');

    private static void Number(System.Text.StringBuilder text, long number)
    {
        Span<char> digits = stackalloc char[20];
        number.TryFormat(digits, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        Field(text, digits[..written]);
    }
}

/// <summary>An interaction of a batch that broke a rule.</summary>
/// <param name="Index">Its position in its batch.</param>
/// <param name="EventId">Its event id.</param>
/// <param name="Field">The first field that broke a rule.</param>
/// <param name="Reason">The rule.</param>
public sealed record Rejection(int Index, string EventId, string Field, string Reason);

/// <summary>What became of a batch.</summary>
/// <param name="Accepted">Stored.</param>
/// <param name="Duplicates">Already recorded.</param>
/// <param name="Rejected">Broke a rule, or reused an id recorded before with other content (then also in <paramref name="Conflicts"/>).</param>
/// <param name="Conflicts">How many of <paramref name="Rejected"/> reused an id with other content.</param>
public sealed record BatchOutcome(int Accepted, int Duplicates, IReadOnlyList<Rejection> Rejected, int Conflicts);

/// <summary>Where a timeline page starts: after this interaction (newest first).</summary>
/// <param name="OccurredAt">Its time.</param>
/// <param name="Sequence">Its position in the log (ties on time).</param>
public sealed record TimelineCursor(DateTimeOffset OccurredAt, long Sequence);

/// <summary>An interaction in a timeline, with its cursor.</summary>
/// <param name="Interaction">The interaction.</param>
/// <param name="Cursor">Where the next page starts if this is the last of a page.</param>
/// <param name="ProfileId">The profile the interaction is attributed to (see <see cref="Attribution"/>); null while no profile held any of its identifiers.</param>
public sealed record TimelineEntry(Interaction Interaction, TimelineCursor Cursor, string? ProfileId = null)
{
    /// <summary>Other known customers' profiles its identifiers pointed at when it happened (see <see cref="Attribution"/>); empty for most.</summary>
    public IReadOnlyList<string> ConflictingProfiles { get; init; } = [];
}

/// <summary>How much one store transaction of interactions should hold at most.</summary>
/// <param name="Interactions">Interactions.</param>
/// <param name="Bytes">Bytes of the stream messages that carried them, as received.</param>
public sealed record TransactionBudget(int Interactions, long Bytes)
{
    /// <summary>No limit of the store's own: the settings decide.</summary>
    public static TransactionBudget Unbounded { get; } = new(int.MaxValue, long.MaxValue);
}

/// <summary>A merge the profile service announced.</summary>
/// <param name="EventId">The event id (claimed in the inbox).</param>
/// <param name="Survivor">The surviving profile id (without the <c>profiles/</c> prefix).</param>
/// <param name="Merged">The merged-away profile id.</param>
/// <param name="MovedIdentifiers">Identifiers of the merged profile (e-mail and phone as hashes).</param>
/// <param name="MergedAt">When the profile service merged them.</param>
public sealed record ProfileMerge(string EventId, string Survivor, string Merged, IReadOnlyList<PersonIdentifier> MovedIdentifiers, DateTimeOffset MergedAt)
{
    /// <summary>When the event was stamped (its envelope's time); <see cref="MergedAt"/> when not set.</summary>
    public DateTimeOffset? PublishedAt { get; init; }

    /// <summary>The erasure-tombstone keys of both profiles and the moved identifiers: a tombstone blocking one of them drops the merge.</summary>
    public IReadOnlyList<string> ErasureKeys { get; init; } = [];
}

/// <summary>A merge the profile service undid (<c>profile-split</c>).</summary>
/// <param name="EventId">The event id (claimed in the inbox).</param>
/// <param name="Survivor">The profile that stays (without the <c>profiles/</c> prefix).</param>
/// <param name="Restored">The profile that comes back.</param>
/// <param name="RestoredAliases">Profiles merged into <paramref name="Restored"/> before, which name it again.</param>
/// <param name="RestoredIdentifiers">The identifiers it holds again (e-mail and phone as hashes).</param>
/// <param name="MergedAt">When the undone merge happened.</param>
public sealed record ProfileSplitNotice(string EventId, string Survivor, string Restored, IReadOnlyList<string> RestoredAliases, IReadOnlyList<PersonIdentifier> RestoredIdentifiers, DateTimeOffset MergedAt)
{
    /// <summary>When the event was stamped (its envelope's time).</summary>
    public DateTimeOffset PublishedAt { get; init; }

    /// <summary>The erasure-tombstone keys of the restored profile, its aliases and identifiers: a tombstone blocking one of them drops the split.</summary>
    public IReadOnlyList<string> ErasureKeys { get; init; } = [];
}

/// <summary>A profile as the profile service announced it in <c>profile-updated</c>: the identifiers it holds.</summary>
/// <param name="EventId">The event id (claimed in the inbox).</param>
/// <param name="ProfileId">The profile id (without the <c>profiles/</c> prefix).</param>
/// <param name="Identifiers">Every identifier it holds now (e-mail and phone as hashes).</param>
/// <param name="Version">The profile's version: a snapshot older than one applied is ignored.</param>
/// <param name="UpdatedAt">When the snapshot was taken.</param>
public sealed record ProfileSnapshot(string EventId, string ProfileId, IReadOnlyList<PersonIdentifier> Identifiers, long Version, DateTimeOffset UpdatedAt)
{
    /// <summary>When the event was stamped (its envelope's time); <see cref="UpdatedAt"/> when not set.</summary>
    public DateTimeOffset? PublishedAt { get; init; }

    /// <summary>The erasure-tombstone keys of the profile and its identifiers: a tombstone blocking one of them drops the snapshot.</summary>
    public IReadOnlyList<string> ErasureKeys { get; init; } = [];
}

/// <summary>What an erasure leaves of the people linked to the erased identifiers: another customer's interactions and their identifiers' links.</summary>
/// <param name="EventIds">Interactions to keep: attributed to a profile that is not erased, and carrying no erased identifier.</param>
/// <param name="LinkKeys">Identifier keys whose links to stay (those the kept interactions carry, none erased).</param>
public sealed record ErasureKeep(IReadOnlySet<string> EventIds, IReadOnlySet<string> LinkKeys)
{
    /// <summary>Nothing kept: everyone linked goes.</summary>
    public static ErasureKeep None { get; } = new(new HashSet<string>(), new HashSet<string>());
}

/// <summary>A profile as the touchpoint service knows it now.</summary>
/// <param name="ProfileId">The live profile: the one asked for, or the survivor it was merged into.</param>
/// <param name="Identifiers">The identifiers it holds, by its latest snapshot and the merges into it since.</param>
/// <param name="MergedIds">The profiles merged into it.</param>
public sealed record KnownProfile(string ProfileId, IReadOnlyList<PersonIdentifier> Identifiers, IReadOnlyList<string> MergedIds)
{
    /// <summary>Identifiers it or a profile merged into it held before and holds no more (a shared cookie another customer uses now).</summary>
    public IReadOnlyList<PersonIdentifier> FormerIdentifiers { get; init; } = [];
}

/// <summary>A live profile that holds an identifier.</summary>
/// <param name="Key">The identifier's <see cref="PersonIdentifier.Key"/> (a profile id without the <c>profiles/</c> prefix).</param>
/// <param name="ProfileId">The profile.</param>
/// <param name="UpdatedAt">When its snapshot was taken: of two holders, the later is the identifier's owner now.</param>
public sealed record ProfileHolding(string Key, string ProfileId, DateTimeOffset UpdatedAt);

/// <summary>
/// The interaction log: raw interactions (kept for the retention window), the links between a
/// person's identifiers, and the aggregates analytics read, all updated in one transaction per batch.
/// </summary>
public interface IInteractionLog
{
    /// <summary>
    /// The most one <see cref="AppendAsync"/> transaction of this store should hold; consecutive stream
    /// messages are written together only within it (a single message is never split).
    /// </summary>
    TransactionBudget TransactionBudget { get; }

    /// <summary>
    /// Stores each interaction whose event id was not recorded before, with its event, its
    /// <see cref="PendingInteraction.Fingerprint"/> and its share of the aggregates, in one transaction.
    /// Returns, per item, <see cref="Appended.Stored"/>, or for an id recorded before (also by an earlier
    /// item of the same batch) <see cref="Appended.Duplicate"/> when the fingerprints match and
    /// <see cref="Appended.Conflict"/> when they differ. An id stored before fingerprints were kept
    /// counts as a duplicate.
    /// </summary>
    Task<IReadOnlyList<Appended>> AppendAsync(IReadOnlyList<PendingInteraction> batch, CancellationToken cancellationToken);

    /// <summary>
    /// The interactions of everyone linked to <paramref name="identifier"/>, newest first, after
    /// <paramref name="after"/>; <see cref="TimelineEntry.ProfileId"/> is left null.
    /// </summary>
    Task<IReadOnlyList<TimelineEntry>> TimelineAsync(PersonIdentifier identifier, TimelineCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The interactions recorded with at least one of <paramref name="identifiers"/>, and no others,
    /// newest first, after <paramref name="after"/>; <see cref="TimelineEntry.ProfileId"/> is left null.
    /// </summary>
    Task<IReadOnlyList<TimelineEntry>> RecordedWithAsync(IReadOnlyList<PersonIdentifier> identifiers, TimelineCursor? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Links the people of merged profiles, and hands the merged profile's identifiers to the survivor
    /// unless the survivor's snapshot already was taken after the merge; the merged profile's holdings
    /// become the survivor's, and a moved identifier it had none of is held from the merge on; claims
    /// each event in the inbox.
    /// A merge an erasure tombstone blocks (<see cref="ProfileMerge.ErasureKeys"/>) is claimed and skipped.
    /// </summary>
    Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Undoes merges: the restored profile is live again with its aliases and the identifiers it takes
    /// back, and the survivor's holdings of those identifiers that began at or after the merge become the
    /// restored profile's, so the interactions that came through them are attributed to it again; the
    /// links between profiles and people the merge added are removed, as they were before it; claims
    /// each event in the inbox. A split an erasure tombstone blocks (<see cref="ProfileSplitNotice.ErasureKeys"/>)
    /// is claimed and skipped.
    /// </summary>
    Task ApplySplitsAsync(IReadOnlyList<ProfileSplitNotice> splits, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces each profile's identifiers with its snapshot's, unless a snapshot of the same or a later
    /// version was applied or the profile was merged away, and records a holding of each identifier it
    /// gains, from <see cref="Attribution.HeldSince"/> over the newer snapshots of the batch; claims each
    /// event in the inbox. A snapshot an erasure tombstone blocks (<see cref="ProfileSnapshot.ErasureKeys"/>)
    /// is claimed and skipped.
    /// </summary>
    Task ApplyProfilesAsync(IReadOnlyList<ProfileSnapshot> snapshots, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The profile <paramref name="profileId"/> names now (the survivor when it was merged), or null when no event named it.</summary>
    Task<KnownProfile?> ProfileAsync(string profileId, CancellationToken cancellationToken);

    /// <summary>
    /// The live profiles holding any of <paramref name="identifiers"/>; a profile id (bare) is held by the
    /// profile it names now.
    /// </summary>
    Task<IReadOnlyList<ProfileHolding>> HoldersAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>
    /// Every holding of <paramref name="identifiers"/>, past and present (see <see cref="IdentifierHolding"/>):
    /// one per time a profile came to hold one, named by the live profile, plus a current holding kept
    /// from before holdings were recorded (from its snapshot's time). A profile id (bare) is held by the
    /// profile it names, since ever. Holdings of erased profiles are gone.
    /// </summary>
    Task<IReadOnlyList<IdentifierHolding>> HoldingsAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the interactions and identifier links of everyone linked to <paramref name="identifiers"/>,
    /// except the interactions and links <paramref name="keep"/> names (another customer's, who shared a
    /// device), forgets <paramref name="profiles"/> (their identifiers and holdings, and the profiles
    /// merged into them) and every holding of <paramref name="identifiers"/>, writes
    /// <paramref name="tombstones"/>, and appends the event <paramref name="completed"/> builds from the
    /// count, in one transaction. Does nothing when <paramref name="eventId"/> was handled before.
    /// </summary>
    Task EraseAsync(
        string eventId,
        IReadOnlyList<PersonIdentifier> identifiers,
        ErasureKeep keep,
        IReadOnlyList<string> profiles,
        IReadOnlyList<ErasureTombstone> tombstones,
        Func<long, OutboxMessage> completed,
        DateTimeOffset now,
        CancellationToken cancellationToken);

    /// <summary>Removes up to <paramref name="max"/> raw interactions that happened before <paramref name="cutoff"/>; returns how many.</summary>
    Task<int> SweepAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken);
}
