using System.Diagnostics;
using Grpc.Health.V1;
using Journey.Shared.Hosting;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Journey.Shared.Tests.Hosting;

public sealed class ReadinessMonitorTests
{
    private readonly TimerCountingTimeProvider _time = new();
    private readonly ScriptedChecks _checks = new();

    [Fact]
    public async Task CheckHealthAsync_UnderManyProbes_RunsTheStoreChecksOncePerPeriod()
    {
        using var monitor = await StartAsync();

        var probes = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => ProbeAsync(monitor)));
        Assert.All(probes, p => Assert.Equal(HealthStatus.Healthy, p.Status));
        Assert.Equal(1, _checks.Finished.Value);

        _time.Advance(ReadinessMonitor.Period);
        await RoundStoredAsync(2);
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => ProbeAsync(monitor)));

        Assert.Equal(2, _checks.Finished.Value);
    }

    [Fact]
    public async Task CheckHealthAsync_WhenAStoreFails_ReportsItByNameWithinAPeriod()
    {
        using var monitor = await StartAsync();
        Assert.Equal(HealthStatus.Healthy, (await ProbeAsync(monitor)).Status);

        _checks.Next = Report(("store:profile", HealthStatus.Unhealthy, "SQLite store unavailable"), ("bus:in-process", HealthStatus.Healthy, null));
        _time.Advance(ReadinessMonitor.Period);
        await RoundStoredAsync(2);
        var probe = await ProbeAsync(monitor);

        Assert.Equal(HealthStatus.Unhealthy, probe.Status);
        Assert.Equal("store:profile: SQLite store unavailable", probe.Description);
    }

    [Fact]
    public async Task CheckHealthAsync_WhenTheChecksHang_IsUnhealthyOnceTheLastResultIsStale()
    {
        using var monitor = await StartAsync();
        var hanging = new TaskCompletionSource<HealthReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        _checks.Pending = hanging.Task;

        _time.Advance(ReadinessMonitor.Period);
        await _checks.Started.Reaches(2);
        _time.Advance(ReadinessMonitor.StaleAfter - ReadinessMonitor.Period);
        var stillFresh = await ProbeAsync(monitor);
        _time.Advance(TimeSpan.FromSeconds(1));
        var stale = await ProbeAsync(monitor);
        hanging.SetResult(Report());
        await RoundStoredAsync(2);
        var recovered = await ProbeAsync(monitor);

        Assert.Equal(HealthStatus.Healthy, stillFresh.Status);
        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
        Assert.Contains("last checked 6 s ago", stale.Description);
        Assert.Equal(HealthStatus.Healthy, recovered.Status);
    }

    [Fact]
    public async Task CheckHealthAsync_BeforeTheFirstRoundFinishes_WaitsForIt()
    {
        var first = new TaskCompletionSource<HealthReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        _checks.Pending = first.Task;
        using var monitor = new ReadinessMonitor(_checks, _time);
        await monitor.StartAsync(CancellationToken.None);
        await _checks.Started.Reaches(1);

        var probe = ProbeAsync(monitor);
        Assert.False(probe.IsCompleted);
        first.SetResult(Report(("store:consent", HealthStatus.Unhealthy, "SQLite store unavailable")));

        Assert.Equal(HealthStatus.Unhealthy, (await probe).Status);
        await monitor.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Check_UnderAStormOfProbesOnTheHost_RunsTheStoreChecksOnlyInTheBackground()
    {
        var executions = 0;
        await using var platform = await TestPlatform.StartAsync([], configureServices: services => services.AddHealthChecks().AddCheck("store:counted", () =>
        {
            Interlocked.Increment(ref executions);
            return HealthCheckResult.Healthy();
        }, [ReadinessMonitor.ReadyTag]));
        var health = new Health.HealthClient(platform.CreateAnonymousChannel());
        var clock = Stopwatch.StartNew();

        var answers = await Task.WhenAll(Enumerable.Range(0, 600).Select(i =>
            health.CheckAsync(new HealthCheckRequest { Service = (i % 3) switch { 0 => "ready", 1 => "live", _ => "" } }).ResponseAsync));
        var elapsed = clock.Elapsed;

        Assert.All(answers, a => Assert.Equal(ServingStatus.Serving, a.Status));
        // One round at start and at most one a period since; a probe that ran the checks would add 400.
        Assert.InRange(Volatile.Read(ref executions), 1, 2 + (int)Math.Ceiling(elapsed / ReadinessMonitor.Period));
    }

    [Fact]
    public async Task Check_WhenAStoreCheckFails_ReadyIsNotServingWhileLiveServes()
    {
        await using var platform = await TestPlatform.StartAsync([], configureServices: services => services.AddHealthChecks()
            .AddCheck("store:broken", () => HealthCheckResult.Unhealthy("SQLite store unavailable"), [ReadinessMonitor.ReadyTag]));
        var health = new Health.HealthClient(platform.CreateAnonymousChannel());

        var ready = await health.CheckAsync(new HealthCheckRequest { Service = "ready" });
        var all = await health.CheckAsync(new HealthCheckRequest());
        var live = await health.CheckAsync(new HealthCheckRequest { Service = "live" });

        Assert.Equal(ServingStatus.NotServing, ready.Status);
        Assert.Equal(ServingStatus.NotServing, all.Status);
        Assert.Equal(ServingStatus.Serving, live.Status);
    }

    private static Task<HealthCheckResult> ProbeAsync(ReadinessMonitor monitor) =>
        monitor.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration(ReadinessMonitor.Name, monitor, null, null) });

    private static HealthReport Report(params (string Name, HealthStatus Status, string? Description)[] entries) =>
        new(entries.ToDictionary(e => e.Name, e => new HealthReportEntry(e.Status, e.Description, TimeSpan.Zero, null, null)), TimeSpan.Zero);

    private async Task<ReadinessMonitor> StartAsync()
    {
        var monitor = new ReadinessMonitor(_checks, _time);
        await monitor.StartAsync(CancellationToken.None);
        await RoundStoredAsync(1);
        return monitor;
    }

    /// <summary>Waits until the monitor has stored round <paramref name="round"/> and waits for the next period.</summary>
    private Task RoundStoredAsync(int round) => _time.Timers.Reaches(round);

    /// <summary>Stands in for the host's health checks: counts rounds and answers what the test scripts.</summary>
    private sealed class ScriptedChecks : HealthCheckService
    {
        public HealthReport Next { get; set; } = Report(("store:profile", HealthStatus.Healthy, null));

        /// <summary>When set, the next round waits for this instead of answering <see cref="Next"/>.</summary>
        public Task<HealthReport>? Pending { get; set; }

        public WaitableCount Started { get; } = new();

        public WaitableCount Finished { get; } = new();

        public override async Task<HealthReport> CheckHealthAsync(Func<HealthCheckRegistration, bool>? predicate, CancellationToken cancellationToken = default)
        {
            var pending = Pending;
            Pending = null;
            Started.Increment();
            var report = pending is null ? Next : await pending.WaitAsync(cancellationToken);
            Finished.Increment();
            return report;
        }
    }
}
