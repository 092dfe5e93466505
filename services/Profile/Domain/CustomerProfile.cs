namespace Journey.Profile.Domain;

/// <summary>
/// One person: identifiers, traits, journey state and segment membership. Mutable inside one use
/// case; the store persists it with optimistic concurrency on <see cref="Version"/>.
/// </summary>
public sealed class CustomerProfile
{
    /// <summary>Keys of traits that hold personal contact details; their values are kept encrypted.</summary>
    public static readonly IReadOnlySet<string> ProtectedTraitKeys = new HashSet<string>(StringComparer.Ordinal) { "email", "phone" };

    /// <summary>Creates an empty profile.</summary>
    public CustomerProfile(string id, DateTimeOffset createdAt)
    {
        Id = id;
        CreatedAt = createdAt;
        UpdatedAt = createdAt;
    }

    /// <summary>The id (UUIDv7, 32 hex digits).</summary>
    public string Id { get; }

    /// <summary>The version as stored; 0 before the first save.</summary>
    public long Version { get; set; }

    /// <summary>When created.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When last changed.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Identifiers, oldest first.</summary>
    public List<HeldIdentifier> Identifiers { get; init; } = [];

    /// <summary>When a known identifier last identified the person.</summary>
    public DateTimeOffset? LastIdentifiedAt { get; set; }

    /// <summary>Traits in clear, except <see cref="ProtectedTraitKeys"/>, whose values are ciphertext.</summary>
    public Dictionary<string, string> Traits { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Current stage.</summary>
    public JourneyStage Stage { get; set; }

    /// <summary>Stages entered, in order.</summary>
    public List<StageEntry> StageHistory { get; init; } = [];

    /// <summary>Raw decaying interest scores by topic.</summary>
    public Dictionary<string, DecayingScore> Interests { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Raw decaying engagement behind readiness; null when none.</summary>
    public DecayingScore? Engagement { get; set; }

    /// <summary>Open service tickets.</summary>
    public int OpenServiceTickets { get; set; }

    /// <summary>Cart added or abandoned without a purchase since.</summary>
    public bool AbandonedCart { get; set; }

    /// <summary>Consent for profiling.</summary>
    public bool ProfilingAllowed { get; set; } = true;

    /// <summary>The deciding decisions on each purpose that governs a channel, by purpose name.</summary>
    public Dictionary<string, PurposeConsent> Consents { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Purchases seen.</summary>
    public int Purchases { get; set; }

    /// <summary>Interactions per channel number.</summary>
    public Dictionary<int, long> Channels { get; init; } = [];

    /// <summary>Content consumed, newest first.</summary>
    public List<ConsumedContent> ConsumedContents { get; init; } = [];

    /// <summary>Conflicts with other known customers.</summary>
    public List<IdentityConflict> Conflicts { get; init; } = [];

    /// <summary>Segment ids the profile is in.</summary>
    public SortedSet<string> Segments { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Last interaction.</summary>
    public DateTimeOffset? LastInteractionAt { get; set; }

    /// <summary>Merges into this profile still in force and recorded with what undoing them needs.</summary>
    public int OpenMerges { get; set; }

    /// <summary>The running number of the last <see cref="Activity"/> entry.</summary>
    public long ActivitySeq { get; set; }

    /// <summary>The highest entry number dropped from <see cref="Activity"/> to keep it bounded; 0 when none.</summary>
    public long ActivityDropped { get; set; }

    /// <summary>Activity since the oldest merge still in force, oldest first; empty while <see cref="OpenMerges"/> is 0.</summary>
    public List<ActivityEntry> Activity { get; init; } = [];

    /// <summary>Known when it holds a customer id or e-mail.</summary>
    public CustomerType CustomerType => Identifiers.Any(i => i.Key.IsKnown) ? CustomerType.Known : CustomerType.Anonymous;

    /// <summary>The strongest identifier kind held.</summary>
    public IdentifierKind IdentifiedBy =>
        Identifiers.Count == 0 ? IdentifierKind.Unspecified : Identifiers.Select(i => i.Key.Kind).Min();

    /// <summary>The customer id, if any.</summary>
    public string? CustomerId => Identifiers.FirstOrDefault(i => i.Key.Kind == IdentifierKind.CustomerId)?.Key.Value;

    /// <summary>Whether the profile holds <paramref name="key"/>.</summary>
    public bool Holds(IdentifierKey key) => Identifiers.Any(i => i.Key == key);

    /// <summary>Records a conflict once per other profile.</summary>
    public void RecordConflict(string otherId, IdentifierKind kind, DateTimeOffset at)
    {
        if (!Conflicts.Any(c => c.OtherProfileId == otherId && c.SharedKind == kind))
        {
            Conflicts.Add(new IdentityConflict(otherId, kind, at));
        }
    }

    /// <summary>
    /// Keeps <paramref name="interaction"/> or <paramref name="consent"/> while a merge into this
    /// profile can still be undone, at most <paramref name="limit"/> entries (the oldest are dropped).
    /// </summary>
    public void Journal(Interaction? interaction, ConsentDecision? consent, int limit)
    {
        if (OpenMerges == 0)
        {
            return;
        }

        ActivitySeq++;
        Activity.Add(new ActivityEntry(ActivitySeq, interaction is null ? null : interaction with { EventId = "" }, consent is null ? null : consent with { EventId = "" }));
        if (Activity.Count > limit)
        {
            var drop = Activity.Count - limit;
            ActivityDropped = Activity[drop - 1].Seq;
            Activity.RemoveRange(0, drop);
        }
    }

    /// <summary>A deep copy, for a merge edge to keep the profile as it was.</summary>
    public CustomerProfile Clone()
    {
        var copy = new CustomerProfile(Id, CreatedAt)
        {
            Version = Version,
            UpdatedAt = UpdatedAt,
            LastIdentifiedAt = LastIdentifiedAt,
            Stage = Stage,
            Engagement = Engagement,
            OpenServiceTickets = OpenServiceTickets,
            AbandonedCart = AbandonedCart,
            ProfilingAllowed = ProfilingAllowed,
            Purchases = Purchases,
            LastInteractionAt = LastInteractionAt,
            OpenMerges = OpenMerges,
            ActivitySeq = ActivitySeq,
            ActivityDropped = ActivityDropped,
        };
        copy.Identifiers.AddRange(Identifiers);
        foreach (var (key, value) in Traits)
        {
            copy.Traits[key] = value;
        }

        copy.StageHistory.AddRange(StageHistory);
        foreach (var (topic, score) in Interests)
        {
            copy.Interests[topic] = score;
        }

        foreach (var (purpose, consent) in Consents)
        {
            var held = new PurposeConsent();
            foreach (var decision in consent.Decisions.Reverse())
            {
                held.Record(decision);
            }

            copy.Consents[purpose] = held;
        }

        foreach (var (channel, count) in Channels)
        {
            copy.Channels[channel] = count;
        }

        copy.ConsumedContents.AddRange(ConsumedContents);
        copy.Conflicts.AddRange(Conflicts);
        copy.Segments.UnionWith(Segments);
        copy.Activity.AddRange(Activity);
        return copy;
    }

    /// <summary>Enters <paramref name="stage"/> when it is further along than the current one.</summary>
    public void Advance(JourneyStage stage, DateTimeOffset at)
    {
        if (stage > Stage)
        {
            Stage = stage;
            StageHistory.Add(new StageEntry(stage, at));
        }
    }
}
