using Journey.Shared.Events;

namespace Journey.Consent;

/// <summary>
/// The topics the consent service publishes and those it handles. Other services' topics are
/// named by the strings docs/architecture.md and protos/journey/events/v1 define, since services
/// do not reference each other's projects.
/// </summary>
public static class ConsentTopics
{
    /// <summary>Published: a decision was recorded or withdrawn (journey.events.v1.ConsentChanged).</summary>
    public const string ConsentChanged = "consent-changed";

    /// <summary>Handled: one profile was merged into another (journey.events.v1.ProfilesMerged).</summary>
    public const string ProfilesMerged = "profiles-merged";

    /// <summary>Handled: a merge was undone (journey.events.v1.ProfileSplit).</summary>
    public const string ProfileSplit = "profile-split";

    /// <summary>Handled: a tracking message carried consent preferences its source maps to purposes (journey.events.v1.ConsentObserved).</summary>
    public const string ConsentObserved = "consent-observed";

    private const string ProfileService = "profile";

    /// <summary>The services that hold personal data: an erasure completes once each has reported <see cref="Topics.ErasureCompleted"/>.</summary>
    public static IReadOnlyList<string> ErasingServices { get; } = ["touchpoint", ProfileService, ConsentModule.Name, "recommendation"];

    /// <summary>Every topic the service publishes; it starts erasures (<see cref="Topics.ErasureRequested"/>).</summary>
    public static IReadOnlyList<string> Publishes { get; } = [ConsentChanged, Topics.ErasureRequested, Topics.ErasureCompleted];

    /// <summary>Every topic the service handles, with the services it accepts it from.</summary>
    public static IReadOnlyList<TopicSubscription> Subscribes { get; } =
    [
        new(ProfilesMerged, ProfileService),
        new(ProfileSplit, ProfileService),
        new(ConsentObserved, "touchpoint"),
        new(Topics.ErasureCompleted, ErasingServices),
    ];

    /// <summary>The declared subscription to <paramref name="topic"/>.</summary>
    public static TopicSubscription Subscription(string topic) => Subscribes.Single(s => s.Topic == topic);
}
