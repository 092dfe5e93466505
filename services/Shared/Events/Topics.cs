namespace Journey.Shared.Events;

/// <summary>
/// The one place where topic names and who publishes and subscribes to them are written down.
/// Names are part of the public contract (Dapr subscriptions, dead-letter topics and Kubernetes
/// manifests refer to them), so they never derive from CLR type names.
/// </summary>
public static class Topics
{
    /// <summary>Touchpoint service: an interaction was accepted (journey.events.v1.InteractionRecorded).</summary>
    public const string InteractionRecorded = "interaction-recorded";

    /// <summary>Touchpoint service: a catalog entry was defined, changed or retired (journey.events.v1.TouchpointChanged).</summary>
    public const string TouchpointChanged = "touchpoint-changed";

    /// <summary>Touchpoint service: the tracking API saw identifiers of one person together (journey.events.v1.IdentityObserved).</summary>
    public const string IdentityObserved = "identity-observed";

    /// <summary>Touchpoint service: a tracking message carried consent preferences its source maps to purposes (journey.events.v1.ConsentObserved).</summary>
    public const string ConsentObserved = "consent-observed";

    /// <summary>Profile service: a compact snapshot after any change (journey.events.v1.ProfileUpdated).</summary>
    public const string ProfileUpdated = "profile-updated";

    /// <summary>Profile service: one profile was merged into another (journey.events.v1.ProfilesMerged).</summary>
    public const string ProfilesMerged = "profiles-merged";

    /// <summary>Profile service: a merge was undone and the merged profile restored (journey.events.v1.ProfileSplit).</summary>
    public const string ProfileSplit = "profile-split";

    /// <summary>Profile service: a profile entered or left a segment (journey.events.v1.SegmentMembershipChanged).</summary>
    public const string SegmentMembershipChanged = "segment-membership-changed";

    /// <summary>Consent service: a decision was recorded or withdrawn (journey.events.v1.ConsentChanged).</summary>
    public const string ConsentChanged = "consent-changed";

    /// <summary>Consent service: a person asked to be forgotten (journey.events.v1.ErasureRequested).</summary>
    public const string ErasureRequested = "erasure-requested";

    /// <summary>Every service: it finished erasing a person (journey.events.v1.ErasureCompleted).</summary>
    public const string ErasureCompleted = "erasure-completed";

    /// <summary>The application ids of the four services, as Dapr and Kubernetes know them.</summary>
    public static class Apps
    {
        /// <summary>The touchpoint service.</summary>
        public const string Touchpoint = "touchpoint";

        /// <summary>The profile service.</summary>
        public const string Profile = "profile";

        /// <summary>The consent service.</summary>
        public const string Consent = "consent";

        /// <summary>The content-recommendation service.</summary>
        public const string Recommendation = "recommendation";

        /// <summary>All four, in a stable order.</summary>
        public static readonly IReadOnlyList<string> All = [Touchpoint, Profile, Consent, Recommendation];
    }

    /// <summary>Which service publishes each topic.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Publishers = new Dictionary<string, IReadOnlyList<string>>
    {
        [InteractionRecorded] = [Apps.Touchpoint],
        [TouchpointChanged] = [Apps.Touchpoint],
        [IdentityObserved] = [Apps.Touchpoint],
        [ConsentObserved] = [Apps.Touchpoint],
        [ProfileUpdated] = [Apps.Profile],
        [ProfilesMerged] = [Apps.Profile],
        [ProfileSplit] = [Apps.Profile],
        [SegmentMembershipChanged] = [Apps.Profile],
        [ConsentChanged] = [Apps.Consent],
        [ErasureRequested] = [Apps.Consent],
        [ErasureCompleted] = [Apps.Touchpoint, Apps.Profile, Apps.Consent, Apps.Recommendation],
    };

    /// <summary>Which services subscribe to each topic. A topic nobody subscribes to is still published for outside consumers.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Subscribers = new Dictionary<string, IReadOnlyList<string>>
    {
        [InteractionRecorded] = [Apps.Profile, Apps.Recommendation],
        [TouchpointChanged] = [Apps.Recommendation],
        [IdentityObserved] = [Apps.Profile],
        [ConsentObserved] = [Apps.Consent],
        [ProfileUpdated] = [Apps.Touchpoint, Apps.Recommendation],
        [ProfilesMerged] = [Apps.Touchpoint, Apps.Consent, Apps.Recommendation],
        [ProfileSplit] = [Apps.Touchpoint, Apps.Consent, Apps.Recommendation],
        [SegmentMembershipChanged] = [],
        [ConsentChanged] = [Apps.Profile, Apps.Recommendation],
        [ErasureRequested] = [Apps.Touchpoint, Apps.Profile, Apps.Recommendation],
        [ErasureCompleted] = [Apps.Consent],
    };

    /// <summary>
    /// Whether <paramref name="topic"/> is one of an erasure's own events: a store or a log that has
    /// just let go of one scrubs its write-ahead log, since everything about the person published
    /// before it has gone the same way (ADR 0019).
    /// </summary>
    public static bool EndsAnErasure(string topic) => topic is ErasureRequested or ErasureCompleted;

    /// <summary>The dead-letter topic for one subscriber's subscription to a topic.</summary>
    public static string DeadLetter(string app, string topic) => $"{app}.{topic}.dead-letter";
}
