using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Journey.Shared.Hosting;

/// <summary>
/// Runs the platform's background loops (outbox relays, event dispatchers, timed sweeps) on threads of
/// their own at a lower operating-system priority than the threads that serve calls. Event handling
/// then uses every idle core, yet a call that arrives while it runs gets a core at once: on a small
/// machine the calls otherwise waited a scheduler time slice (2 to 4 ms) behind the handlers of the
/// events the previous calls had published.
/// </summary>
/// <remarks>
/// An <c>await</c> inside a loop started here resumes here too, because it captures the current
/// scheduler; only code that opts out with <c>ConfigureAwait(false)</c> continues on the thread pool.
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
    /// calls block their thread while they wait for the disk, and with one thread per core the cores
    /// idled meanwhile; with two, the shared host's ingestion stream, profile backlog and merge tail
    /// all came out a little better in paired runs on two cores.
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

    /// <inheritdoc />
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
    /// any privilege; elsewhere the <see cref="ThreadPriority.BelowNormal"/> set at creation stands.
    /// </summary>
    private static void Lower()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = SetPriority(0 /* PRIO_PROCESS: with a thread id, that one thread */, GetThreadId(), Niceness);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A libc without these calls: the threads keep the normal priority.
        }
    }

    // DllImport rather than LibraryImport: these take and return plain ints, so no marshalling code
    // (and no unsafe code in the project) is needed.
    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
