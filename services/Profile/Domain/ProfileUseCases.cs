using System.Text.RegularExpressions;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>An identifier as a caller gave it (e-mail and phone in clear, or already hashed in events).</summary>
public readonly record struct GivenIdentifier(IdentifierKind Kind, string Value);

/// <summary>A profile with its decayed values.</summary>
public sealed record ProfileRead(CustomerProfile Profile, ProfileView View);

/// <summary>The outcome of Identify.</summary>
public sealed record IdentifyResult(ProfileRead Profile, bool Created, IReadOnlyList<string> MergedIds, IReadOnlyList<string> ConflictIds);

/// <summary>Everything held about a person.</summary>
/// <param name="Profile">The profile with decayed values.</param>
/// <param name="ClearTraits">Traits with protected values decrypted.</param>
/// <param name="Merges">Merges into the profile.</param>
/// <param name="Aliases">Merged-away ids answering with it.</param>
/// <param name="ExportedAt">When.</param>
public sealed record ProfileExport(ProfileRead Profile, IReadOnlyDictionary<string, string> ClearTraits, IReadOnlyList<ProfileMerge> Merges, IReadOnlyList<string> Aliases, DateTimeOffset ExportedAt);

/// <summary>
/// The profile service's use cases: identity resolution, journey inference from events, consent to
/// profiling, reads, export and erasure. Writes read the store once, resolve in memory and write one
/// transaction (with its events), retrying when a concurrent writer got there first.
/// </summary>
public sealed partial class ProfileUseCases(
    IProfileStore store,
    SegmentDefinitions segments,
    IProfileEvents events,
    IdentifierHasher hasher,
    IdentifierPolicy identifierPolicy,
    ErasureTombstones tombstones,
    PersonalDataProtector protector,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    TimeProvider time,
    ILogger<ProfileUseCases> logger)
{
    /// <summary>The purpose whose withdrawal stops interest and readiness inference.</summary>
    public const string ProfilingPurpose = "purposes/profiling";

    /// <summary>Inbox consumer of interaction events.</summary>
    public const string InteractionConsumer = "profile.interaction-recorded";

    /// <summary>Inbox consumer of the tracking API's identities.</summary>
    public const string IdentityConsumer = "profile.identity-observed";

    /// <summary>Inbox consumer of consent events.</summary>
    public const string ConsentConsumer = "profile.consent-changed";

    /// <summary>Inbox consumer of erasure events.</summary>
    public const string ErasureConsumer = "profile.erasure-requested";

    private const int MaxIdentifiers = 20;
    private const int MaxTraits = 50;

    private ProfileOptions Options => options.Value;

    /// <summary>Identifies a person; see the proto for the rules.</summary>
    public async Task<IdentifyResult> IdentifyAsync(IReadOnlyList<GivenIdentifier> identifiers, IReadOnlyDictionary<string, string> traits, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var keys = ValidateIdentifiers(identifiers, "identifiers", validation, hashed: false);
        ValidateTraits(traits, validation);
        validation.ThrowIfInvalid();

        using var activity = ProfileTelemetry.Source.StartActivity("profile.identify");
        activity?.SetTag("journey.profile.identifiers", keys.Count);
        // Another writer claimed an identifier or changed a profile between read and write: resolve again.
        var result = await ConflictRetry.RunAsync(_ => IdentifyOnceAsync(identifiers, keys, traits, cancellationToken), ConflictRetry.LostRace, time, cancellationToken);
        activity?.SetTag("journey.profile.created", result.Created);
        activity?.SetTag("journey.profile.merged", result.MergedIds.Count);
        activity?.SetTag("journey.profile.conflicts", result.ConflictIds.Count);
        return result;
    }

    private async Task<IdentifyResult> IdentifyOnceAsync(IReadOnlyList<GivenIdentifier> given, List<IdentifierKey> keys, IReadOnlyDictionary<string, string> traits, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var snapshot = await store.LoadAsync(keys.Where(k => k.Kind != IdentifierKind.ProfileId).ToList(), keys.Where(k => k.Kind == IdentifierKind.ProfileId).Select(k => k.Value).ToList(), cancellationToken);
        var workspace = new IdentityWorkspace(snapshot, Options, NewId);
        var resolution = workspace.Resolve(keys, now, strictProfileIds: true);
        var target = resolution.Target;
        foreach (var (key, value) in traits)
        {
            target.Traits[key] = CustomerProfile.ProtectedTraitKeys.Contains(key) ? protector.Protect(value) : value;
        }

        // The clear address is kept only for the customer who holds it, and only encrypted.
        for (var i = 0; i < given.Count; i++)
        {
            if (given[i].Kind is IdentifierKind.Email or IdentifierKind.Phone && target.Holds(keys[i]))
            {
                var clear = given[i].Kind == IdentifierKind.Email ? IdentifierHasher.NormalizeEmail(given[i].Value) : IdentifierHasher.NormalizePhone(given[i].Value);
                target.Traits[given[i].Kind == IdentifierKind.Email ? "email" : "phone"] = protector.Protect(clear);
            }
        }

        await SaveAsync(workspace, now, null, [], [], cancellationToken);
        return new IdentifyResult(Read(target, now), resolution.Created, resolution.MergedIds, resolution.ConflictIds);
    }

    /// <summary>
    /// Merges two profiles an operator says are one person (two known customers included, which
    /// identity resolution never merges on its own), with the reason kept in the audit trail.
    /// </summary>
    public async Task<ProfileRead> MergeByOperatorAsync(string survivorId, string mergedId, string reason, string caller, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(ProfileIdPattern().IsMatch(survivorId), "survivor", "must be profiles/{profile} with 32 lower-case hex digits");
        validation.Require(ProfileIdPattern().IsMatch(mergedId), "merged", "must be profiles/{profile} with 32 lower-case hex digits");
        validation.Require(!string.IsNullOrWhiteSpace(reason) && reason.Length <= 500, "reason", "must say why the two are one person, 1 to 500 characters");
        validation.ThrowIfInvalid();
        return await ConflictRetry.RunAsync(
            async _ =>
            {
                var now = time.GetUtcNow();
                var snapshot = await store.LoadAsync([], [survivorId, mergedId], cancellationToken);
                var workspace = new IdentityWorkspace(snapshot, Options, NewId);
                var merge = workspace.MergeByOperator(survivorId, mergedId, now);
                await SaveAsync(workspace, now, null, [], [], cancellationToken);
                LogOperatorMerge(logger, merge.MergedId, merge.SurvivorId, caller, reason);
                return Read(workspace.Find(merge.SurvivorId)!, now);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken);
    }

    /// <summary>A profile by id (a merged-away id answers with its survivor).</summary>
    public async Task<ProfileRead> GetAsync(string id, CancellationToken cancellationToken)
    {
        var profile = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Profile", "profiles/" + id);
        return Read(profile, time.GetUtcNow());
    }

    /// <summary>The most profiles one BatchGet reads.</summary>
    public const int MaxBatchGet = 100;

    /// <summary>Profiles by id, in order; NOT_FOUND names the first without one (its index in <paramref name="field"/>).</summary>
    public async Task<IReadOnlyList<ProfileRead>> GetManyAsync(IReadOnlyList<string> ids, string field, CancellationToken cancellationToken)
    {
        if (ids.Count is 0 or > MaxBatchGet)
        {
            throw new InvalidArgumentException(field, $"must hold 1 to {MaxBatchGet} names");
        }

        var now = time.GetUtcNow();
        var reads = new List<ProfileRead>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            var profile = await store.GetAsync(ids[i], cancellationToken) ?? throw new DomainException(ErrorKind.NotFound, $"{field}[{i}]: profile 'profiles/{ids[i]}' was not found.", reason: ErrorReasons.NotFound("Profile"));
            reads.Add(Read(profile, now));
        }

        return reads;
    }

    /// <summary>The profile holding an identifier.</summary>
    public async Task<ProfileRead> LookupAsync(GivenIdentifier identifier, string field, CancellationToken cancellationToken)
    {
        var key = ValidateOne(identifier, field);
        var profile = (key.Kind == IdentifierKind.ProfileId ? await store.GetAsync(key.Value, cancellationToken) : await store.FindAsync(key, cancellationToken))
            ?? throw new NotFoundException("Profile", "with that identifier");
        return Read(profile, time.GetUtcNow());
    }

    /// <summary>Merges into a profile, newest first.</summary>
    public async Task<Page<ProfileMerge>> ListMergesAsync(string id, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var profile = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Profile", "profiles/" + id);
        return await store.ListMergesAsync(profile.Id, pageSize, pageToken, cancellationToken);
    }

    /// <summary>Waits until <paramref name="profileId"/> changes or <paramref name="poll"/> passes.</summary>
    public async Task WaitForChangeAsync(string profileId, TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            await changes.NextChangeAsync(profileId).WaitAsync(poll, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Re-read anyway: another replica may have written it.
        }
    }

    /// <summary>
    /// Applies a batch of interactions in one transaction: identifies each person (creating,
    /// attaching, merging as Identify does), infers journey state and publishes one snapshot per
    /// changed profile. Events seen before are skipped, and so are events an erasure tombstone blocks
    /// (stamped before an erasure of one of their identifiers settled), which would bring an erased
    /// person back.
    /// </summary>
    public async Task ApplyInteractionsAsync(IReadOnlyList<Interaction> interactions, CancellationToken cancellationToken)
    {
        using var activity = ProfileTelemetry.Source.StartActivity("profile.apply_interactions");
        activity?.SetTag("journey.profile.interactions", interactions.Count);
        var erased = new HashSet<string>(StringComparer.Ordinal);
        List<Interaction> fresh = [];
        // A concurrent Identify or a redelivery winning the race reads again. A write refused by erasure
        // tombstones wrote nothing: the rest is written again without the events of erased people.
        await ConflictRetry.RunAsync(
            async attempt =>
            {
                fresh = [];
                // Redeliveries are rare: the first attempt lets the inbox claim in the write find them,
                // so the common path does not read the inbox first.
                var unclaimed = attempt == 1 ? null : await store.UnclaimedAsync(InteractionConsumer, interactions.Select(i => i.EventId).ToList(), cancellationToken);
                fresh = interactions.Where(i => (unclaimed?.Contains(i.EventId) ?? true) && !erased.Contains(i.EventId)).DistinctBy(i => i.EventId).ToList();
                if (fresh.Count == 0)
                {
                    return;
                }

                var now = time.GetUtcNow();
                var workspace = await LoadWorkspaceAsync(fresh.SelectMany(i => i.Identifiers), cancellationToken);
                foreach (var interaction in fresh.OrderBy(i => i.OccurredAt))
                {
                    var target = workspace.Resolve(interaction.Identifiers, interaction.OccurredAt, strictProfileIds: false).Target;
                    JourneyRules.Apply(target, interaction, Options);
                    target.Journal(interaction, null, Options.SplitActivityLimit);
                }

                var checks = ErasureCheck.Earliest(fresh.Select(i => (TombstoneKeys(i.Identifiers), i.PublishedAt ?? i.OccurredAt)));
                await SaveAsync(workspace, now, InteractionConsumer, fresh.Select(i => i.EventId).ToList(), checks, cancellationToken);
                ProfileTelemetry.InteractionsApplied.Add(fresh.Count);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            retryAtOnce: ex => ex is ErasedIdentifiersException found && DropBlocked(erased, found, fresh.Select(i => (i.EventId, i.Identifiers, i.PublishedAt ?? i.OccurredAt))));
    }

    /// <summary>
    /// Links the identifiers of tracking identities (identify and alias) as interactions link theirs,
    /// under the same identity rules (two known customers are never merged), and keeps their traits,
    /// except e-mail and phone (held only encrypted, from Identify) and keys outside the trait rules.
    /// Identities an erasure tombstone blocks (observed before an erasure of one of their identifiers
    /// settled) are skipped.
    /// </summary>
    public async Task ApplyObservedIdentitiesAsync(IReadOnlyList<ObservedIdentity> identities, CancellationToken cancellationToken)
    {
        var erased = new HashSet<string>(StringComparer.Ordinal);
        List<ObservedIdentity> fresh = [];
        // As for interactions: a lost race reads again; identities of erased people are dropped and the rest written again.
        await ConflictRetry.RunAsync(
            async _ =>
            {
                fresh = [];
                var unclaimed = await store.UnclaimedAsync(IdentityConsumer, identities.Select(i => i.EventId).ToList(), cancellationToken);
                fresh = identities.Where(i => unclaimed.Contains(i.EventId) && !erased.Contains(i.EventId)).DistinctBy(i => i.EventId).ToList();
                if (fresh.Count == 0)
                {
                    return;
                }

                var now = time.GetUtcNow();
                var workspace = await LoadWorkspaceAsync(fresh.SelectMany(i => i.Identifiers), cancellationToken);
                foreach (var identity in fresh.OrderBy(i => i.ObservedAt))
                {
                    var target = workspace.Resolve(identity.Identifiers, identity.ObservedAt, strictProfileIds: false).Target;
                    foreach (var (key, value) in identity.Traits)
                    {
                        if (!CustomerProfile.ProtectedTraitKeys.Contains(key) && TraitKey().IsMatch(key) && value.Length <= 1024
                            && (target.Traits.ContainsKey(key) || target.Traits.Count < MaxTraits))
                        {
                            target.Traits[key] = value;
                        }
                    }
                }

                var checks = ErasureCheck.Earliest(fresh.Select(i => (TombstoneKeys(i.Identifiers), i.ObservedAt)));
                await SaveAsync(workspace, now, IdentityConsumer, fresh.Select(i => i.EventId).ToList(), checks, cancellationToken);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            retryAtOnce: ex => ex is ErasedIdentifiersException found && DropBlocked(erased, found, fresh.Select(i => (i.EventId, i.Identifiers, i.ObservedAt))));
    }

    /// <summary>
    /// Applies consent decisions. On profiling, a withdrawal clears interests and readiness and stops
    /// their inference. On a purpose that governs a channel (<see cref="ProfileOptions.ChannelPurposes"/>),
    /// the latest decision is kept for segment exports to that channel. Decisions on any other purpose
    /// are ignored and create no profile. Decisions an erasure tombstone blocks (the withdrawals an
    /// erasure publishes, say) are skipped.
    /// </summary>
    public async Task ApplyConsentAsync(IReadOnlyList<ConsentDecision> decisions, CancellationToken cancellationToken)
    {
        decisions = decisions.Where(d => IsKept(d.Purpose)).ToList();
        if (decisions.Count == 0)
        {
            return;
        }

        var erased = new HashSet<string>(StringComparer.Ordinal);
        List<ConsentDecision> fresh = [];
        // As for interactions: a lost race reads again; decisions about erased people are dropped and the rest written again.
        await ConflictRetry.RunAsync(
            async _ =>
            {
                fresh = [];
                var unclaimed = await store.UnclaimedAsync(ConsentConsumer, decisions.Select(d => d.EventId).ToList(), cancellationToken);
                fresh = decisions.Where(d => unclaimed.Contains(d.EventId) && !erased.Contains(d.EventId)).DistinctBy(d => d.EventId).ToList();
                if (fresh.Count == 0)
                {
                    return;
                }

                var now = time.GetUtcNow();
                var workspace = await LoadWorkspaceAsync(fresh.SelectMany(d => d.Identifiers), cancellationToken);
                foreach (var decision in fresh)
                {
                    var target = workspace.Resolve(decision.Identifiers, now, strictProfileIds: false).Target;
                    if (decision.Purpose == ProfilingPurpose)
                    {
                        JourneyRules.SetProfilingAllowed(target, decision.Granted);
                    }

                    if (Options.GovernsAChannel(decision.Purpose))
                    {
                        JourneyRules.RecordConsent(target, decision.Purpose, new ChannelConsent(decision.Granted, decision.Channels, decision.DecidedAt));
                    }

                    target.Journal(null, decision, Options.SplitActivityLimit);
                }

                var checks = ErasureCheck.Earliest(fresh.Select(d => (TombstoneKeys(d.Identifiers), d.PublishedAt)));
                await SaveAsync(workspace, now, ConsentConsumer, fresh.Select(d => d.EventId).ToList(), checks, cancellationToken);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            retryAtOnce: ex => ex is ErasedIdentifiersException found && DropBlocked(erased, found, fresh.Select(d => (d.EventId, d.Identifiers, d.PublishedAt))));
    }

    /// <summary>Whether decisions on <paramref name="purpose"/> are kept: profiling, or a purpose that governs a channel.</summary>
    public bool IsKept(string purpose) => purpose == ProfilingPurpose || Options.GovernsAChannel(purpose);

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

    /// <summary>Everything held about the person holding <paramref name="identifier"/>.</summary>
    public async Task<ProfileExport> ExportAsync(GivenIdentifier identifier, CancellationToken cancellationToken)
    {
        var read = await LookupAsync(identifier, "identifier", cancellationToken);
        var profile = read.Profile;
        var clear = profile.Traits.ToDictionary(t => t.Key, t => CustomerProfile.ProtectedTraitKeys.Contains(t.Key) ? protector.Unprotect(t.Value) : t.Value, StringComparer.Ordinal);
        var merges = new List<ProfileMerge>();
        var token = "";
        do
        {
            var page = await store.ListMergesAsync(profile.Id, 500, token, cancellationToken);
            merges.AddRange(page.Items);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var aliases = await store.AliasesOfAsync(profile.Id, cancellationToken);
        return new ProfileExport(read, clear, merges, aliases, time.GetUtcNow());
    }

    /// <summary>Erases the person holding <paramref name="identifier"/>; returns the records removed.</summary>
    public async Task<long> EraseAsync(GivenIdentifier identifier, string erasure, CancellationToken cancellationToken)
    {
        var key = ValidateOne(identifier, "identifier");
        if (erasure.Length > 0 && !ErasureName().IsMatch(erasure))
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
                        Tombstones = tombstones.For(TombstoneKeys(erasedKeys), requestedAt),
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

    private async Task<IdentityWorkspace> LoadWorkspaceAsync(IEnumerable<IdentifierKey> identifiers, CancellationToken cancellationToken)
    {
        var all = identifiers.Distinct().ToList();
        var snapshot = await store.LoadAsync(all.Where(k => k.Kind != IdentifierKind.ProfileId).ToList(), all.Where(k => k.Kind == IdentifierKind.ProfileId).Select(k => k.Value).ToList(), cancellationToken);
        return new IdentityWorkspace(snapshot, Options, NewId);
    }

    /// <summary>
    /// Adds to <paramref name="erased"/> the events the tombstones found block; false when none of them
    /// is blocked, which only a store and this check disagreeing could cause, so the error goes on.
    /// </summary>
    private bool DropBlocked(HashSet<string> erased, ErasedIdentifiersException found, IEnumerable<(string EventId, IReadOnlyList<IdentifierKey> Identifiers, DateTimeOffset StampedAt)> events)
    {
        var before = erased.Count;
        erased.UnionWith(events.Where(e => ErasureTombstones.Blocks(found.Found, TombstoneKeys(e.Identifiers), e.StampedAt)).Select(e => e.EventId));
        return erased.Count > before;
    }

    /// <summary>The erasure-tombstone keys of <paramref name="keys"/>.</summary>
    private IEnumerable<string> TombstoneKeys(IEnumerable<IdentifierKey> keys) => keys.Select(k => tombstones.Key((int)k.Kind, k.Value));

    private async Task SaveAsync(IdentityWorkspace workspace, DateTimeOffset now, string? consumer, IReadOnlyList<string> eventIds, IReadOnlyList<ErasureCheck> checks, CancellationToken cancellationToken)
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

    private ProfileRead Read(CustomerProfile profile, DateTimeOffset now) => new(profile, JourneyRules.View(profile, Options, now));

    private static string NewId(DateTimeOffset at) => TimeOrderedIds.Next(at).ToString("N");

    private IdentifierKey ValidateOne(GivenIdentifier identifier, string field)
    {
        var validation = new Validation();
        var key = ValidateIdentifier(identifier, field, validation, hashed: null);
        validation.ThrowIfInvalid();
        return key;
    }

    /// <summary>Validates and normalises identifiers; <paramref name="hashed"/> false: e-mail/phone are clear, null: either.</summary>
    private List<IdentifierKey> ValidateIdentifiers(IReadOnlyList<GivenIdentifier> identifiers, string field, Validation validation, bool? hashed)
    {
        validation.Require(identifiers.Count is >= 1 and <= MaxIdentifiers, field, $"must hold 1 to {MaxIdentifiers} identifiers");
        return identifiers.Select((identifier, i) => ValidateIdentifier(identifier, $"{field}[{i}]", validation, hashed)).ToList();
    }

    private IdentifierKey ValidateIdentifier(GivenIdentifier identifier, string field, Validation validation, bool? hashed)
    {
        var value = identifier.Value;
        if (identifier.Kind is IdentifierKind.Unspecified || !Enum.IsDefined(identifier.Kind))
        {
            validation.Add(field + ".kind", "must be a known identifier kind");
            return default;
        }

        if (value.Length is 0 or > 256 || string.IsNullOrWhiteSpace(value))
        {
            validation.Add(field + ".value", "must be 1 to 256 characters");
            return default;
        }

        if (identifier.Kind != IdentifierKind.ProfileId && identifierPolicy.Refusal(value) is { } refusal)
        {
            validation.Add(field + ".value", refusal);
            return default;
        }

        switch (identifier.Kind)
        {
            case IdentifierKind.Email or IdentifierKind.Phone when hashed is null && HashValue().IsMatch(value):
                return new IdentifierKey(identifier.Kind, value);
            case IdentifierKind.Email:
                validation.Require(IdentifierHasher.IsPlausibleEmail(value), field + ".value", "must be an e-mail address");
                return new IdentifierKey(identifier.Kind, hasher.HashEmail(value));
            case IdentifierKind.Phone:
                validation.Require(IdentifierHasher.IsPlausiblePhone(value), field + ".value", "must be a phone number with 6 to 15 digits");
                return new IdentifierKey(identifier.Kind, hasher.HashPhone(value));
            case IdentifierKind.ProfileId:
                var id = value.StartsWith("profiles/", StringComparison.Ordinal) ? value["profiles/".Length..] : value;
                validation.Require(ProfileIdPattern().IsMatch(id), field + ".value", "must be a profile id (32 lower-case hex digits)");
                return new IdentifierKey(identifier.Kind, id);
            default:
                return new IdentifierKey(identifier.Kind, value);
        }
    }

    private static void ValidateTraits(IReadOnlyDictionary<string, string> traits, Validation validation)
    {
        validation.Require(traits.Count <= MaxTraits, "traits", $"must hold at most {MaxTraits} entries");
        foreach (var (key, value) in traits)
        {
            validation.Require(TraitKey().IsMatch(key), $"traits[{(key.Length <= 64 ? key : key[..64])}]", "key must be 1 to 64 characters of [a-z0-9_]");
            validation.Require(value.Length <= 1024, $"traits[{(key.Length <= 64 ? key : key[..64])}]", "value must be at most 1024 characters");
        }
    }

    /// <summary>Whether <paramref name="id"/> is a well-formed profile id.</summary>
    public static bool IsProfileId(string id) => ProfileIdPattern().IsMatch(id);

    [LoggerMessage(EventId = 1, EventName = "ProfilesMerged", Level = LogLevel.Information, Message = "Profile {Merged} merged into {Survivor}, linked by {LinkedBy}")]
    private static partial void LogMerged(ILogger logger, string merged, string survivor, IdentifierKind linkedBy);

    [LoggerMessage(EventId = 3, EventName = "OperatorMerge", Level = LogLevel.Information, Message = "Audit: profile {Merged} merged into {Survivor} by {Caller}: {Reason}")]
    private static partial void LogOperatorMerge(ILogger logger, string merged, string survivor, string caller, string reason);

    [LoggerMessage(EventId = 2, EventName = "PersonErased", Level = LogLevel.Information, Message = "Erased {Profiles} profile(s), {Records} records")]
    private static partial void LogErased(ILogger logger, int profiles, long records);

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HashValue();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex ProfileIdPattern();

    [GeneratedRegex("^[a-z0-9_]{1,64}$")]
    private static partial Regex TraitKey();

    [GeneratedRegex("^erasures/[A-Za-z0-9._-]{1,128}$")]
    private static partial Regex ErasureName();
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
