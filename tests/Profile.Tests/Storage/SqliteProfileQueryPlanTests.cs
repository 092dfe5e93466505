using Journey.Profile.Storage;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

public sealed class SqliteProfileQueryPlanTests : IDisposable
{
    private readonly TemporarySqlite _sqlite = new("profile");

    [Fact]
    public async Task EraseMerges_ReadsAnIndexForEachSideOfTheMerge()
    {
        _ = new SqliteProfileStore(_sqlite.Database);

        var plan = await _sqlite.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN DELETE FROM profile_merges WHERE survivor_id = $a OR merged_id = $a";
            command.Parameters.AddWithValue("$a", "p");
            var steps = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                steps.Add(reader.GetString(3));
            }

            return string.Join(" | ", steps);
        }, CancellationToken.None);

        Assert.Contains("profile_merges_merged", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN profile_merges", plan, StringComparison.Ordinal);
    }

    public void Dispose() => _sqlite.Dispose();
}
