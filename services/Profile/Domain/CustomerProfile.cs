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
