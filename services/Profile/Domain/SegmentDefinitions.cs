using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>
/// The segment definitions every profile write evaluates, held in memory: reading them from the
/// store on every event batch cost a query per batch. Defining or deleting a segment in this
/// process invalidates the copy at once; definitions changed by another replica are seen after
/// <see cref="ProfileOptions.SegmentDefinitionsRefresh"/> at most.
/// </summary>
public sealed class SegmentDefinitions(ISegmentStore segments, IOptions<ProfileOptions> options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private IReadOnlyList<Segment>? _current;
    private DateTimeOffset _readAt;
    private long _generation;

    /// <summary>The definitions, from memory while fresh, otherwise from the store.</summary>
    public async Task<IReadOnlyList<Segment>> GetAsync(CancellationToken cancellationToken)
    {
        long generation;
        lock (_gate)
        {
            if (_current is not null && time.GetUtcNow() - _readAt < options.Value.SegmentDefinitionsRefresh)
            {
                return _current;
            }

            generation = _generation;
        }

        var readAt = time.GetUtcNow();
        var read = await segments.ListAllAsync(cancellationToken);
        lock (_gate)
        {
            // An invalidation during the read may have raced a define or delete: keep the read for
            // this caller but do not cache it, so the next caller reads again.
            if (generation == _generation)
            {
                _current = read;
                _readAt = readAt;
            }
        }

        return read;
    }

    /// <summary>Forgets the held definitions, so the next write reads them from the store.</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _current = null;
            _generation++;
        }
    }
}
