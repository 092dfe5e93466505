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
        // Redeliveries are rare: the first attempt lets the inbox claim in the write find them, so the
        // common path does not read the inbox first.
        var applied = await ApplyBatchAsync(
            interactions,
            InteractionConsumer,
            new EventParts<Interaction>(i => i.EventId, i => i.Identifiers, i => i.PublishedAt ?? i.OccurredAt),
            readInboxFirst: false,
            (workspace, fresh, _) =>
            {
                foreach (var interaction in fresh.OrderBy(i => i.OccurredAt))
                {
                    var target = workspace.Resolve(interaction.Identifiers, interaction.OccurredAt, strictProfileIds: false).Target;
                    JourneyRules.Apply(target, interaction, Options);
                    target.Journal(interaction, null, Options.SplitActivityLimit);
                }
            },
            cancellationToken);
        if (applied > 0)
        {
            ProfileTelemetry.InteractionsApplied.Add(applied);
        }
    }

    /// <summary>
    /// Links the identifiers of tracking identities (identify and alias) as interactions link theirs,
    /// under the same identity rules (two known customers are never merged), and keeps their traits,
    /// except e-mail and phone (held only encrypted, from Identify) and keys outside the trait rules.
    /// Identities an erasure tombstone blocks (observed before an erasure of one of their identifiers
    /// settled) are skipped.
    /// </summary>
    public Task ApplyObservedIdentitiesAsync(IReadOnlyList<ObservedIdentity> identities, CancellationToken cancellationToken) =>
        ApplyBatchAsync(
            identities,
            IdentityConsumer,
            new EventParts<ObservedIdentity>(i => i.EventId, i => i.Identifiers, i => i.ObservedAt),
            readInboxFirst: true,
            (workspace, fresh, _) =>
            {
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
            },
            cancellationToken);

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

        await ApplyBatchAsync(
            decisions,
            ConsentConsumer,
            new EventParts<ConsentDecision>(d => d.EventId, d => d.Identifiers, d => d.PublishedAt),
            readInboxFirst: true,
            (workspace, fresh, now) =>
            {
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
            },
            cancellationToken);
    }

    /// <summary>Whether decisions on <paramref name="purpose"/> are kept: profiling, or a purpose that governs a channel.</summary>
    public bool IsKept(string purpose) => purpose == JourneyRules.ProfilingPurpose || Options.GovernsAChannel(purpose);

    /// <summary>
    /// Applies the events of <paramref name="batch"/> that <paramref name="consumer"/> has not claimed
    /// yet: <paramref name="apply"/> resolves them in a workspace holding every profile they name, and
    /// the workspace is written in one transaction with their inbox claims. A lost race reads again. A
    /// write refused by erasure tombstones wrote nothing: the rest is written again without the events
    /// of erased people. Without <paramref name="readInboxFirst"/> the first attempt leaves finding
    /// redeliveries to the claim in the write. Returns how many events were applied.
    /// </summary>
    private async Task<int> ApplyBatchAsync<T>(
        IReadOnlyList<T> batch,
        string consumer,
        EventParts<T> parts,
        bool readInboxFirst,
        Action<IdentityWorkspace, List<T>, DateTimeOffset> apply,
        CancellationToken cancellationToken)
    {
        var erased = new HashSet<string>(StringComparer.Ordinal);
        List<T> fresh = [];
        var applied = 0;
        await ConflictRetry.RunAsync(
            async attempt =>
            {
                fresh = [];
                var unclaimed = attempt == 1 && !readInboxFirst ? null : await store.UnclaimedAsync(consumer, batch.Select(parts.Id).ToList(), cancellationToken);
                fresh = batch.Where(e => (unclaimed?.Contains(parts.Id(e)) ?? true) && !erased.Contains(parts.Id(e))).DistinctBy(parts.Id).ToList();
                if (fresh.Count == 0)
                {
                    return;
                }

                var now = time.GetUtcNow();
                var workspace = await writes.LoadAsync(fresh.SelectMany(parts.Identifiers).Distinct().ToList(), cancellationToken);
                apply(workspace, fresh, now);
                var checks = ErasureCheck.Earliest(fresh.Select(e => (tombstones.KeysOf(parts.Identifiers(e)), parts.StampedAt(e))));
                await writes.SaveAsync(workspace, now, consumer, fresh.Select(parts.Id).ToList(), checks, cancellationToken);
                applied = fresh.Count;
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken,
            retryAtOnce: ex => ex is ErasedIdentifiersException found && DropBlocked(erased, found, fresh, parts));
        return applied;
    }

    /// <summary>
    /// Adds to <paramref name="erased"/> the events the tombstones found block; false when none of them
    /// is blocked, which only a store and this check disagreeing could cause, so the error goes on.
    /// </summary>
    private bool DropBlocked<T>(HashSet<string> erased, ErasedIdentifiersException found, IEnumerable<T> events, EventParts<T> parts)
    {
        var before = erased.Count;
        erased.UnionWith(events.Where(e => ErasureTombstones.Blocks(found.Found, tombstones.KeysOf(parts.Identifiers(e)), parts.StampedAt(e))).Select(parts.Id));
        return erased.Count > before;
    }

    /// <summary>What a batch needs of each event: its id, the identifiers it names, and the stamp erasure tombstones are compared with.</summary>
    private sealed record EventParts<T>(Func<T, string> Id, Func<T, IReadOnlyList<IdentifierKey>> Identifiers, Func<T, DateTimeOffset> StampedAt);
}
