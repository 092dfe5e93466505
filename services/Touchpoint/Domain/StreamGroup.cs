namespace Journey.Touchpoint.Domain;

/// <summary>
/// Consecutive messages of one interaction stream written in one transaction. A message is never
/// split, so its interactions are stored, or fail, together; messages join the group while it stays
/// within both <see cref="TouchpointOptions.StreamTransactionSize"/> and the store's
/// <see cref="TransactionBudget"/> (MongoDB aborts a transaction that outgrows its cache share).
/// </summary>
public sealed class StreamGroup(int maxInteractions, long maxBytes)
{
    private readonly List<IReadOnlyList<InteractionInput>> _messages = [];
    private int _interactions;
    private long _bytes;

    /// <summary>The messages held, in arrival order.</summary>
    public IReadOnlyList<IReadOnlyList<InteractionInput>> Messages => _messages;

    /// <summary>True when nothing more may join: a limit is reached.</summary>
    public bool IsFull => _interactions >= maxInteractions || _bytes >= maxBytes;

    /// <summary>
    /// True when a message of <paramref name="interactions"/> interactions and <paramref name="bytes"/>
    /// bytes may join; an empty group takes any message, however large.
    /// </summary>
    public bool Fits(int interactions, long bytes) =>
        _messages.Count == 0 || (_interactions + interactions <= maxInteractions && _bytes + bytes <= maxBytes);

    /// <summary>Adds a message.</summary>
    public void Add(IReadOnlyList<InteractionInput> message, long bytes)
    {
        _messages.Add(message);
        _interactions += message.Count;
        _bytes += bytes;
    }

    /// <summary>Empties the group once its messages are stored.</summary>
    public void Clear()
    {
        _messages.Clear();
        _interactions = 0;
        _bytes = 0;
    }
}
