namespace Journey.Touchpoint.Storage;

/// <summary>
/// The keys of raw interactions in MongoDB (their <c>_id</c>): longs that rise with the time this
/// process recorded them, unique within the process and told apart from other processes by a
/// random process number, written without touching a shared document. A key is the timeline's tie
/// breaker between interactions of the same time, so it must be unique: should two processes draw
/// the same number and take a key in the same millisecond, the <c>_id</c> index refuses the second
/// and the write is retried with fresh keys.
/// </summary>
/// <remarks>
/// Layout, high to low: 41 bits of milliseconds since 2020-01-01 (to the year 2089), 14 bits of
/// process number, 8 bits of counter within the millisecond. A process that records more than 256
/// interactions in a millisecond borrows the next milliseconds, so its keys still only rise.
/// </remarks>
internal sealed class InteractionKeys
{
    /// <summary>How many process numbers there are.</summary>
    public const int Processes = 1 << ProcessBits;

    private const int ProcessBits = 14;
    private const int CounterBits = 8;
    private static readonly long Epoch = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private readonly TimeProvider _time;
    private readonly long _process;

    // Milliseconds since the epoch, shifted left by CounterBits, plus the counter.
    private long _last;

    /// <summary>A sequence on <paramref name="time"/> for process number <paramref name="process"/> (0 to <see cref="Processes"/> − 1).</summary>
    public InteractionKeys(TimeProvider time, int process)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(process);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(process, Processes);
        _time = time;
        _process = process;
    }

    /// <summary>This process's sequence, on the system clock.</summary>
    public static InteractionKeys Shared { get; } = new(TimeProvider.System, System.Security.Cryptography.RandomNumberGenerator.GetInt32(Processes));

    /// <summary>The next key.</summary>
    public long Next()
    {
        var floor = Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() - Epoch) << CounterBits;
        long last, next;
        do
        {
            last = Volatile.Read(ref _last);
            next = Math.Max(last + 1, floor);
        }
        while (Interlocked.CompareExchange(ref _last, next, last) != last);

        var millis = next >> CounterBits;
        var counter = next & ((1L << CounterBits) - 1);
        return (millis << (ProcessBits + CounterBits)) | (_process << CounterBits) | counter;
    }
}
