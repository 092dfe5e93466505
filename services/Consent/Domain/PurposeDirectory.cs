using System.Collections.Frozen;

namespace Journey.Consent.Domain;

/// <summary>
/// The purposes and the latest policy version in memory, for checks that must not touch the store.
/// This process's own changes are written through. Changes made by other replicas (MongoDB) are
/// picked up after <see cref="RefreshInterval"/>, or at once when a name is not known yet.
/// </summary>
public sealed class PurposeDirectory(IPurposeCatalog catalog, TimeProvider time, TimeSpan refreshInterval) : IDisposable
{
    private static readonly TimeSpan MissReloadInterval = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile Snapshot? _snapshot;
    private long _generation;

    /// <summary>How long a snapshot serves before it is read again.</summary>
    public TimeSpan RefreshInterval { get; } = refreshInterval;

    /// <summary>The purpose named <c>purposes/{id}</c>, or null.</summary>
    public async ValueTask<Purpose?> FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is not null && !IsStale(snapshot))
        {
            if (snapshot.ByName.TryGetValue(name, out var purpose))
            {
                return purpose;
            }

            if (time.GetUtcNow() - snapshot.LoadedAt < MissReloadInterval)
            {
                return null;
            }
        }

        snapshot = await ReloadAsync(cancellationToken);
        return snapshot.ByName.GetValueOrDefault(name);
    }

    /// <summary>Every purpose, ordered by id.</summary>
    public async ValueTask<IReadOnlyList<Purpose>> AllAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is null || IsStale(snapshot))
        {
            snapshot = await ReloadAsync(cancellationToken);
        }

        return [.. snapshot.ByName.Values.OrderBy(p => p.Id, StringComparer.Ordinal)];
    }

    /// <summary>The highest policy version number.</summary>
    public async ValueTask<int> LatestPolicyVersionAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        return snapshot is not null && !IsStale(snapshot) ? snapshot.LatestPolicyVersion : (await ReloadAsync(cancellationToken)).LatestPolicyVersion;
    }

    /// <summary>Whether <paramref name="version"/> exists; re-reads once when it is above the known latest.</summary>
    public async ValueTask<bool> PolicyVersionExistsAsync(int version, CancellationToken cancellationToken)
    {
        if (version < 1)
        {
            return false;
        }

        return version <= await LatestPolicyVersionAsync(cancellationToken) || version <= (await ReloadAsync(cancellationToken)).LatestPolicyVersion;
    }

    /// <summary>Forgets the snapshot after this process changed the catalog, so the next read sees it.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _snapshot = null;
    }

    private bool IsStale(Snapshot snapshot) => time.GetUtcNow() - snapshot.LoadedAt >= RefreshInterval;

    private async Task<Snapshot> ReloadAsync(CancellationToken cancellationToken)
    {
        await _reload.WaitAsync(cancellationToken);
        try
        {
            var current = _snapshot;
            if (current is not null && time.GetUtcNow() - current.LoadedAt < MissReloadInterval && !IsStale(current))
            {
                return current;
            }

            var generation = Interlocked.Read(ref _generation);
            var purposes = new List<Purpose>();
            var after = "";
            while (true)
            {
                var page = await catalog.ListPurposesAsync(after, 500, cancellationToken);
                purposes.AddRange(page);
                if (page.Count < 500)
                {
                    break;
                }

                after = page[^1].Id;
            }

            var latest = await catalog.LatestPolicyVersionAsync(cancellationToken);
            var snapshot = new Snapshot(purposes.ToFrozenDictionary(p => ConsentNames.Purpose(p.Id), StringComparer.Ordinal), latest, time.GetUtcNow());
            // A reload that raced with this process's own change must not hide that change.
            if (Interlocked.Read(ref _generation) == generation)
            {
                _snapshot = snapshot;
            }

            return snapshot;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _reload.Dispose();

    private sealed record Snapshot(FrozenDictionary<string, Purpose> ByName, int LatestPolicyVersion, DateTimeOffset LoadedAt);
}
