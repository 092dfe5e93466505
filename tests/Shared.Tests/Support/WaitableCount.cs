using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests;

/// <summary>A count a test can wait on until it reaches a value, instead of sleeping and hoping.</summary>
internal sealed class WaitableCount
{
    private readonly Lock _gate = new();
    private readonly List<(int Target, TaskCompletionSource Reached)> _waiters = [];
    private int _value;

    public int Value
    {
        get
        {
            lock (_gate)
            {
                return _value;
            }
        }
    }

    public void Increment()
    {
        lock (_gate)
        {
            _value++;
            foreach (var waiter in _waiters.Where(w => w.Target <= _value).ToList())
            {
                waiter.Reached.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Completes once the count is at least <paramref name="target"/>; fails after 30 s.</summary>
    public Task Reaches(int target)
    {
        lock (_gate)
        {
            if (_value >= target)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, reached));
            return reached.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}

/// <summary>
/// A fake clock that counts the timers created on it and remembers the last one's due time: code that
/// waits on the clock creates a timer when it starts waiting, so a test can wait for that moment.
/// </summary>
internal sealed class TimerCountingTimeProvider : FakeTimeProvider
{
    public WaitableCount Timers { get; } = new();

    public TimeSpan LastDue { get; private set; }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        LastDue = dueTime;
        Timers.Increment();
        return timer;
    }
}
