using System.Globalization;
using Journey.Shared.Hosting;

namespace Journey.Shared.Tests.Hosting;

public sealed class BackgroundSchedulerTests : IDisposable
{
    private readonly BackgroundScheduler _scheduler = new(2);

    [Fact]
    public async Task Run_ALoopThatAwaits_ResumesOnTheBackgroundThreadsAfterEveryAwait()
    {
        var threads = await _scheduler.Run(async () =>
        {
            var names = new List<string?> { Thread.CurrentThread.Name };
            await Task.Yield();
            names.Add(Thread.CurrentThread.Name);
            // A timer completes this one on a thread-pool thread; the continuation must still come back.
            await Task.Delay(10);
            names.Add(Thread.CurrentThread.Name);
            return names;
        });

        Assert.Equal(3, threads.Count);
        Assert.All(threads, name => Assert.StartsWith("journey-background-", name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_OnLinux_RunsTheLoopAtALowerPriorityThanTheCallers()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // The main thread's, which no thread of the scheduler created: any other thread of this test
        // process may have been started from a scheduler thread, and would then share its niceness.
        var process = Niceness("/proc/self/stat");

        var background = await _scheduler.Run(() => Task.FromResult(Niceness("/proc/thread-self/stat")));

        // A process started at a lower priority than that keeps its own: raising a priority needs a privilege.
        Assert.Equal(Math.Max(process, BackgroundScheduler.Niceness), background);
        Assert.Equal(process, Niceness("/proc/self/stat"));
    }

    [Fact]
    public async Task Run_ALoopThatThrows_HandsTheFailureToItsCaller()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _scheduler.Run(async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("the loop failed");
        }));

        Assert.Equal("the loop failed", error.Message);
    }

    public void Dispose() => _scheduler.Dispose();

    /// <summary>Field 19 of a stat line; the name in field 2 is in parentheses and may hold spaces.</summary>
    private static int Niceness(string statPath)
    {
        var stat = File.ReadAllText(statPath);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }
}
