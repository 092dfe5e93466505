using Journey.Shared.Events;

namespace Journey.Touchpoint.Domain;

/// <summary>The touchpoint catalog.</summary>
public interface ITouchpointStore
{
    /// <summary>Adds an entry and its event; throws AlreadyExistsException when the id is taken.</summary>
    Task InsertAsync(TouchpointEntry entry, OutboxMessage changed, CancellationToken cancellationToken);

    /// <summary>Replaces an entry if its stored version is <paramref name="expectedVersion"/>; throws ConcurrencyConflictException otherwise.</summary>
    Task UpdateAsync(TouchpointEntry entry, long expectedVersion, OutboxMessage changed, CancellationToken cancellationToken);

    /// <summary>The entry, or null.</summary>
    Task<TouchpointEntry?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Entries matching <paramref name="filter"/> with ids after <paramref name="afterId"/>, in id order.</summary>
    Task<Page<TouchpointEntry>> ListAsync(TouchpointFilter filter, string? afterId, int max, CancellationToken cancellationToken);
}

/// <summary>The record of interactions.</summary>
public interface IInteractionStore
{
    /// <summary>
    /// Stores the interactions whose ids are new, each with its event, in one transaction; returns
    /// the ids that were recorded before (and so were left alone).
    /// </summary>
    Task<IReadOnlySet<string>> AppendAsync(IReadOnlyList<(Interaction Interaction, OutboxMessage Recorded)> interactions, CancellationToken cancellationToken);

    /// <summary>Removes up to <paramref name="max"/> interactions that happened before <paramref name="cutoff"/>; returns how many.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken);

    /// <summary>How many interactions are stored (for tests and operations).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken);
}

/// <summary>Builds the events this service publishes.</summary>
public interface ITouchpointEvents
{
    /// <summary>The catalog entry changed.</summary>
    OutboxMessage TouchpointChanged(TouchpointEntry entry, DateTimeOffset now);

    /// <summary>An interaction was accepted.</summary>
    OutboxMessage InteractionRecorded(Interaction interaction, TouchpointEntry touchpoint, DateTimeOffset now);
}
