using Journey.Shared.Storage;
using Microsoft.Extensions.Logging;
using MongoDB.Bson;

namespace Journey.Shared.Tests.Storage;

public sealed class MongoIndexSetTests : IDisposable
{
    private static readonly MongoIndex Retention = new("interactions", new BsonDocument("occurred_at", 1)) { Name = "retention", ExpireAfter = TimeSpan.FromDays(30) };
    private static readonly MongoIndex Identifiers = new("identifiers", new BsonDocument { ["kind"] = 1, ["value"] = 1 }) { Unique = true };

    private readonly FakeIndexCatalog _catalog = new();
    private readonly CapturedLogs _logs = new();
    private readonly ILoggerFactory _loggers;

    public MongoIndexSetTests() => _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));

    [Fact]
    public void Declare_SendsNothingAndLeavesTheSetNotReady()
    {
        var set = Set();

        set.Declare(Retention, Identifiers);

        Assert.Empty(_catalog.Commands);
        Assert.False(set.Ready);
        Assert.Equal("2 declared indexes being put in place", set.Status);
    }

    [Fact]
    public async Task EnsureAsync_WhenIndexesAreMissing_CreatesThemPerCollectionAndIsReady()
    {
        var set = Set();
        set.Declare(Retention, Identifiers);

        await set.EnsureAsync(CancellationToken.None);

        Assert.True(set.Ready);
        Assert.Equal("ready", set.Status);
        Assert.Equal(["listIndexes interactions", "createIndexes interactions retention", "listIndexes identifiers", "createIndexes identifiers kind_1_value_1"], _catalog.Commands);
        Assert.Contains(_catalog.On("identifiers"), i => i["name"] == "kind_1_value_1" && i["unique"] == true);
    }

    [Fact]
    public async Task EnsureAsync_WhenTheRetentionChanged_ChangesTheTtlIndexInPlace()
    {
        _catalog.Add("interactions", new BsonDocument { ["key"] = new BsonDocument("occurred_at", 1), ["name"] = "retention", ["expireAfterSeconds"] = 34_560_000 });
        var set = Set();
        set.Declare(Retention);

        await set.EnsureAsync(CancellationToken.None);

        Assert.True(set.Ready);
        Assert.Equal(["listIndexes interactions", "collMod interactions retention 2592000"], _catalog.Commands);
        Assert.Equal(2_592_000, _catalog.On("interactions").Single(i => i["name"] == "retention")["expireAfterSeconds"].ToInt64());
    }

    [Fact]
    public async Task EnsureAsync_WhenCollModIsUnauthorized_KeepsServingAndLogsTheCommandToRun()
    {
        _catalog.Add("interactions", new BsonDocument { ["key"] = new BsonDocument("occurred_at", 1), ["name"] = "retention", ["expireAfterSeconds"] = 34_560_000 });
        _catalog.CollModRefusal = MongoErrors.Unauthorized("collMod");
        var set = Set();
        set.Declare(Retention);

        await set.EnsureAsync(CancellationToken.None);

        Assert.True(set.Ready);
        var warning = Assert.Single(_logs.Lines, l => l.Contains("refused to change TTL index", StringComparison.Ordinal));
        Assert.Contains("(Unauthorized)", warning, StringComparison.Ordinal);
        Assert.Contains("db.getSiblingDB(\"journey-test\").runCommand({collMod: \"interactions\", index: {name: \"retention\", expireAfterSeconds: 2592000}})", warning, StringComparison.Ordinal);
        Assert.Contains("34560000 s", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_WhenTheServerIsUnreachable_ThrowsAndSaysSoInItsStatus()
    {
        _catalog.FailuresLeft = 1;
        var set = Set();
        set.Declare(Retention);

        await Assert.ThrowsAsync<TimeoutException>(() => set.EnsureAsync(CancellationToken.None));

        Assert.False(set.Ready);
        Assert.Equal("1 declared indexes not in place yet: the last pass failed (no MongoDB server answered within the server selection timeout); it is tried again", set.Status);
    }

    [Fact]
    public async Task EnsureAsync_WhenADeclaredNameHoldsOtherKeys_StaysNotReadyNamingTheConflict()
    {
        _catalog.Add("interactions", new BsonDocument { ["key"] = new BsonDocument("received_at", 1), ["name"] = "retention" });
        var set = Set();
        set.Declare(Retention);

        await set.EnsureAsync(CancellationToken.None);

        Assert.False(set.Ready);
        Assert.Contains("db.interactions.dropIndex(\"retention\")", set.Status, StringComparison.Ordinal);
        Assert.Contains(_logs.Lines, l => l.Contains("cannot be put in place", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnsureAsync_WhenCalledByManyAtOnce_RunsOnePass()
    {
        var set = Set();
        set.Declare(Retention);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => set.EnsureAsync(CancellationToken.None)));

        Assert.Equal(1, _catalog.Commands.Count(c => c.StartsWith("createIndexes", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Declare_AfterTheSetWasReady_MakesItNotReadyUntilTheNextPass()
    {
        var set = Set();
        set.Declare(Retention);
        await set.EnsureAsync(CancellationToken.None);

        set.Declare(Identifiers);
        Assert.False(set.Ready);
        await set.EnsureAsync(CancellationToken.None);

        Assert.True(set.Ready);
        Assert.Contains("createIndexes identifiers kind_1_value_1", _catalog.Commands);
    }

    [Fact]
    public void Declare_TheSameIndexTwice_KeepsItOnceButRefusesAnotherDefinitionUnderItsName()
    {
        var set = Set();

        set.Declare(Retention, Retention);

        Assert.Single(set.Declared);
        Assert.Throws<InvalidOperationException>(() => set.Declare(Retention with { ExpireAfter = TimeSpan.FromDays(1) }));
    }

    public void Dispose() => _loggers.Dispose();

    private MongoIndexSet Set() => new("journey-test", _catalog, _loggers.CreateLogger<MongoIndexSet>());
}
