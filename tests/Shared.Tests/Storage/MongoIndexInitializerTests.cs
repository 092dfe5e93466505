using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MongoDB.Bson;

namespace Journey.Shared.Tests.Storage;

public sealed class MongoIndexInitializerTests
{
    private static readonly MongoIndex Identifiers = new("identifiers", new BsonDocument { ["kind"] = 1, ["value"] = 1 }) { Unique = true };

    private readonly FakeIndexCatalog _catalog = new();
    private readonly TimerCountingTimeProvider _time = new();

    [Fact]
    public async Task EnsureAsync_WhenTheServerFailsThreeTimes_TriesAgainAfterGrowingWaitsAndThenIsReady()
    {
        _catalog.FailuresLeft = 3;
        var set = new MongoIndexSet("journey-profile", _catalog);
        set.Declare(Identifiers);
        var check = new MongoIndexHealthCheck(set);

        var running = Initializer().EnsureAsync(set, CancellationToken.None);
        var waits = new List<TimeSpan>();
        for (var failure = 1; failure <= 3; failure++)
        {
            await _time.Timers.Reaches(failure);
            var before = await check.CheckHealthAsync(new HealthCheckContext());
            Assert.Equal(HealthStatus.Unhealthy, before.Status);
            Assert.Contains("no MongoDB server answered", before.Description, StringComparison.Ordinal);
            Assert.Equal(failure, _catalog.FailedCalls);
            waits.Add(_time.LastDue);
            _time.Advance(_time.LastDue);
        }

        await running.WaitAsync(TimeSpan.FromSeconds(30));
        var after = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Healthy, after.Status);
        Assert.True(set.Ready);
        Assert.Contains("createIndexes identifiers kind_1_value_1", _catalog.Commands);
        Assert.InRange(waits[0], TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(1.2));
        Assert.InRange(waits[1], TimeSpan.FromSeconds(1.6), TimeSpan.FromSeconds(2.4));
        Assert.InRange(waits[2], TimeSpan.FromSeconds(3.2), TimeSpan.FromSeconds(4.8));
    }

    [Fact]
    public async Task EnsureAsync_WhenTheHostStopsWhileWaiting_ReturnsQuietlyAndStaysNotReady()
    {
        _catalog.FailuresLeft = int.MaxValue;
        var set = new MongoIndexSet("journey-profile", _catalog);
        set.Declare(Identifiers);
        using var stopping = new CancellationTokenSource();

        var running = Initializer().EnsureAsync(set, stopping.Token);
        await _time.Timers.Reaches(1);
        await stopping.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(set.Ready);
    }

    [Fact]
    public void RetryDelay_DoublesFromOneSecondToThirtyWithTwentyPercentJitter()
    {
        Assert.Equal(TimeSpan.FromSeconds(0.8), MongoIndexInitializer.RetryDelay(1, 0));
        Assert.Equal(TimeSpan.FromSeconds(8), MongoIndexInitializer.RetryDelay(4, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(30), MongoIndexInitializer.RetryDelay(10, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(24), MongoIndexInitializer.RetryDelay(100, 0));
    }

    private MongoIndexInitializer Initializer() =>
        new(new ServiceCollection().BuildServiceProvider(), Options.Create(new StorePorts()), _time, NullLogger<MongoIndexInitializer>.Instance);
}
