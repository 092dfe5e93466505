using System.Collections.Concurrent;

namespace Journey.Profile.Domain;

/// <summary>
/// Wakes watchers of a profile in this process after its change commits. Watchers also re-read on a
/// timer, so a change committed by another replica is seen within that interval.
/// </summary>
public sealed class ProfileChanges
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next committed change of <paramref name="profileId"/>.</summary>
    public Task NextChangeAsync(string profileId) =>
        _waiting.GetOrAdd(profileId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Signals that these profiles changed.</summary>
    public void Notify(IEnumerable<string> profileIds)
    {
        if (_waiting.IsEmpty)
        {
            return;
        }

        foreach (var id in profileIds)
        {
            if (_waiting.TryRemove(id, out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }
}
