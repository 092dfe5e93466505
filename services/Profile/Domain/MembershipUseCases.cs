using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// Segment membership across all profiles: a new segment takes in the profiles that already match,
/// and segments whose rules depend on time are evaluated again as time passes. (A profile's own
/// writes keep its membership in step with its state.)
/// </summary>
public sealed class MembershipUseCases(
    IProfileStore store,
    SegmentDefinitions segments,
    IProfileEvents events,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    TimeProvider time)
{
    private ProfileOptions Options => options.Value;

    /// <summary>Puts every existing profile that matches a new segment into it.</summary>
    public async Task BackfillSegmentAsync(Segment segment, CancellationToken cancellationToken) =>
        await UpdateMembershipsAsync((profile, now, memberships) =>
        {
            if (!profile.Segments.Contains(segment.Id) && segment.Rule.Matches(profile, JourneyRules.View(profile, Options, now), now))
            {
                profile.Segments.Add(segment.Id);
                memberships.Add(new MembershipChange(segment.Id, profile.Id, Entered: true));
            }
        }, cancellationToken);

    /// <summary>
    /// Evaluates every profile again against all segments when any segment's rule depends on time;
    /// returns how many memberships changed.
    /// </summary>
    public async Task<int> ReevaluateTimedSegmentsAsync(CancellationToken cancellationToken)
    {
        var definitions = await segments.GetAsync(cancellationToken);
        if (!definitions.Any(d => d.Rule.DependsOnTime))
        {
            return 0;
        }

        using var activity = ProfileTelemetry.Source.StartActivity("profile.reevaluate_segments");
        var changed = await UpdateMembershipsAsync(
            (profile, now, memberships) => SegmentMembership.Evaluate(profile, JourneyRules.View(profile, Options, now), definitions, now, memberships),
            cancellationToken);
        activity?.SetTag("journey.profile.membership_changes", changed);
        return changed;
    }

    /// <summary>
    /// Walks every profile page by page; <paramref name="evaluate"/> adds a profile's membership
    /// changes, and each page's changed profiles are written in one transaction with their membership
    /// events. Profiles changing meanwhile are evaluated by their own write, so a page that conflicts
    /// is simply read again. Returns how many memberships changed.
    /// </summary>
    private async Task<int> UpdateMembershipsAsync(Action<CustomerProfile, DateTimeOffset, List<MembershipChange>> evaluate, CancellationToken cancellationToken)
    {
        const int PageSize = 500;
        var after = "";
        var changedMemberships = 0;
        while (true)
        {
            var page = await store.ListAsync(after, PageSize, cancellationToken);
            if (page.Count == 0)
            {
                return changedMemberships;
            }

            var now = time.GetUtcNow();
            var saved = new List<SavedProfile>();
            var memberships = new List<MembershipChange>();
            foreach (var profile in page)
            {
                var before = memberships.Count;
                evaluate(profile, now, memberships);
                if (memberships.Count > before)
                {
                    var expected = profile.Version;
                    profile.Version = expected + 1;
                    profile.UpdatedAt = now;
                    saved.Add(new SavedProfile(profile, expected));
                }
            }

            try
            {
                if (saved.Count > 0)
                {
                    var outbox = memberships.Select(m => events.MembershipChanged(m, now)).ToList();
                    await store.SaveAsync(new ProfileChangeSet(saved, [], [], [], [], memberships, outbox), cancellationToken);
                    changes.Notify(saved.Select(s => s.Profile.Id));
                    changedMemberships += memberships.Count;
                }

                after = page[^1].Id;
            }
            catch (DomainException ex) when (ex.Kind is ErrorKind.Conflict)
            {
                await ConflictRetry.BackOffAsync(1, time, cancellationToken);
            }
        }
    }
}

/// <summary>Keeps a profile's segment membership in step with its state.</summary>
public static class SegmentMembership
{
    /// <summary>Re-evaluates every segment for <paramref name="profile"/> and records what changed.</summary>
    public static void Evaluate(CustomerProfile profile, ProfileView view, IReadOnlyList<Segment> segments, DateTimeOffset now, List<MembershipChange> changes)
    {
        var known = new HashSet<string>(segments.Select(s => s.Id), StringComparer.Ordinal);
        profile.Segments.RemoveWhere(id => !known.Contains(id));
        foreach (var segment in segments)
        {
            var matches = segment.Rule.Matches(profile, view, now);
            if (matches && profile.Segments.Add(segment.Id))
            {
                changes.Add(new MembershipChange(segment.Id, profile.Id, Entered: true));
            }
            else if (!matches && profile.Segments.Remove(segment.Id))
            {
                changes.Add(new MembershipChange(segment.Id, profile.Id, Entered: false));
            }
        }
    }
}
