namespace Journey.Shared.Storage;

/// <summary>
/// The store could not be reached or could not take the write (server down, disk full, lock timeout).
/// Adapters translate their driver's errors into this, and callers see UNAVAILABLE and retry.
/// </summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);
