using System.Globalization;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// Undoes merges: every merge is an edge in the ledger (<c>profile_merges</c>) that keeps both
/// profiles as they were and, on the survivor, the activity since, so SplitProfile can give each
/// person back their own (<see cref="MergeSplitter"/>) and publish <c>profile-split</c>.
/// </summary>
public sealed partial class SplitUseCases(
    IProfileStore store,
    SegmentDefinitions segments,
    IProfileEvents events,
    ErasureTombstones tombstones,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    TimeProvider time,
    ILogger<SplitUseCases> logger)
{
    /// <summary>
    /// Splits the merge of <paramref name="mergedId"/> out of <paramref name="survivorId"/>; see the
    /// proto for the rules. Returns the survivor and the restored profile.
    /// </summary>
    public async Task<(ProfileRead Survivor, ProfileRead Restored)> SplitAsync(string survivorId, string mergedId, string etag, string reason, string caller, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(ProfileInput.IsProfileId(survivorId), "name", "must be profiles/{profile} with 32 lower-case hex digits");
        validation.Require(ProfileInput.IsProfileId(mergedId), "merged", "must be profiles/{profile} with 32 lower-case hex digits");
        long expectedVersion = 0;
        validation.Require(etag.Length == 0 || (long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out expectedVersion) && expectedVersion > 0), "etag", "must be the profile's version as last read, or empty");
        validation.Require(!string.IsNullOrWhiteSpace(reason) && reason.Length <= 500, "reason", "must say why the merge was wrong, 1 to 500 characters");
        validation.ThrowIfInvalid();
        if (survivorId == mergedId)
        {
            throw new InvalidArgumentException("merged", "must name another profile than name");
        }

        // With an etag the caller asked for that version only: a conflict is theirs to resolve.
        var result = await ConflictRetry.RunAsync(
            async _ =>
            {
                try
                {
                    return await SplitOnceAsync(survivorId, mergedId, expectedVersion, cancellationToken);
                }
                catch (ErasedIdentifiersException)
                {
                    throw new FailedPreconditionException(ErrorReasons.ProfileErased, $"profiles/{mergedId} or identifiers it would take back were erased: a split cannot bring an erased person back.");
                }
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            maxAttempts: expectedVersion == 0 ? ConflictRetry.MaxAttempts : 1);
        LogSplit(logger, mergedId, survivorId, caller, reason);
        return result;
    }

    private async Task<(ProfileRead Survivor, ProfileRead Restored)> SplitOnceAsync(string survivorId, string mergedId, long expectedVersion, CancellationToken cancellationToken)
    {
        var current = await store.GetAsync(survivorId, cancellationToken);
        if (current is null)
        {
            if (await store.ErasedAsync(tombstones.Key((int)IdentifierKind.ProfileId, survivorId), cancellationToken))
            {
                throw new FailedPreconditionException(ErrorReasons.ProfileErased, $"profiles/{survivorId} was erased: there is nothing left to split.");
            }

            throw new NotFoundException("Profile", "profiles/" + survivorId);
        }

        if (current.Id != survivorId)
        {
            throw new FailedPreconditionException(ErrorReasons.SplitAnotherMergeFirst, $"profiles/{survivorId} was merged into profiles/{current.Id} since: split profiles/{survivorId} out of profiles/{current.Id} first.");
        }

        if (expectedVersion > 0 && current.Version != expectedVersion)
        {
            throw new ConcurrencyConflictException("Profile", "profiles/" + survivorId);
        }

        var latest = await store.LatestMergeAsync(current.Id, cancellationToken);
        if (latest is null || latest.Merge.MergedId != mergedId)
        {
            if (latest is not null && await store.MergeOfAsync(mergedId, cancellationToken) is { } older && older.Merge.SurvivorId == current.Id)
            {
                throw new FailedPreconditionException(ErrorReasons.SplitAnotherMergeFirst, $"profiles/{latest.Merge.MergedId} was merged into profiles/{current.Id} after profiles/{mergedId}: split profiles/{latest.Merge.MergedId} first.");
            }

            throw new NotFoundException("Merge", $"profiles/{mergedId} into profiles/{current.Id}");
        }

        if (latest.Merge.Undo is not { } undo)
        {
            throw new FailedPreconditionException(ErrorReasons.MergeNotSplittable, $"The merge of profiles/{mergedId} was recorded before merges kept what undoing them needs; it cannot be split.");
        }

        if (current.ActivityDropped > undo.ActivitySeqBefore)
        {
            throw new FailedPreconditionException(
                ErrorReasons.MergeNotSplittable,
                $"profiles/{current.Id} took in more activity since the merge of profiles/{mergedId} than it keeps to attribute it (Journey:Profile:SplitActivityLimit, {Options.SplitActivityLimit}); it can no longer be split.");
        }

        var now = time.GetUtcNow();
        var outcome = MergeSplitter.Split(current, latest, Options, JourneyRules.ProfilingPurpose);
        var survivor = outcome.Survivor;
        var restored = outcome.Restored;
        survivor.Version = current.Version + 1;
        survivor.UpdatedAt = now;
        restored.Version = undo.MergedBefore.Version + 1;
        restored.UpdatedAt = now;

        var definitions = await segments.GetAsync(cancellationToken);
        var memberships = new List<MembershipChange>();
        var survivorView = JourneyRules.View(survivor, Options, now);
        var restoredView = JourneyRules.View(restored, Options, now);
        SegmentMembership.Evaluate(survivor, survivorView, definitions, now, memberships);
        SegmentMembership.Evaluate(restored, restoredView, definitions, now, memberships);

        var split = new ProfileSplitRecord(survivor.Id, restored.Id, latest.MergedAliases, latest.Merge.MergedAt, now, outcome.RestoredIdentifiers);
        List<OutboxMessage> outbox =
        [
            events.Split(split, new ProfileRead(survivor, survivorView), new ProfileRead(restored, restoredView)),
            events.Updated(survivor, survivorView, now),
            events.Updated(restored, restoredView, now),
            .. memberships.Select(m => events.MembershipChanged(m, now)),
        ];
        var erasureKeys = outcome.RestoredIdentifiers
            .Append(new IdentifierKey(IdentifierKind.ProfileId, restored.Id))
            .Concat(latest.MergedAliases.Select(a => new IdentifierKey(IdentifierKind.ProfileId, a)));
        await store.SaveAsync(
            new ProfileChangeSet(
                [new SavedProfile(survivor, current.Version), new SavedProfile(restored, 0)],
                [],
                [.. outcome.RestoredIdentifiers.Select(k => new IdentifierClaim(k, restored.Id, survivor.Id))],
                [],
                [],
                memberships,
                outbox)
            {
                Splits = [split],
                // Any tombstone of what comes back refuses the split, however old the erasure.
                ErasureChecks = [.. erasureKeys.Select(k => new ErasureCheck(tombstones.Key((int)k.Kind, k.Value), DateTimeOffset.MinValue))],
            },
            cancellationToken);
        changes.Notify([survivor.Id, restored.Id]);
        ProfileTelemetry.ProfilesSplit.Add(1);
        return (new ProfileRead(survivor, survivorView), new ProfileRead(restored, restoredView));
    }

    private ProfileOptions Options => options.Value;

    [LoggerMessage(EventId = 4, EventName = "OperatorSplit", Level = LogLevel.Information, Message = "Audit: profile {Restored} split out of {Survivor} by {Caller}: {Reason}")]
    private static partial void LogSplit(ILogger logger, string restored, string survivor, string caller, string reason);
}
