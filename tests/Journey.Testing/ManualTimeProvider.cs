namespace Journey.Testing;

/// <summary>A clock that moves only when a test moves it, for domain rules that depend on time.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    /// <summary>A clock at 2026-03-01 09:00 UTC.</summary>
    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero))
    {
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => _now;

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by) => _now += by;

    /// <summary>Sets the clock.</summary>
    public void Set(DateTimeOffset now) => _now = now;
}
