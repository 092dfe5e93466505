namespace Journey.Recommendation.Domain;

/// <summary>
/// The in-process candidate index: for each channel, stage, purpose (marketing or service) and
/// audience (generic or not), the active items ordered by stage weight. Recommend walks only the
/// head of the few lists that can match, so its cost does not grow with the library. Built from the
/// store on first use and updated by every committed change made in this process.
/// </summary>
public sealed class ContentIndex(IContentLibrary library) : IDisposable
{
    private static readonly Comparer<Entry> ByWeight = Comparer<Entry>.Create((a, b) =>
    {
        var byWeight = b.Weight.CompareTo(a.Weight);
        return byWeight != 0 ? byWeight : string.CompareOrdinal(a.Id, b.Id);
    });

    private readonly Dictionary<string, ContentItem> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<(ChannelKind, Stage, bool Service, bool Generic), SortedSet<Entry>> _lists = [];
    private readonly ReaderWriterLockSlim _lock = new();
    private readonly SemaphoreSlim _load = new(1, 1);
    private volatile bool _loaded;

    /// <summary>How many active items the index holds.</summary>
    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _items.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    public async ValueTask EnsureLoadedAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _load.WaitAsync(cancellationToken);
        try
        {
            if (!_loaded)
            {
                foreach (var item in await library.ReadActiveAsync(cancellationToken))
                {
                    Put(item);
                }

                _loaded = true;
            }
        }
        finally
        {
            _load.Release();
        }
    }

    /// <summary>Adds, replaces or (when retired) removes an item.</summary>
    public void Put(ContentItem item)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_items.TryGetValue(item.Id, out var old))
            {
                if (old.Version > item.Version)
                {
                    return;
                }

                foreach (var (key, entry) in Keys(old))
                {
                    _lists[key].Remove(entry);
                }

                _items.Remove(item.Id);
            }

            if (item.Retired)
            {
                return;
            }

            _items[item.Id] = item;
            foreach (var (key, entry) in Keys(item))
            {
                if (!_lists.TryGetValue(key, out var list))
                {
                    _lists[key] = list = new SortedSet<Entry>(ByWeight);
                }

                list.Add(entry);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public ContentItem? Find(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _items.GetValueOrDefault(id);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Up to <paramref name="limit"/> items per stage that <paramref name="accept"/> takes, best weight
    /// first, looking at no more than <paramref name="maxScan"/> entries per list.
    /// </summary>
    public IReadOnlyList<ContentItem> Candidates(ChannelKind channel, IEnumerable<Stage> stages, bool serviceOnly, bool genericOnly, Func<ContentItem, bool> accept, int limit, int maxScan)
    {
        // Sized up front: growing them per request was most of this method's allocation.
        var capacity = Math.Min(limit, 1024) * (stages is IReadOnlyCollection<Stage> s ? s.Count : 1);
        var found = new List<ContentItem>(capacity);
        var seen = new HashSet<ContentItem>(capacity, ReferenceEqualityComparer.Instance);
        _lock.EnterReadLock();
        try
        {
            foreach (var stage in stages)
            {
                var taken = 0;
                var scanned = 0;
                foreach (var entry in Merge(Lists(channel, stage, serviceOnly, genericOnly)))
                {
                    if (taken >= limit || ++scanned > maxScan)
                    {
                        break;
                    }

                    var item = entry.Item;
                    if (seen.Contains(item) || !accept(item))
                    {
                        continue;
                    }

                    seen.Add(item);
                    found.Add(item);
                    taken++;
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        return found;
    }

    /// <summary>Walks up to four lists as one, best weight first.</summary>
    private static IEnumerable<Entry> Merge(List<SortedSet<Entry>> lists)
    {
        var cursors = new List<IEnumerator<Entry>>(lists.Count);
        foreach (var list in lists)
        {
            var cursor = list.GetEnumerator();
            if (cursor.MoveNext())
            {
                cursors.Add(cursor);
            }
        }

        while (cursors.Count > 0)
        {
            var best = 0;
            for (var i = 1; i < cursors.Count; i++)
            {
                if (ByWeight.Compare(cursors[i].Current, cursors[best].Current) < 0)
                {
                    best = i;
                }
            }

            yield return cursors[best].Current;
            if (!cursors[best].MoveNext())
            {
                cursors.RemoveAt(best);
            }
        }
    }

    private List<SortedSet<Entry>> Lists(ChannelKind channel, Stage stage, bool serviceOnly, bool genericOnly)
    {
        var lists = new List<SortedSet<Entry>>(4);
        foreach (var service in serviceOnly ? [true] : new[] { false, true })
        {
            foreach (var generic in genericOnly ? [true] : new[] { false, true })
            {
                if (_lists.TryGetValue((channel, stage, service, generic), out var list))
                {
                    lists.Add(list);
                }
            }
        }

        return lists;
    }

    private static IEnumerable<((ChannelKind, Stage, bool, bool) Key, Entry Entry)> Keys(ContentItem item)
    {
        foreach (var channel in item.Channels.Distinct())
        {
            foreach (var stage in item.Stages)
            {
                yield return ((channel, stage.Stage, item.Purpose == ContentPurpose.Service, item.Generic), new Entry(stage.Weight, item.Id, item));
            }
        }
    }

    public void Dispose()
    {
        _lock.Dispose();
        _load.Dispose();
    }

    /// <summary>An index entry; ordered by weight and id only, it carries the item so a walk needs no lookup.</summary>
    private readonly record struct Entry(double Weight, string Id, ContentItem Item);
}
