using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Journey.Shared.Hosting;

/// <summary>
/// Runs the platform's background loops (outbox relays, event dispatchers, timed sweeps) on threads of
/// their own at a lower operating-system priority than the threads that serve calls, so that event
/// handling uses the idle cores but gives way to calls. On two cores, calls that had finished inside
/// the host in about a millisecond reached their caller 2 to 4 ms later: their request or response
/// had waited for a core behind the handlers of the events earlier calls had published.
/// </summary>
/// <remarks>
/// An <c>await</c> inside a loop started here resumes here too, because it captures the current
/// scheduler; after an <c>await</c> with <c>ConfigureAwait(false)</c> the rest of that method runs on
/// the thread pool instead. On Linux a thread inherits the niceness of the thread that creates it, so
/// a thread-pool worker that the runtime happens to start from one of these threads runs at the lower
/// priority too; in a host under load every pool worker was found at the normal priority, but nothing
/// here prevents it. The thread count is fixed: a loop must not block on work that needs another loop
/// of this scheduler to finish.
/// </remarks>
public sealed class BackgroundScheduler : TaskScheduler, IDisposable
{
    /// <summary>The niceness of the background threads on Linux (0 is normal, 19 the lowest); the CPU share of a thread at 10 against one at 0 is about a tenth.</summary>
    public const int Niceness = 10;

    [ThreadStatic]
    private static BackgroundScheduler? t_current;

    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;

    /// <summary>Starts <paramref name="threads"/> background threads; they end when the scheduler is disposed.</summary>
    public BackgroundScheduler(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"journey-background-{i}", Priority = ThreadPriority.BelowNormal };
            _threads[i].Start();
        }
    }

    /// <summary>
    /// The process's scheduler, for the life of the process: two threads per core. The embedded store's
    /// calls block their thread while they wait for the disk; with two threads per core the shared
    /// host's ingestion stream, profile backlog and merge tail came out a little better than with one,
    /// in one paired run on two cores.
    /// </summary>
    public static BackgroundScheduler Shared { get; } = new(2 * Environment.ProcessorCount);

    /// <inheritdoc />
    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Runs <paramref name="loop"/> on this scheduler; its awaits come back here.</summary>
    public Task Run(Func<Task> loop) =>
        Task.Factory.StartNew(loop, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <summary>Runs <paramref name="work"/> on this scheduler and hands back its result.</summary>
    public Task<T> Run<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <summary>
    /// Lets the threads end once the queued work has run. Meant for schedulers a test creates; the
    /// process's <see cref="Shared"/> one lives as long as the process, and nothing may be queued to a
    /// disposed scheduler.
    /// </summary>
    public void Dispose() => _queue.CompleteAdding();

    /// <inheritdoc />
    protected override void QueueTask(Task task) => _queue.Add(task);

    /// <inheritdoc />
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        t_current == this && TryExecuteTask(task);

    /// <inheritdoc />
    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    private void Work()
    {
        t_current = this;
        Lower();
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }

    /// <summary>
    /// On Linux every thread has a niceness of its own, and a thread may lower its own priority without
    /// any privilege; elsewhere the <see cref="ThreadPriority.BelowNormal"/> set at creation applies
    /// where the operating system honours it (Windows).
    /// </summary>
    private static void Lower()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // PRIO_PROCESS with who = 0: on Linux the nice value is per thread, and 0 names the calling one.
            _ = SetPriority(0, 0, Niceness);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A libc without the call: the threads keep the normal priority.
        }
    }

    // DllImport rather than LibraryImport: it takes and returns plain ints, so no marshalling code
    // (and no unsafe code in the project) is needed.
    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);
}
