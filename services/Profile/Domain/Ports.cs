using Journey.Shared.Events;

namespace Journey.Profile.Domain;

/// <summary>The profiles and the identifiers pointing at them. Each identifier belongs to at most one profile.</summary>
public interface IProfileStore
{
    /// <summary>The profile, or null.</summary>
    Task<PersonProfile?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>The profile holding <paramref name="identifier"/>, or null.</summary>
    Task<PersonProfile?> FindAsync(PersonIdentifier identifier, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction with the events not seen before
    /// (claimed in the inbox as <paramref name="consumer"/>).
    /// </summary>
    Task ApplyAsync(string consumer, IReadOnlyList<string> eventIds, Func<IProfileTransaction, IReadOnlySet<string>, Task> work, CancellationToken cancellationToken);
}

/// <summary>Reads and writes inside one store transaction.</summary>
public interface IProfileTransaction
{
    /// <summary>The profile holding <paramref name="identifier"/>, or null.</summary>
    Task<PersonProfile?> FindAsync(PersonIdentifier identifier);

    /// <summary>Inserts or replaces <paramref name="profile"/> and claims its identifiers.</summary>
    Task SaveAsync(PersonProfile profile);

    /// <summary>Adds an event to the outbox of this transaction.</summary>
    void Publish(OutboxMessage message);
}

/// <summary>Builds the events this service publishes.</summary>
public interface IProfileEvents
{
    /// <summary>A profile changed.</summary>
    OutboxMessage ProfileUpdated(PersonProfile profile, DateTimeOffset now);
}
