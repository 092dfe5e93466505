using Microsoft.Extensions.Time.Testing;

namespace Journey.Testing;

/// <summary>Clocks for tests: time moves only when the test moves it.</summary>
public static class TestClocks
{
    /// <summary>Where tests' clocks start unless they say otherwise: 2026-03-01 09:00 UTC (FakeTimeProvider's own default is 2000-01-01).</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A <see cref="FakeTimeProvider"/> at <see cref="Start"/>: its timers and delays fire when the test advances it.</summary>
    public static FakeTimeProvider Create() => new(Start);
}

/// <summary>
/// The domain clock of a running host: a <see cref="FakeTimeProvider"/> whose time moves only when the
/// test moves it (<see cref="FakeTimeProvider.Advance"/>, <see cref="FakeTimeProvider.SetUtcNow"/>),
/// but whose timers, delays and timestamps run on the wall clock. A host's plumbing paces itself on the
/// injected TimeProvider (the outbox relay's coalescing, conflict retries' jitter, periodic sweeps), and
/// with timers that fire only on Advance it would wait for a step no test takes. The same holds for use
/// cases driven directly whose conflict retries pause on the clock. Domain and adapter tests use
/// <see cref="FakeTimeProvider"/> itself.
/// </summary>
public sealed class HostClock : FakeTimeProvider
{
    /// <summary>A clock at <paramref name="start"/>, <see cref="TestClocks.Start"/> when null.</summary>
    public HostClock(DateTimeOffset? start = null)
        : base(start ?? TestClocks.Start)
    {
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);

    /// <inheritdoc />
    public override long GetTimestamp() => System.GetTimestamp();

    /// <inheritdoc />
    public override long TimestampFrequency => System.TimestampFrequency;
}
