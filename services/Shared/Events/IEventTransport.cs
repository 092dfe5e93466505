namespace Journey.Shared.Events;

/// <summary>
/// Hands events from an outbox to the broker. Implementations are durable at the moment they
/// return: the relay deletes outbox rows only after that.
/// </summary>
public interface IEventTransport
{
    /// <summary>
    /// Publishes <paramref name="messages"/> in order and returns how many, counted from the first,
    /// the broker has durably taken. The relay keeps the rest for a later try.
    /// </summary>
    Task<int> PublishAsync(string source, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken);
}
