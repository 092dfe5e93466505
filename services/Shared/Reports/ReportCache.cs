using Journey.Shared.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Reports;

/// <summary>
/// Keeps reports that are slow to compute (<see cref="ReportsOptions"/>): one computation per key at a
/// time, however many callers ask at once; a kept report is answered until it is
/// <see cref="ReportsOptions.MaxAge"/> old and then refreshed in the background, stale-while-revalidate,
/// so no caller waits for a full scan once the report has been computed. A report held here is an
/// aggregate (counts and means above the audience floor), never a person's data.
/// </summary>
/// <typeparam name="TKey">What identifies one report: its kind's parameters, resolved (whole days, not the request's raw times).</typeparam>
/// <typeparam name="TValue">The report.</typeparam>
public sealed class ReportCache<TKey, TValue>
    where TKey : notnull
    where TValue : class
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, Entry> _entries = [];
    private readonly IOptions<ReportsOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _kind;
    private long _uses;

    /// <summary>A cache for one kind of report, named in its metric and its log.</summary>
    public ReportCache(IOptions<ReportsOptions> options, TimeProvider time, ILogger<ReportCache<TKey, TValue>> logger)
    {
        (_options, _time, _logger) = (options, time, logger);
        _kind = typeof(TValue).Name;
    }

    /// <summary>
    /// The report for <paramref name="key"/>: kept, or computed by <paramref name="compute"/>, which is
    /// given the time the computation starts (the report's compute time). A caller that gives up
    /// (<paramref name="cancellationToken"/>) leaves the computation running for the others.
    /// </summary>
    public async Task<TValue> GetAsync(TKey key, Func<DateTimeOffset, CancellationToken, Task<TValue>> compute, CancellationToken cancellationToken)
    {
        Task<TValue> running;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                entry = new Entry();
                _entries[key] = entry;
            }

            entry.LastUse = ++_uses;
            if (entry.Kept is { } kept)
            {
                var stale = _time.GetUtcNow() - entry.ComputedAt >= _options.Value.MaxAge;
                if (stale && entry.Running is null)
                {
                    entry.Running = Compute(key, entry, compute);
                    _ = entry.Running.ContinueWith(
                        (refresh, state) => ((ILogger)state!).LogWarning(refresh.Exception, "Refreshing a kept {Report} failed; the kept one is answered until a later request refreshes it.", _kind),
                        _logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                }

                JourneyTelemetry.ReportRequests.Add(1, new KeyValuePair<string, object?>("report", _kind), new KeyValuePair<string, object?>("outcome", stale ? "stale" : "kept"));
                return kept;
            }

            running = entry.Running ??= Compute(key, entry, compute);
        }

        JourneyTelemetry.ReportRequests.Add(1, new KeyValuePair<string, object?>("report", _kind), new KeyValuePair<string, object?>("outcome", "computed"));
        return await running.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Completes once every computation running now has ended (kept, dropped or failed): what a caller
    /// that started a background refresh waits on to read its result, as a host draining at stop would.
    /// </summary>
    public async Task WhenComputedAsync()
    {
        Task[] running;
        lock (_gate)
        {
            running = [.. _entries.Values.Select(e => e.Running).OfType<Task>()];
        }

        try
        {
            await Task.WhenAll(running);
        }
        catch (Exception)
        {
            // A failed refresh was logged where it ran; the caller only waits for it to end.
        }
    }

    private Task<TValue> Compute(TKey key, Entry entry, Func<DateTimeOffset, CancellationToken, Task<TValue>> compute) =>
        Task.Run(async () =>
        {
            var startedAt = _time.GetUtcNow();
            var started = _time.GetTimestamp();
            try
            {
                var value = await compute(startedAt, CancellationToken.None);
                var keep = _time.GetElapsedTime(started) >= _options.Value.KeepSlowerThan;
                lock (_gate)
                {
                    entry.Running = null;
                    if (keep)
                    {
                        (entry.Kept, entry.ComputedAt) = (value, startedAt);
                        Trim();
                    }
                    else
                    {
                        // Quick again (the store shrank, or the first computation warmed it): computed afresh from now on.
                        entry.Kept = default;
                        Forget(key, entry);
                    }
                }

                return value;
            }
            catch
            {
                lock (_gate)
                {
                    entry.Running = null;
                    if (entry.Kept is null)
                    {
                        Forget(key, entry);
                    }
                }

                throw;
            }
        });

    private void Forget(TKey key, Entry entry)
    {
        if (_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
        {
            _entries.Remove(key);
        }
    }

    private void Trim()
    {
        var excess = _entries.Count(e => e.Value.Kept is not null) - _options.Value.MaxKept;
        if (excess <= 0)
        {
            return;
        }

        foreach (var (key, _) in _entries.Where(e => e.Value.Kept is not null && e.Value.Running is null).OrderBy(e => e.Value.LastUse).Take(excess).ToList())
        {
            _entries.Remove(key);
        }
    }

    private sealed class Entry
    {
        public TValue? Kept { get; set; }

        public DateTimeOffset ComputedAt { get; set; }

        public Task<TValue>? Running { get; set; }

        public long LastUse { get; set; }
    }
}
