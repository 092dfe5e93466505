namespace Journey.Recommendation.Domain;

/// <summary>
/// A person as this service knows them, kept from events: the profile snapshot, consent for
/// personalisation and what they consumed. Keyed by the profile id when known, otherwise by the
/// first identifier seen. Identifier keys are <c>{kind}:{value}</c> with e-mail and phone hashed.
/// </summary>
public sealed record PersonState
{
    public required string Key { get; init; }

    public IReadOnlyList<string> IdentifierKeys { get; init; } = [];

    public Stage Stage { get; init; } = Stage.Awareness;

    public int Readiness { get; init; }

    /// <summary>Topic to affinity (0 to 1), strongest first.</summary>
    public IReadOnlyList<Interest> Interests { get; init; } = [];

    public int OpenServiceTickets { get; init; }

    /// <summary>Content ids consumed, newest first (at most <see cref="MaxConsumed"/>).</summary>
    public IReadOnlyList<string> Consumed { get; init; } = [];

    /// <summary>Consent granted, per purpose and channel, as <see cref="ConsentGrants"/> keeps it, e.g. <c>purposes/personalisation</c>.</summary>
    public IReadOnlyList<string> AllowedPurposes { get; init; } = [];

    /// <summary>Whether <paramref name="purpose"/> is granted on <paramref name="channel"/> (unspecified: on any channel).</summary>
    public bool Allows(string purpose, ChannelKind channel) => ConsentGrants.Allows(AllowedPurposes, purpose, channel);

    public const string PersonalisationPurpose = "purposes/personalisation";

    /// <summary>The profile snapshot version applied last; older snapshots are ignored.</summary>
    public long ProfileVersion { get; init; }

    public const int MaxConsumed = 200;

    public bool SameAs(PersonState other) =>
        Key == other.Key && Stage == other.Stage && Readiness == other.Readiness && OpenServiceTickets == other.OpenServiceTickets
        && AllowedPurposes.SequenceEqual(other.AllowedPurposes) && ProfileVersion == other.ProfileVersion
        && IdentifierKeys.SequenceEqual(other.IdentifierKeys) && Interests.SequenceEqual(other.Interests) && Consumed.SequenceEqual(other.Consumed);
}

/// <summary>An interest and its affinity, 0 to 1.</summary>
public readonly record struct Interest(string Topic, double Affinity);

/// <summary>A touchpoint as the catalog last described it.</summary>
public sealed record TouchpointState(string Id, ChannelKind Channel, IReadOnlyList<Stage> Stages, bool Retired, long Version);

/// <summary>A recommendation as issued: what feedback is attributed to.</summary>
public sealed record RecommendationRecord(
    string Id,
    string PersonKey,
    Stage Stage,
    string ExperimentId,
    string Variant,
    IReadOnlyList<string> ContentIds,
    DateTimeOffset CreatedAt);

/// <summary>Issued recommendations counted per experiment and variant; those issued outside an experiment count nowhere.</summary>
public static class IssuedCounts
{
    public static IEnumerable<(string Experiment, VariantCounts Counts)> Of(IEnumerable<RecommendationRecord> records) =>
        records.Where(r => r.ExperimentId.Length > 0)
            .GroupBy(r => (r.ExperimentId, r.Variant))
            .Select(g => (g.Key.ExperimentId, new VariantCounts(g.Key.Variant, g.LongCount(), 0, 0, 0)));
}

/// <summary>Counts of feedback for one item at one stage.</summary>
public sealed record ItemStats(string ContentId, Stage Stage, long Impressions, long Clicks, long Conversions);

/// <summary>Learned counts changed since a cursor, and the cursor that follows them.</summary>
public sealed record ItemStatsChanges(IReadOnlyList<ItemStats> Rows, long Cursor);

/// <summary>Counts of one experiment variant.</summary>
public sealed record VariantCounts(string Variant, long Recommendations, long Impressions, long Clicks, long Conversions);

/// <summary>An item often consumed together with a seed item.</summary>
public sealed record AlsoConsumed(string SeedId, string ContentId, long Count);

/// <summary>What Recommend reads about the request in one go.</summary>
public sealed record AudienceContext(TouchpointState? Touchpoint, PersonState? Person, IReadOnlyDictionary<string, int> ImpressionsToday);

/// <summary>Helpers for identifier keys.</summary>
public static class IdentifierKeys
{
    /// <summary>Identifier kinds, numbered as in journey.common.v1.IdentifierKind.</summary>
    public const int Email = 2;
    public const int Phone = 3;
    public const int ProfileId = 7;

    public static string Of(int kind, string value) => $"{kind}:{value}";

    public static string ForProfile(string profileName) =>
        Of(ProfileId, profileName.StartsWith(ResourceNames.ProfilePrefix, StringComparison.Ordinal) ? profileName[ResourceNames.ProfilePrefix.Length..] : profileName);
}
