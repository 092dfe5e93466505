using Journey.Shared.Events;

namespace Journey.Touchpoint.Domain;

/// <summary>The touchpoint catalog.</summary>
public interface ITouchpointCatalogStore
{
    /// <summary>Stores a new entry and its events; <see cref="Journey.Shared.Errors.AlreadyExistsException"/> when the id is taken.</summary>
    Task CreateAsync(TouchpointDefinition touchpoint, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken);

    /// <summary>One entry, or null.</summary>
    Task<TouchpointDefinition?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>The entries among <paramref name="ids"/> that exist, by id.</summary>
    Task<IReadOnlyDictionary<string, TouchpointDefinition>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces an entry whose stored version is <paramref name="expectedVersion"/>, with its events;
    /// <see cref="Journey.Shared.Errors.ConcurrencyConflictException"/> otherwise.
    /// </summary>
    Task UpdateAsync(TouchpointDefinition touchpoint, long expectedVersion, IReadOnlyList<OutboxMessage> events, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> entries matching <paramref name="filter"/> with an id after <paramref name="afterId"/>, by id.</summary>
    Task<IReadOnlyList<TouchpointDefinition>> ListAsync(TouchpointFilter filter, string? afterId, int limit, CancellationToken cancellationToken);
}

/// <summary>Builds the integration events this service publishes.</summary>
public interface ITouchpointEvents
{
    /// <summary><c>touchpoint-changed</c> for the entry as it now is.</summary>
    OutboxMessage Changed(TouchpointDefinition touchpoint, DateTimeOffset now);

    /// <summary><c>interaction-recorded</c> for an accepted interaction.</summary>
    OutboxMessage Recorded(Interaction interaction, TouchpointDefinition touchpoint, DateTimeOffset now);

    /// <summary><c>identity-observed</c> for an identify or alias of a tracking source (e-mail and phone already hashed).</summary>
    OutboxMessage IdentityObserved(string source, string messageId, IReadOnlyList<PersonIdentifier> identifiers, IReadOnlyDictionary<string, string> traits, DateTimeOffset observedAt, DateTimeOffset now);

    /// <summary><c>consent-observed</c> for a tracking message's consent preferences, by purpose id (e-mail and phone already hashed).</summary>
    OutboxMessage ConsentObserved(string source, string messageId, IReadOnlyList<PersonIdentifier> identifiers, IReadOnlyList<(string PurposeId, bool Granted)> preferences, DateTimeOffset observedAt, DateTimeOffset now);

    /// <summary><c>erasure-completed</c> for this service.</summary>
    OutboxMessage ErasureCompleted(string erasure, long recordsErased, DateTimeOffset now);
}
