using Journey.Shared.Privacy;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Storage;

/// <summary>Which of one profile's snapshots a store applies, the same rule in every store.</summary>
internal static class ProfileSnapshotClaims
{
    /// <summary>
    /// Claims each snapshot's event id through <paramref name="tryClaimAsync"/> (in the store's transaction)
    /// and keeps those claimed for the first time that no tombstone in <paramref name="erased"/> blocks;
    /// <c>Latest</c> is the highest version kept, null when none is. A blocked snapshot is still claimed,
    /// so its redelivery stays a duplicate.
    /// </summary>
    public static async Task<(IReadOnlyList<ProfileSnapshot> Claimed, ProfileSnapshot? Latest)> ClaimAsync(
        IEnumerable<ProfileSnapshot> snapshots, IReadOnlyDictionary<string, DateTimeOffset> erased, Func<string, Task<bool>> tryClaimAsync)
    {
        ProfileSnapshot? latest = null;
        var claimed = new List<ProfileSnapshot>();
        foreach (var snapshot in snapshots)
        {
            if (await tryClaimAsync(snapshot.EventId) && !ErasureTombstones.Blocks(erased, snapshot.ErasureKeys, snapshot.PublishedAt ?? snapshot.UpdatedAt))
            {
                claimed.Add(snapshot);
                latest = latest is null || snapshot.Version > latest.Version ? snapshot : latest;
            }
        }

        return (claimed, latest);
    }
}
