using Journey.Shared.Privacy;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// What other services tell the profile service, applied in batches: interactions (identity
/// resolution and journey inference), identities the tracking API observed, and consent decisions.
/// Each batch is claimed in its consumer's inbox in the same transaction as its effect, so a
/// redelivered event changes nothing.
/// </summary>
public sealed class IngestUseCases(
    IdentityWrites writes,
    IProfileStore store,
    ErasureTombstones tombstones,
    IOptions<ProfileOptions> options,
    TimeProvider time)
{
    /// <summary>Inbox consumer of interaction events.</summary>
    public const string InteractionConsumer = "profile.interaction-recorded";

    /// <summary>Inbox consumer of the tracking API's identities.</summary>
    public const string IdentityConsumer = "profile.identity-observed";

    /// <summary>Inbox consumer of consent events.</summary>
    public const string ConsentConsumer = "profile.consent-changed";

    private ProfileOptions Options => options.Value;

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
                var workspace = await writes.LoadAsync(fresh.SelectMany(i => i.Identifiers).Distinct().ToList(), cancellationToken);
                foreach (var interaction in fresh.OrderBy(i => i.OccurredAt))
                {
                    var target = workspace.Resolve(interaction.Identifiers, interaction.OccurredAt, strictProfileIds: false).Target;
                    JourneyRules.Apply(target, interaction, Options);
                    target.Journal(interaction, null, Options.SplitActivityLimit);
                }

                var checks = ErasureCheck.Earliest(fresh.Select(i => (tombstones.KeysOf(i.Identifiers), i.PublishedAt ?? i.OccurredAt)));
                await writes.SaveAsync(workspace, now, InteractionConsumer, fresh.Select(i => i.EventId).ToList(), checks, cancellationToken);
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
                var workspace = await writes.LoadAsync(fresh.SelectMany(i => i.Identifiers).Distinct().ToList(), cancellationToken);
                foreach (var identity in fresh.OrderBy(i => i.ObservedAt))
                {
                    var target = workspace.Resolve(identity.Identifiers, identity.ObservedAt, strictProfileIds: false).Target;
                    foreach (var (key, value) in identity.Traits)
                    {
                        if (!CustomerProfile.ProtectedTraitKeys.Contains(key) && ProfileInput.IsTraitKey(key) && value.Length <= ProfileInput.MaxTraitValueLength
                            && (target.Traits.ContainsKey(key) || target.Traits.Count < ProfileInput.MaxTraits))
                        {
                            target.Traits[key] = value;
                        }
                    }
                }

                var checks = ErasureCheck.Earliest(fresh.Select(i => (tombstones.KeysOf(i.Identifiers), i.ObservedAt)));
                await writes.SaveAsync(workspace, now, IdentityConsumer, fresh.Select(i => i.EventId).ToList(), checks, cancellationToken);
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
                var workspace = await writes.LoadAsync(fresh.SelectMany(d => d.Identifiers).Distinct().ToList(), cancellationToken);
                foreach (var decision in fresh)
                {
                    var target = workspace.Resolve(decision.Identifiers, now, strictProfileIds: false).Target;
                    if (decision.Purpose == JourneyRules.ProfilingPurpose)
                    {
                        JourneyRules.SetProfilingAllowed(target, decision.Granted);
                    }

                    if (Options.GovernsAChannel(decision.Purpose))
                    {
                        JourneyRules.RecordConsent(target, decision.Purpose, new ChannelConsent(decision.Granted, decision.Channels, decision.DecidedAt));
                    }

                    target.Journal(null, decision, Options.SplitActivityLimit);
                }

                var checks = ErasureCheck.Earliest(fresh.Select(d => (tombstones.KeysOf(d.Identifiers), d.PublishedAt)));
                await writes.SaveAsync(workspace, now, ConsentConsumer, fresh.Select(d => d.EventId).ToList(), checks, cancellationToken);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            retryAtOnce: ex => ex is ErasedIdentifiersException found && DropBlocked(erased, found, fresh.Select(d => (d.EventId, d.Identifiers, d.PublishedAt))));
    }

    /// <summary>Whether decisions on <paramref name="purpose"/> are kept: profiling, or a purpose that governs a channel.</summary>
    public bool IsKept(string purpose) => purpose == JourneyRules.ProfilingPurpose || Options.GovernsAChannel(purpose);

    /// <summary>
    /// Adds to <paramref name="erased"/> the events the tombstones found block; false when none of them
    /// is blocked, which only a store and this check disagreeing could cause, so the error goes on.
    /// </summary>
    private bool DropBlocked(HashSet<string> erased, ErasedIdentifiersException found, IEnumerable<(string EventId, IReadOnlyList<IdentifierKey> Identifiers, DateTimeOffset StampedAt)> events)
    {
        var before = erased.Count;
        erased.UnionWith(events.Where(e => ErasureTombstones.Blocks(found.Found, tombstones.KeysOf(e.Identifiers), e.StampedAt)).Select(e => e.EventId));
        return erased.Count > before;
    }
}
