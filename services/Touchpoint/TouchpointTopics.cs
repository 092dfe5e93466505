using Journey.Shared.Events;

namespace Journey.Touchpoint;

/// <summary>
/// The topics the touchpoint service publishes and those it handles. Other services' topics are
/// named by the strings docs/architecture.md and protos/journey/events/v1 define, since services
/// do not reference each other's projects.
/// </summary>
public static class TouchpointTopics
{
    /// <summary>Published: an interaction was accepted (journey.events.v1.InteractionRecorded).</summary>
    public const string InteractionRecorded = "interaction-recorded";

    /// <summary>Published: a catalog entry was defined, changed or retired (journey.events.v1.TouchpointChanged).</summary>
    public const string TouchpointChanged = "touchpoint-changed";

    /// <summary>Published: the tracking API saw identifiers of one person together (journey.events.v1.IdentityObserved).</summary>
    public const string IdentityObserved = "identity-observed";

    /// <summary>Published: a tracking message carried consent preferences its source maps to purposes (journey.events.v1.ConsentObserved).</summary>
    public const string ConsentObserved = "consent-observed";

    /// <summary>Handled: the profile service's snapshot after any change (journey.events.v1.ProfileUpdated).</summary>
    public const string ProfileUpdated = "profile-updated";

    /// <summary>Handled: one profile was merged into another (journey.events.v1.ProfilesMerged).</summary>
    public const string ProfilesMerged = "profiles-merged";

    /// <summary>Handled: a merge was undone (journey.events.v1.ProfileSplit).</summary>
    public const string ProfileSplit = "profile-split";

    private const string ProfileService = "profile";
    private const string ConsentService = "consent";

    /// <summary>Every topic the service publishes.</summary>
    public static IReadOnlyList<string> Publishes { get; } = [InteractionRecorded, TouchpointChanged, IdentityObserved, ConsentObserved, Topics.ErasureCompleted];

    /// <summary>Every topic the service handles, with the service it accepts it from.</summary>
    public static IReadOnlyList<TopicSubscription> Subscribes { get; } =
    [
        new(ProfileUpdated, ProfileService),
        new(ProfilesMerged, ProfileService),
        new(ProfileSplit, ProfileService),
        new(Topics.ErasureRequested, ConsentService),
    ];

    /// <summary>The declared subscription to <paramref name="topic"/>.</summary>
    public static TopicSubscription Subscription(string topic) => Subscribes.Single(s => s.Topic == topic);
}
