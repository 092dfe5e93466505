using Journey.Testing;

namespace Journey.Benchmarks;

/// <summary>
/// Samples the host's working set while a scenario runs. Growth is judged after warm-up (the first
/// quarter of the samples) by a least-squares slope over the rest, projected over that stretch: a host
/// that holds steady shows a projection near zero whatever its absolute size.
/// </summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly HostProcess _host;
    private readonly List<long> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public MemorySampler(HostProcess host, TimeSpan every)
    {
        _host = host;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                lock (_samples)
                {
                    _samples.Add(_host.WorkingSetBytes);
                }

                try
                {
                    await Task.Delay(every, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>Working set after warm-up, at the end, and the growth trend over the measured stretch, in bytes.</summary>
    public async Task<(long AfterWarmup, long Peak, long End, double TrendGrowth)> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        long[] samples;
        lock (_samples)
        {
            samples = [.. _samples];
        }

        if (samples.Length < 4)
        {
            var last = samples.Length == 0 ? 0 : samples[^1];
            return (last, last, last, 0);
        }

        var measured = samples[(samples.Length / 4)..];
        var n = measured.Length;
        double meanX = (n - 1) / 2.0, meanY = measured.Average(v => (double)v);
        double covariance = 0, variance = 0;
        for (var i = 0; i < n; i++)
        {
            covariance += (i - meanX) * (measured[i] - meanY);
            variance += (i - meanX) * (i - meanX);
        }

        var slope = variance == 0 ? 0 : covariance / variance;
        return (measured[0], measured.Max(), measured[^1], slope * (n - 1));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
