using Journey.Shared.Events;
using Journey.Shared.Privacy;

namespace Journey.Recommendation.Domain;

/// <summary>The content library.</summary>
public interface IContentLibrary
{
    /// <summary>Writes <paramref name="item"/>. <paramref name="storedVersion"/> 0 inserts (conflict when it exists), otherwise updates only that version.</summary>
    Task SaveAsync(ContentItem item, long storedVersion, CancellationToken cancellationToken);

    Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Items after <paramref name="afterId"/> ordered by id.</summary>
    Task<IReadOnlyList<ContentItem>> ListAsync(ContentFilter filter, string afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Every item that is not retired, for the in-process candidate index.</summary>
    Task<IReadOnlyList<ContentItem>> ReadActiveAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Read models kept from events (people, touchpoints) and what recommendations produced (issued
/// recommendations, impressions per person and day, learned counts, co-consumption).
/// </summary>
public interface IAudienceStore
{
    /// <summary>The touchpoint, the person found by any of <paramref name="identifierKeys"/>, and their impressions on <paramref name="day"/>.</summary>
    Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken);

    /// <summary>For each seed, the items most often consumed by the same people, most first.</summary>
    Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken);

    /// <summary>Records issued recommendations in one transaction and counts each for its variant.</summary>
    Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken);

    Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The learned counts (whole, not deltas) of every item and stage changed after
    /// <paramref name="cursor"/> (0: all of them), and the cursor to pass next time. An answer may
    /// repeat rows that did not change; it never misses a committed change.
    /// </summary>
    Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken);

    Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one write transaction.</summary>
    Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken);
}

/// <summary>Operations inside one write transaction of <see cref="IAudienceStore"/>.</summary>
public interface IAudienceSession
{
    /// <summary>Claims an event id for a consumer; false when it was handled before.</summary>
    Task<bool> TryClaimAsync(string consumer, string eventId, DateTimeOffset now, CancellationToken cancellationToken);

    Task<PersonState?> FindPersonAsync(IReadOnlyList<string> identifierKeys, CancellationToken cancellationToken);

    /// <summary>Writes the person and links each of its identifier keys to it.</summary>
    Task SavePersonAsync(PersonState person, CancellationToken cancellationToken);

    /// <summary>Removes the person, its identifier links, recommendations and impressions; returns how many records went.</summary>
    Task<long> DeletePersonAsync(string personKey, CancellationToken cancellationToken);

    /// <summary>Moves recommendations and impressions of one person key to another.</summary>
    Task RekeyAsync(string fromKey, string toKey, CancellationToken cancellationToken);

    Task<TouchpointState?> GetTouchpointAsync(string id, CancellationToken cancellationToken);

    Task SaveTouchpointAsync(TouchpointState touchpoint, CancellationToken cancellationToken);

    Task AddImpressionAsync(string personKey, string contentId, DateOnly day, CancellationToken cancellationToken);

    Task AddItemStatsAsync(ItemStats delta, CancellationToken cancellationToken);

    Task AddVariantCountsAsync(string experimentId, VariantCounts delta, CancellationToken cancellationToken);

    Task AddCoConsumptionAsync(string a, string b, CancellationToken cancellationToken);

    Task AppendOutboxAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken);

    /// <summary>The erasure tombstones among <paramref name="tombstoneKeys"/>: key to <see cref="ErasureTombstone.BlocksUntil"/>.</summary>
    Task<IReadOnlyDictionary<string, DateTimeOffset>> FindErasedAsync(IReadOnlyList<string> tombstoneKeys, CancellationToken cancellationToken);

    /// <summary>Writes an erasure's tombstones (a later one for a key extends it) and removes those expired by <paramref name="now"/>.</summary>
    Task RememberErasureAsync(IReadOnlyList<ErasureTombstone> tombstones, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Experiments.</summary>
public interface IExperimentStore
{
    /// <summary>Inserts; <c>AlreadyExistsException</c> when the id is taken.</summary>
    Task CreateAsync(Experiment experiment, CancellationToken cancellationToken);

    /// <summary>Updates only when the stored version is <paramref name="storedVersion"/>.</summary>
    Task UpdateAsync(Experiment experiment, long storedVersion, CancellationToken cancellationToken);

    Task<Experiment?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Newest first; <paramref name="before"/> is the (created_at, id) cursor of the last item of the previous page.</summary>
    Task<IReadOnlyList<Experiment>> ListAsync((DateTimeOffset CreatedAt, string Id)? before, int limit, CancellationToken cancellationToken);

    Task<IReadOnlyList<Experiment>> ListRunningAsync(CancellationToken cancellationToken);
}

/// <summary>Builds the events this service publishes.</summary>
public interface IRecommendationEvents
{
    OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset now);
}
