using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Journey.Shared.Hosting;

/// <summary>
/// Checks the stores and the bus (the health checks tagged <see cref="ReadyTag"/>) once every
/// <see cref="Period"/> in the background, and answers the <c>ready</c> probe from the last result,
/// so that a probe costs no I/O however many arrive: a storm of probes runs no query against a store
/// and no call to the sidecar.
/// </summary>
/// <remarks>
/// Before the first round has finished, a probe waits for it rather than answering from nothing.
/// A result older than <see cref="StaleAfter"/> counts as not ready: a check that hangs (a store that
/// stopped answering) must not leave the last healthy answer standing.
/// </remarks>
internal sealed class ReadinessMonitor(HealthCheckService healthChecks, TimeProvider time) : BackgroundService, IHealthCheck
{
    /// <summary>The health check registration that reports this monitor's last result.</summary>
    public const string Name = "ready:stores-and-bus";

    /// <summary>The tag of the checks this monitor runs (stores and bus).</summary>
    public const string ReadyTag = "ready";

    /// <summary>How often the checks run.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>How old the last finished round may be before the host counts as not ready.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    private readonly TaskCompletionSource<Snapshot> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Snapshot? _last;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = _last ?? await _first.Task.WaitAsync(cancellationToken);
        var age = time.GetElapsedTime(snapshot.Timestamp);
        return age <= StaleAfter
            ? snapshot.Result
            : HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture, $"The stores and the bus were last checked {age.TotalSeconds:0} s ago; the checks since have not finished."));
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                var report = await healthChecks.CheckHealthAsync(registration => registration.Tags.Contains(ReadyTag), stoppingToken);
                var snapshot = new Snapshot(time.GetTimestamp(), Summarise(report));
                _last = snapshot;
                _first.TrySetResult(snapshot);
                await Task.Delay(Period, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _first.TrySetCanceled(stoppingToken);
        }
    }

    private static HealthCheckResult Summarise(HealthReport report)
    {
        if (report.Status == HealthStatus.Healthy)
        {
            return HealthCheckResult.Healthy();
        }

        var failing = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description ?? e.Value.Status.ToString()}");
        return new HealthCheckResult(report.Status, string.Join("; ", failing));
    }

    private sealed record Snapshot(long Timestamp, HealthCheckResult Result);
}
