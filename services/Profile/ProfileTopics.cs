using Journey.Shared.Events;

namespace Journey.Profile;

/// <summary>
/// The topics the profile service publishes and those it handles. Other services' topics are
/// named by the strings docs/architecture.md and protos/journey/events/v1 define, since services
/// do not reference each other's projects.
/// </summary>
public static class ProfileTopics
{
    /// <summary>Published: a compact snapshot after any change (journey.events.v1.ProfileUpdated).</summary>
    public const string ProfileUpdated = "profile-updated";

    /// <summary>Published: one profile was merged into another (journey.events.v1.ProfilesMerged).</summary>
    public const string ProfilesMerged = "profiles-merged";

    /// <summary>Published: a merge was undone and the merged profile restored (journey.events.v1.ProfileSplit).</summary>
    public const string ProfileSplit = "profile-split";

    /// <summary>Published: a profile entered or left a segment (journey.events.v1.SegmentMembershipChanged).</summary>
    public const string SegmentMembershipChanged = "segment-membership-changed";

    /// <summary>Handled: the touchpoint service accepted an interaction (journey.events.v1.InteractionRecorded).</summary>
    public const string InteractionRecorded = "interaction-recorded";

    /// <summary>Handled: the tracking API saw identifiers of one person together (journey.events.v1.IdentityObserved).</summary>
    public const string IdentityObserved = "identity-observed";

    /// <summary>Handled: a consent decision was recorded or withdrawn (journey.events.v1.ConsentChanged).</summary>
    public const string ConsentChanged = "consent-changed";

    private const string TouchpointService = "touchpoint";
    private const string ConsentService = "consent";

    /// <summary>Every topic the service publishes.</summary>
    public static IReadOnlyList<string> Publishes { get; } = [ProfileUpdated, ProfilesMerged, ProfileSplit, SegmentMembershipChanged, Topics.ErasureCompleted];

    /// <summary>Every topic the service handles, with the service it accepts it from.</summary>
    public static IReadOnlyList<TopicSubscription> Subscribes { get; } =
    [
        new(InteractionRecorded, TouchpointService),
        new(IdentityObserved, TouchpointService),
        new(ConsentChanged, ConsentService),
        new(Topics.ErasureRequested, ConsentService),
    ];

    /// <summary>The declared subscription to <paramref name="topic"/>.</summary>
    public static TopicSubscription Subscription(string topic) => Subscribes.Single(s => s.Topic == topic);
}
