using Journey.Shared.Events;

namespace Journey.Recommendation;

/// <summary>
/// The topics the recommendation service handles (it publishes only <see cref="Topics.ErasureCompleted"/>).
/// Other services' topics are named by the strings docs/architecture.md and protos/journey/events/v1
/// define, since services do not reference each other's projects.
/// </summary>
public static class RecommendationTopics
{
    /// <summary>Handled: the touchpoint service accepted an interaction (journey.events.v1.InteractionRecorded).</summary>
    public const string InteractionRecorded = "interaction-recorded";

    /// <summary>Handled: a touchpoint catalog entry was defined, changed or retired (journey.events.v1.TouchpointChanged).</summary>
    public const string TouchpointChanged = "touchpoint-changed";

    /// <summary>Handled: the profile service's snapshot after any change (journey.events.v1.ProfileUpdated).</summary>
    public const string ProfileUpdated = "profile-updated";

    /// <summary>Handled: one profile was merged into another (journey.events.v1.ProfilesMerged).</summary>
    public const string ProfilesMerged = "profiles-merged";

    /// <summary>Handled: a merge was undone (journey.events.v1.ProfileSplit).</summary>
    public const string ProfileSplit = "profile-split";

    /// <summary>Handled: a consent decision was recorded or withdrawn (journey.events.v1.ConsentChanged).</summary>
    public const string ConsentChanged = "consent-changed";

    private const string TouchpointService = "touchpoint";
    private const string ProfileService = "profile";
    private const string ConsentService = "consent";

    /// <summary>Every topic the service publishes.</summary>
    public static IReadOnlyList<string> Publishes { get; } = [Topics.ErasureCompleted];

    /// <summary>Every topic the service handles, with the service it accepts it from.</summary>
    public static IReadOnlyList<TopicSubscription> Subscribes { get; } =
    [
        new(InteractionRecorded, TouchpointService),
        new(TouchpointChanged, TouchpointService),
        new(ProfileUpdated, ProfileService),
        new(ProfilesMerged, ProfileService),
        new(ProfileSplit, ProfileService),
        new(ConsentChanged, ConsentService),
        new(Topics.ErasureRequested, ConsentService),
    ];

    /// <summary>The declared subscription to <paramref name="topic"/>.</summary>
    public static TopicSubscription Subscription(string topic) => Subscribes.Single(s => s.Topic == topic);
}
