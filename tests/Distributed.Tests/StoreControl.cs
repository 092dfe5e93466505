using System.Diagnostics;

namespace Journey.Distributed.Tests;

/// <summary>
/// Asks tests/distributed/run.sh to pause or unpause a replica set's container (<c>docker pause</c>):
/// the script, not the test, holds Docker. A request is a file <c>{id}.request</c> holding
/// <c>pause profile-mongodb</c>, moved into the control folder whole; the script answers with
/// <c>{id}.done</c> holding <c>ok</c> or what went wrong.
/// </summary>
public sealed class StoreControl(string directory)
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Freezes every process of the set's container until <see cref="UnpauseAsync"/>.</summary>
    public Task PauseAsync(string replicaSet) => RequestAsync("pause", replicaSet);

    /// <summary>Lets a paused set run again.</summary>
    public Task UnpauseAsync(string replicaSet) => RequestAsync("unpause", replicaSet);

    private async Task RequestAsync(string action, string replicaSet)
    {
        var id = Guid.NewGuid().ToString("N");
        var pending = Path.Combine(directory, id + ".tmp");
        var done = Path.Combine(directory, id + ".done");
        await File.WriteAllTextAsync(pending, $"{action} {replicaSet}\n");
        File.Move(pending, Path.Combine(directory, id + ".request"));
        var clock = Stopwatch.StartNew();
        while (!File.Exists(done))
        {
            if (clock.Elapsed > AnswerTimeout)
            {
                throw new TimeoutException($"run.sh did not {action} {replicaSet} within {AnswerTimeout.TotalSeconds:0} s (is its control loop running?)");
            }

            await Task.Delay(100);
        }

        var answer = (await File.ReadAllTextAsync(done)).Trim();
        File.Delete(done);
        if (answer != "ok")
        {
            throw new InvalidOperationException($"run.sh could not {action} {replicaSet}: {answer}");
        }
    }
}
