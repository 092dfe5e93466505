using Journey.Shared.Events;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// The write path of identity resolution, shared by callers' and events' writes: read the profiles a
/// set of identifiers touches once into an <see cref="IdentityWorkspace"/>, resolve in memory, then
/// write what changed in one transaction with its segment memberships and events.
/// </summary>
public sealed partial class IdentityWrites(
    IProfileStore store,
    SegmentDefinitions segments,
    IProfileEvents events,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    ILogger<IdentityWrites> logger)
{
    private ProfileOptions Options => options.Value;

    /// <summary>A workspace holding the profiles <paramref name="keys"/> name: by identifier, and by profile id for <see cref="IdentifierKind.ProfileId"/> keys.</summary>
    public async Task<IdentityWorkspace> LoadAsync(IReadOnlyList<IdentifierKey> keys, CancellationToken cancellationToken)
    {
        var snapshot = await store.LoadAsync(keys.Where(k => k.Kind != IdentifierKind.ProfileId).ToList(), keys.Where(k => k.Kind == IdentifierKind.ProfileId).Select(k => k.Value).ToList(), cancellationToken);
        return new IdentityWorkspace(snapshot, Options, NewId);
    }

    /// <summary>
    /// Writes what changed in <paramref name="workspace"/> in one transaction: the profiles, their
    /// identifier claims and merges, the segment memberships their new state gives and the events.
    /// With a <paramref name="consumer"/>, <paramref name="eventIds"/> are claimed in its inbox in the same
    /// transaction; <paramref name="checks"/> refuse the write when an erasure tombstone blocks it.
    /// </summary>
    public async Task SaveAsync(IdentityWorkspace workspace, DateTimeOffset now, string? consumer, IReadOnlyList<string> eventIds, IReadOnlyList<ErasureCheck> checks, CancellationToken cancellationToken)
    {
        var definitions = await segments.GetAsync(cancellationToken);
        var memberships = workspace.Memberships;
        var outbox = new List<OutboxMessage>();
        foreach (var merge in workspace.Merges)
        {
            outbox.Add(events.Merged(merge));
        }

        var changed = workspace.Changed.ToList();
        var views = new ProfileView[changed.Count];
        for (var i = 0; i < changed.Count; i++)
        {
            // Segment evaluation reads only the profile's state, so the view it sees is the one published.
            views[i] = JourneyRules.View(changed[i], Options, now);
            SegmentMembership.Evaluate(changed[i], views[i], definitions, now, memberships);
        }

        var (saved, merged, claims, releases) = workspace.Writes(now);
        for (var i = 0; i < changed.Count; i++)
        {
            outbox.Add(events.Updated(changed[i], views[i], now));
        }

        outbox.AddRange(memberships.Select(m => events.MembershipChanged(m, now)));
        await store.SaveAsync(new ProfileChangeSet(saved, merged, claims, releases, workspace.Merges, memberships, outbox) { Consumer = consumer, EventIds = eventIds, ErasureChecks = checks }, cancellationToken);
        changes.Notify(saved.Select(s => s.Profile.Id).Concat(merged.Select(m => m.Id)));
        ProfileTelemetry.ProfilesCreated.Add(saved.Count(s => s.ExpectedVersion == 0) + merged.Count(m => m.ExpectedVersion == 0));
        ProfileTelemetry.ProfilesMerged.Add(workspace.Merges.Count);
        ProfileTelemetry.IdentityConflicts.Add(workspace.ConflictsRecorded);
        ProfileTelemetry.IdentifiersOverLimit.Add(workspace.IdentifiersOverLimit);
        foreach (var merge in workspace.Merges)
        {
            LogMerged(logger, merge.MergedId, merge.SurvivorId, merge.LinkedBy);
        }
    }

    private static string NewId(DateTimeOffset at) => TimeOrderedIds.Next(at).ToString("N");

    [LoggerMessage(EventId = 1, EventName = "ProfilesMerged", Level = LogLevel.Information, Message = "Profile {Merged} merged into {Survivor}, linked by {LinkedBy}")]
    private static partial void LogMerged(ILogger logger, string merged, string survivor, IdentifierKind linkedBy);
}
