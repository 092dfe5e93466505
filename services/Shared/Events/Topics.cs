namespace Journey.Shared.Events;

/// <summary>
/// The platform's own topics and topic naming. Each service declares the topics it publishes and
/// subscribes to in its module (<see cref="Hosting.JourneyModule.Publishes"/>,
/// <see cref="Hosting.JourneyModule.Subscribes"/>); <see cref="TopicMap"/> aggregates and checks them.
/// Only the erasure protocol's two topics live here, because the bus and the stores act on them
/// (ADR 0019) whichever service publishes them. Names are part of the public contract (Dapr
/// subscriptions, dead-letter topics and Kubernetes manifests refer to them), so they never derive
/// from CLR type names.
/// </summary>
public static class Topics
{
    /// <summary>A person asked to be forgotten (journey.events.v1.ErasureRequested).</summary>
    public const string ErasureRequested = "erasure-requested";

    /// <summary>A service finished erasing a person (journey.events.v1.ErasureCompleted); every service that holds personal data publishes it.</summary>
    public const string ErasureCompleted = "erasure-completed";

    /// <summary>
    /// Whether <paramref name="topic"/> is one of an erasure's own events: a store or a log that has
    /// just let go of one scrubs its write-ahead log, since everything about the person published
    /// before it has gone the same way (ADR 0019).
    /// </summary>
    public static bool EndsAnErasure(string topic) => topic is ErasureRequested or ErasureCompleted;

    /// <summary>The dead-letter topic for one subscriber's subscription to a topic.</summary>
    public static string DeadLetter(string app, string topic) => $"{app}.{topic}.dead-letter";
}
