using Microsoft.Data.Sqlite;
using Xunit;

namespace Journey.Testing;

/// <summary>
/// The event queues of a host that runs on SQLite and the in-process bus, read from its files: every
/// service's outbox and the bus's log. For host processes, whose objects a test cannot reach.
/// </summary>
public static class StoredQueues
{
    /// <summary>
    /// Waits until every outbox is empty, the bus's log has let go of every delivered event (each
    /// subscription's cursor passed it) and the outboxes are still empty (an event relayed between
    /// the looks would be in the log). A test asserts that something did not happen only after this.
    /// </summary>
    public static async Task DrainAsync(string dataDirectory, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var drained = await TestPlatform.EventuallyAsync(
            () => Task.FromResult(Waiting(dataDirectory) == 0 && Count(Path.Combine(dataDirectory, "bus.db"), "events") == 0 && Waiting(dataDirectory) == 0),
            limit);
        Assert.True(drained, $"events were still waiting after {limit.TotalSeconds} s: {Waiting(dataDirectory)} in outboxes, {Count(Path.Combine(dataDirectory, "bus.db"), "events")} in the bus's log");
    }

    /// <summary>Events in every service's outbox under <paramref name="dataDirectory"/>.</summary>
    public static long Waiting(string dataDirectory) =>
        Directory.GetFiles(dataDirectory, "*.db").Where(f => Path.GetFileName(f) != "bus.db").Sum(f => Count(f, "outbox"));

    /// <summary>Events in one service's outbox.</summary>
    public static long Waiting(string dataDirectory, string service) => Count(Path.Combine(dataDirectory, service + ".db"), "outbox");

    private static long Count(string file, string table)
    {
        if (!File.Exists(file))
        {
            return 0;
        }

        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }
}
