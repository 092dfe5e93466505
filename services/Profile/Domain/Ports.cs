using Journey.Shared.Events;
using Journey.Shared.Privacy;

namespace Journey.Profile.Domain;

/// <summary>What the store knows about a set of identifiers and profile ids.</summary>
/// <param name="Owners">The live profile id owning each identifier found.</param>
/// <param name="Profiles">Every owning or named profile (survivors, for merged-away ids).</param>
/// <param name="Aliases">Merged-away profile ids asked for, and their survivors.</param>
public sealed record IdentitySnapshot(
    IReadOnlyDictionary<IdentifierKey, string> Owners,
    IReadOnlyList<CustomerProfile> Profiles,
    IReadOnlyDictionary<string, string> Aliases);

/// <summary>A profile to write; its <see cref="CustomerProfile.Version"/> is already the new version.</summary>
/// <param name="Profile">The profile.</param>
/// <param name="ExpectedVersion">The stored version it was read at; 0 to insert.</param>
public sealed record SavedProfile(CustomerProfile Profile, long ExpectedVersion);

/// <summary>A profile merged away: deleted, its id kept as an alias of the survivor.</summary>
/// <param name="Id">The merged profile.</param>
/// <param name="ExpectedVersion">The stored version; 0 when it was never stored (created and merged in one batch).</param>
/// <param name="SurvivorId">The survivor.</param>
public sealed record MergedAway(string Id, long ExpectedVersion, string SurvivorId);

/// <summary>An identifier's new owner.</summary>
/// <param name="Key">The identifier.</param>
/// <param name="ProfileId">The new owner.</param>
/// <param name="PreviousOwner">The stored owner it moves from; null to claim a free identifier.</param>
public sealed record IdentifierClaim(IdentifierKey Key, string ProfileId, string? PreviousOwner);

/// <summary>An identifier dropped by the anonymous cap.</summary>
public sealed record IdentifierRelease(IdentifierKey Key, string Owner);

/// <summary>A profile entered or left a segment.</summary>
public sealed record MembershipChange(string SegmentId, string ProfileId, bool Entered);

/// <summary>Everything one use case (or one event batch) changes, written in one transaction.</summary>
public sealed record ProfileChangeSet(
    IReadOnlyList<SavedProfile> Saved,
    IReadOnlyList<MergedAway> Merged,
    IReadOnlyList<IdentifierClaim> Claims,
    IReadOnlyList<IdentifierRelease> Releases,
    IReadOnlyList<ProfileMerge> Merges,
    IReadOnlyList<MembershipChange> Memberships,
    IReadOnlyList<OutboxMessage> Outbox)
{
    /// <summary>The consumer claiming <see cref="EventIds"/> in the inbox; null for an RPC.</summary>
    public string? Consumer { get; init; }

    /// <summary>Merges undone: each edge is marked split and loses its undo data, and the restored profile's aliases answer with it again.</summary>
    public IReadOnlyList<ProfileSplitRecord> Splits { get; init; } = [];

    /// <summary>Event ids to claim in the same transaction; a claim that was taken already aborts the write.</summary>
    public IReadOnlyList<string> EventIds { get; init; } = [];

    /// <summary>
    /// The identifiers of the events applied, each with the earliest stamp of the events carrying it: a
    /// tombstone that blocks any of them aborts the write with <see cref="ErasedIdentifiersException"/>.
    /// </summary>
    public IReadOnlyList<ErasureCheck> ErasureChecks { get; init; } = [];
}

/// <summary>What to delete for one erased person, in one transaction.</summary>
/// <param name="ProfileIds">The person's live profiles (usually one).</param>
/// <param name="CleanedProfiles">Other profiles whose conflicts mentioned them, already cleaned (version incremented).</param>
/// <param name="Outbox">Events to publish.</param>
/// <param name="Completion">The completion event, given the number of records erased.</param>
public sealed record ProfileErasure(IReadOnlyList<string> ProfileIds, IReadOnlyList<SavedProfile> CleanedProfiles, IReadOnlyList<OutboxMessage> Outbox, Func<long, OutboxMessage> Completion)
{
    /// <summary>The consumer claiming <see cref="EventId"/>; null for an RPC.</summary>
    public string? Consumer { get; init; }

    /// <summary>The event id to claim.</summary>
    public string? EventId { get; init; }

    /// <summary>Tombstones of every identifier and profile id erased, written with the erasure.</summary>
    public IReadOnlyList<ErasureTombstone> Tombstones { get; init; } = [];

    /// <summary>When the erasure is written; tombstones expired by then are removed.</summary>
    public DateTimeOffset ErasedAt { get; init; }
}

/// <summary>Profiles, identifiers, aliases, merges and segment membership.</summary>
public interface IProfileStore
{
    /// <summary>The owners of <paramref name="identifiers"/> and the profiles behind them and behind <paramref name="profileIds"/>.</summary>
    Task<IdentitySnapshot> LoadAsync(IReadOnlyCollection<IdentifierKey> identifiers, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken);

    /// <summary>A profile by id; a merged-away id gives its survivor; null when none.</summary>
    Task<CustomerProfile?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>The profile holding <paramref name="identifier"/>; one indexed read.</summary>
    Task<CustomerProfile?> FindAsync(IdentifierKey identifier, CancellationToken cancellationToken);

    /// <summary>Profiles by id (missing ones are left out).</summary>
    Task<IReadOnlyList<CustomerProfile>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> profiles ordered by id after <paramref name="afterId"/> (a full scan, page by page).</summary>
    Task<IReadOnlyList<CustomerProfile>> ListAsync(string afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Hands every member of <paramref name="segmentId"/> (or, when null, every profile in
    /// <paramref name="stage"/>, or every profile when the stage is unspecified too) to <paramref name="visit"/>, one at a time as the store reads them,
    /// so an audience is described without holding its members in memory.
    /// </summary>
    Task VisitAudienceAsync(string? segmentId, JourneyStage stage, Action<CustomerProfile> visit, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="changes"/> atomically; <see cref="Journey.Shared.Errors.ConcurrencyConflictException"/> on a stale version or a taken event claim, <see cref="Journey.Shared.Errors.AlreadyExistsException"/> when a free identifier was claimed by another writer, <see cref="ErasedIdentifiersException"/> when an erasure tombstone blocks one of its <see cref="ProfileChangeSet.ErasureChecks"/>.</summary>
    Task SaveAsync(ProfileChangeSet changes, CancellationToken cancellationToken);

    /// <summary>The ids among <paramref name="eventIds"/> that <paramref name="consumer"/> has not claimed yet.</summary>
    Task<IReadOnlySet<string>> UnclaimedAsync(string consumer, IReadOnlyList<string> eventIds, CancellationToken cancellationToken);

    /// <summary>Merges into <paramref name="survivorId"/> still in force, newest first.</summary>
    Task<Page<ProfileMerge>> ListMergesAsync(string survivorId, int pageSize, string pageToken, CancellationToken cancellationToken);

    /// <summary>
    /// The newest merge into <paramref name="survivorId"/> still in force (not split), with its undo data
    /// when the ledger kept it; null when none.
    /// </summary>
    Task<MergeEdge?> LatestMergeAsync(string survivorId, CancellationToken cancellationToken);

    /// <summary>Whether an erasure tombstone with this key (<see cref="ErasureTombstones.Key(int, string)"/>) is held.</summary>
    Task<bool> ErasedAsync(string tombstoneKey, CancellationToken cancellationToken);

    /// <summary>The merge of <paramref name="mergedId"/> still in force (not split), or null.</summary>
    Task<MergeEdge?> MergeOfAsync(string mergedId, CancellationToken cancellationToken);

    /// <summary>Merged-away ids that now answer with <paramref name="survivorId"/>.</summary>
    Task<IReadOnlyList<string>> AliasesOfAsync(string survivorId, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the profiles, their identifiers, aliases, merge records and memberships, writes the
    /// erasure's tombstones, saves the cleaned profiles and appends the events with the completion;
    /// returns how many records went.
    /// </summary>
    Task<long> EraseAsync(ProfileErasure erasure, CancellationToken cancellationToken);
}

/// <summary>A segment definition.</summary>
/// <param name="Id">The id.</param>
/// <param name="DisplayName">Display name.</param>
/// <param name="Rule">The rule.</param>
/// <param name="CreatedAt">When created.</param>
public sealed record Segment(string Id, string DisplayName, SegmentRule Rule, DateTimeOffset CreatedAt);

/// <summary>Segment definitions and their member lists (members are written by <see cref="IProfileStore.SaveAsync"/>).</summary>
public interface ISegmentStore
{
    /// <summary>Adds a segment; <see cref="Journey.Shared.Errors.AlreadyExistsException"/> when the id is taken.</summary>
    Task CreateAsync(Segment segment, CancellationToken cancellationToken);

    /// <summary>A segment, or null.</summary>
    Task<Segment?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Segments ordered by id after <paramref name="pageToken"/>.</summary>
    Task<Page<Segment>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken);

    /// <summary>Every segment (for membership evaluation).</summary>
    Task<IReadOnlyList<Segment>> ListAllAsync(CancellationToken cancellationToken);

    /// <summary>Deletes a segment and its members; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>Member profile ids ordered by id after <paramref name="pageToken"/>.</summary>
    Task<Page<string>> ListMembersAsync(string segmentId, int pageSize, string pageToken, CancellationToken cancellationToken);
}

/// <summary>Builds the integration events the domain publishes (implemented in Events/).</summary>
public interface IProfileEvents
{
    /// <summary>ProfileUpdated with a snapshot at <paramref name="now"/>.</summary>
    OutboxMessage Updated(CustomerProfile profile, ProfileView view, DateTimeOffset now);

    /// <summary>ProfilesMerged.</summary>
    OutboxMessage Merged(ProfileMerge merge);

    /// <summary>ProfileSplit, with both profiles' snapshots after it.</summary>
    OutboxMessage Split(ProfileSplitRecord split, ProfileRead survivor, ProfileRead restored);

    /// <summary>SegmentMembershipChanged.</summary>
    OutboxMessage MembershipChanged(MembershipChange change, DateTimeOffset at);

    /// <summary>ErasureCompleted for this service.</summary>
    OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset at);
}
