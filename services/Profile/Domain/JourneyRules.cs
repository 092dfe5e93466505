namespace Journey.Profile.Domain;

/// <summary>A profile's decayed values at one moment, as readers and events see them.</summary>
/// <param name="Interests">Topic affinities (0 to 1), strongest first.</param>
/// <param name="Readiness">Purchase readiness 0 to 100.</param>
/// <param name="At">The moment.</param>
public sealed record ProfileView(IReadOnlyList<(string Topic, double Affinity)> Interests, int Readiness, DateTimeOffset At);

/// <summary>
/// Journey inference: stage, interests, readiness and flags from interactions, and how two
/// profiles' journeys combine in a merge.
/// </summary>
public static class JourneyRules
{
    /// <summary>The purpose whose withdrawal stops interest and readiness inference.</summary>
    public const string ProfilingPurpose = "purposes/profiling";

    /// <summary>Engagement at which readiness reaches about 63; a test drive alone is most of the way.</summary>
    private const double ReadinessScale = 30;

    /// <summary>Most consumed content ids kept.</summary>
    public const int MaxConsumedContents = 100;

    /// <summary>
    /// How much each interaction type says about readiness to buy. Acts that cost the person effort
    /// and name a purchase (a test drive, a quote, a configuration, a cart left behind) each outweigh
    /// five newsletter opens and five page views together; an e-mail open, which follows a
    /// relationship the person chose, weighs twice a page view. Every weight decays with
    /// <see cref="ProfileOptions.ReadinessHalfLife"/>.
    /// </summary>
    public static double ReadinessWeight(InteractionType type) => type switch
    {
        InteractionType.View => 1,
        InteractionType.Feedback => 1,
        InteractionType.EmailOpen => 2,
        InteractionType.Click => 2,
        InteractionType.ContentConsumed => 3,
        InteractionType.RecommendationClick => 3,
        InteractionType.FormSubmit => 8,
        InteractionType.CartAdd => 12,
        InteractionType.CartAbandoned => 16,
        InteractionType.ConfigurationBuilt => 18,
        InteractionType.QuoteRequested => 22,
        InteractionType.TestDriveBooked => 30,
        _ => 0,
    };

    /// <summary>How much an interaction says about interest in its topics.</summary>
    public static double InterestWeight(InteractionType type) => type switch
    {
        InteractionType.ContentConsumed => 1.0,
        InteractionType.TestDriveBooked or InteractionType.CartAdd or InteractionType.Purchase
            or InteractionType.ConfigurationBuilt or InteractionType.QuoteRequested => 1.0,
        InteractionType.FormSubmit or InteractionType.Click or InteractionType.RecommendationClick => 0.6,
        InteractionType.RecommendationImpression => 0,
        _ => 0.3,
    };

    /// <summary>Applies one interaction to <paramref name="profile"/>.</summary>
    public static void Apply(CustomerProfile profile, Interaction interaction, ProfileOptions options)
    {
        var at = interaction.OccurredAt;
        ApplyStage(profile, interaction);
        switch (interaction.Type)
        {
            case InteractionType.Purchase:
                profile.Purchases++;
                profile.AbandonedCart = false;
                break;
            case InteractionType.CartAdd or InteractionType.CartAbandoned:
                profile.AbandonedCart = true;
                break;
            case InteractionType.ServiceTicketOpened:
                profile.OpenServiceTickets++;
                break;
            case InteractionType.ServiceTicketResolved:
                profile.OpenServiceTickets = Math.Max(0, profile.OpenServiceTickets - 1);
                break;
        }

        if (interaction.Channel != 0)
        {
            profile.Channels[interaction.Channel] = profile.Channels.GetValueOrDefault(interaction.Channel) + 1;
        }

        if (interaction.Content.Length > 0 && interaction.Type == InteractionType.ContentConsumed)
        {
            profile.ConsumedContents.RemoveAll(c => c.Content == interaction.Content);
            var index = profile.ConsumedContents.FindIndex(c => c.At < at);
            profile.ConsumedContents.Insert(index < 0 ? profile.ConsumedContents.Count : index, new ConsumedContent(interaction.Content, at));
            if (profile.ConsumedContents.Count > MaxConsumedContents)
            {
                profile.ConsumedContents.RemoveRange(MaxConsumedContents, profile.ConsumedContents.Count - MaxConsumedContents);
            }
        }

        if (profile.LastInteractionAt is null || at > profile.LastInteractionAt)
        {
            profile.LastInteractionAt = at;
        }

        if (!profile.ProfilingAllowed)
        {
            return;
        }

        if (interaction.Type == InteractionType.Purchase)
        {
            // Someone who just bought is no longer a prospect for that purchase.
            profile.Engagement = new DecayingScore(0, at);
        }
        else if (ReadinessWeight(interaction.Type) is > 0 and var weight)
        {
            profile.Engagement = (profile.Engagement ?? new DecayingScore(0, at)).Add(weight, at, options.ReadinessHalfLife);
        }

        var interestWeight = InterestWeight(interaction.Type);
        if (interestWeight > 0)
        {
            foreach (var topic in interaction.Topics.Distinct(StringComparer.Ordinal))
            {
                var score = profile.Interests.GetValueOrDefault(topic) ?? new DecayingScore(0, at);
                profile.Interests[topic] = score.Add(interestWeight, at, options.InterestHalfLife);
            }
        }
    }

    /// <summary>
    /// Stage only moves forward: the touchpoint's stages place pre-purchase interactions (awareness to
    /// evaluation), a test drive, configuration, quote or cart means evaluation, a first purchase means purchase then
    /// ownership, a repeat purchase or a referral means loyalty.
    /// </summary>
    private static void ApplyStage(CustomerProfile profile, Interaction interaction)
    {
        var at = interaction.OccurredAt;
        switch (interaction.Type)
        {
            case InteractionType.Purchase when profile.Purchases >= 1:
            case InteractionType.Referral:
                profile.Advance(JourneyStage.Loyalty, at);
                return;
            case InteractionType.Purchase:
                profile.Advance(JourneyStage.Purchase, at);
                profile.Advance(JourneyStage.Ownership, at);
                return;
            case InteractionType.TestDriveBooked or InteractionType.CartAdd or InteractionType.CartAbandoned
                or InteractionType.ConfigurationBuilt or InteractionType.QuoteRequested:
                profile.Advance(JourneyStage.Evaluation, at);
                return;
        }

        var fromTouchpoint = interaction.Stages.Where(s => s is >= JourneyStage.Awareness and <= JourneyStage.Evaluation).DefaultIfEmpty(JourneyStage.Awareness).Max();
        if (interaction.Type is InteractionType.ServiceTicketOpened or InteractionType.ServiceTicketResolved && profile.Stage >= JourneyStage.Ownership)
        {
            return;
        }

        profile.Advance(fromTouchpoint, at);
    }

    /// <summary>Clears what was inferred while profiling is not allowed.</summary>
    public static void SetProfilingAllowed(CustomerProfile profile, bool allowed)
    {
        profile.ProfilingAllowed = allowed;
        if (!allowed)
        {
            profile.Interests.Clear();
            profile.Engagement = null;
        }
    }

    /// <summary>Records a decision on <paramref name="purpose"/>; see <see cref="PurposeConsent.Record"/>.</summary>
    public static void RecordConsent(CustomerProfile profile, string purpose, ChannelConsent decision)
    {
        if (!profile.Consents.TryGetValue(purpose, out var held))
        {
            profile.Consents[purpose] = held = new PurposeConsent();
        }

        held.Record(decision);
    }

    /// <summary>
    /// Whether <paramref name="profile"/> granted every purpose in <paramref name="governing"/> on
    /// <paramref name="channel"/>; a purpose never decided on is not granted.
    /// </summary>
    public static bool MayActivate(CustomerProfile profile, IReadOnlyList<string> governing, ChannelKind channel) =>
        governing.All(purpose => profile.Consents.TryGetValue(purpose, out var consent) && consent.Allows(channel));

    /// <summary>The decayed view at <paramref name="now"/>.</summary>
    public static ProfileView View(CustomerProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        if (!profile.ProfilingAllowed)
        {
            return new ProfileView([], 0, now);
        }

        var interests = profile.Interests
            .Select(i => (Topic: i.Key, Affinity: 1 - Math.Exp(-i.Value.At(now, options.InterestHalfLife))))
            .Where(i => i.Affinity >= 0.001)
            .OrderByDescending(i => i.Affinity).ThenBy(i => i.Topic, StringComparer.Ordinal)
            .ToList();
        var engagement = profile.Engagement?.At(now, options.ReadinessHalfLife) ?? 0;
        var readiness = (int)Math.Round(100 * (1 - Math.Exp(-engagement / ReadinessScale)));
        return new ProfileView(interests, Math.Clamp(readiness, 0, 100), now);
    }

    /// <summary>Folds <paramref name="merged"/>'s journey into <paramref name="survivor"/>: histories, interests, flags and counts combine.</summary>
    public static void Combine(CustomerProfile survivor, CustomerProfile merged, ProfileOptions options)
    {
        var history = survivor.StageHistory.Concat(merged.StageHistory)
            .GroupBy(e => e.Stage).Select(g => g.MinBy(e => e.EnteredAt)!)
            .OrderBy(e => e.EnteredAt).ThenBy(e => e.Stage).ToList();
        survivor.StageHistory.Clear();
        survivor.StageHistory.AddRange(history);
        survivor.Stage = (JourneyStage)Math.Max((int)survivor.Stage, (int)merged.Stage);
        foreach (var (topic, score) in merged.Interests)
        {
            survivor.Interests[topic] = survivor.Interests.TryGetValue(topic, out var existing) ? existing.Combine(score, options.InterestHalfLife) : score;
        }

        survivor.Engagement = (survivor.Engagement, merged.Engagement) switch
        {
            (null, var other) => other,
            (var own, null) => own,
            var (own, other) => own.Combine(other, options.ReadinessHalfLife),
        };
        survivor.OpenServiceTickets += merged.OpenServiceTickets;
        survivor.AbandonedCart |= merged.AbandonedCart;
        survivor.Purchases += merged.Purchases;
        foreach (var (channel, count) in merged.Channels)
        {
            survivor.Channels[channel] = survivor.Channels.GetValueOrDefault(channel) + count;
        }

        var contents = survivor.ConsumedContents.Concat(merged.ConsumedContents)
            .GroupBy(c => c.Content).Select(g => g.MaxBy(c => c.At)!)
            .OrderByDescending(c => c.At).Take(MaxConsumedContents).ToList();
        survivor.ConsumedContents.Clear();
        survivor.ConsumedContents.AddRange(contents);
        foreach (var (key, value) in merged.Traits)
        {
            survivor.Traits.TryAdd(key, value);
        }

        foreach (var conflict in merged.Conflicts)
        {
            survivor.RecordConflict(conflict.OtherProfileId, conflict.SharedKind, conflict.DetectedAt);
        }

        if (merged.LastInteractionAt > survivor.LastInteractionAt || survivor.LastInteractionAt is null)
        {
            survivor.LastInteractionAt = merged.LastInteractionAt;
        }

        if (merged.CreatedAt < survivor.CreatedAt)
        {
            survivor.CreatedAt = merged.CreatedAt;
        }

        foreach (var (purpose, consent) in merged.Consents)
        {
            survivor.Consents[purpose] = survivor.Consents.TryGetValue(purpose, out var own) ? PurposeConsent.Combine(own, consent) : consent;
        }

        // A withdrawal of profiling consent given under either identity still holds.
        if (!merged.ProfilingAllowed)
        {
            SetProfilingAllowed(survivor, false);
        }
    }
}
