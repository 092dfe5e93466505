using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Recommendation.Tests.Storage;

/// <summary>
/// The embedded store removes what the MongoDB store's TTL indexes remove: recommendation records past
/// their retention and impression counts of days no frequency cap reads any more.
/// </summary>
public sealed class SqliteRetentionTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly TemporarySqlite _sqlite = new();
    private readonly SqliteAudienceStore _store;

    public SqliteRetentionTests() => _store = new SqliteAudienceStore(_sqlite.Database);

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task Sweep_RemovesRecordsPastTheirRetentionAndImpressionsOfPastDays_AndKeepsTodays()
    {
        var retention = new RecommendationOptions().RecommendationRetention;
        var old = Record(Now - retention - TimeSpan.FromHours(1));
        var young = Record(Now - retention + TimeSpan.FromHours(1));
        await _store.SaveRecommendationsAsync([old], default);
        await _store.SaveRecommendationsAsync([young], default);
        var today = DateOnly.FromDateTime(Now.UtcDateTime);
        await _store.WriteAsync(async (s, ct) =>
        {
            await s.AddImpressionAsync("7:p1", "guide", today.AddDays(-3), ct);
            await s.AddImpressionAsync("7:p1", "guide", today, ct);
            return 0;
        }, default);
        var sweep = new SqliteRetentionSweep(
            "recommendation", _sqlite.Database, [SqliteAudienceStore.RecommendationRetention(retention), SqliteAudienceStore.ImpressionRetention], new FakeTimeProvider(Now), NullLogger<SqliteRetentionSweep>.Instance);

        var removed = await sweep.SweepOnceAsync(default);

        Assert.Equal(1, removed["recommendation records"]);
        Assert.Equal(1, removed["impression counts"]);
        Assert.Null(await _store.GetRecommendationAsync(old.Id, default));
        Assert.NotNull(await _store.GetRecommendationAsync(young.Id, default));
        Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM impressions WHERE day = {today.DayNumber}"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM impressions"));
    }

    private static RecommendationRecord Record(DateTimeOffset at) =>
        new(Guid.CreateVersion7(at).ToString("N"), "7:p1", Stage.Consideration, "", "default", ["guide"], at);

    private Task<long> CountAsync(string sql) =>
        _sqlite.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);
}
