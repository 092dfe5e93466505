using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Storage;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>The contract of the catalog and interaction ports; both adapters must pass it.</summary>
public abstract class TouchpointStoreContract
{
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 9, 0, 0, 123, TimeSpan.Zero);

    protected abstract ITouchpointStore Catalog { get; }

    protected abstract IInteractionStore Interactions { get; }

    protected abstract Task<long> OutboxCountAsync();

    [ContractFact]
    public async Task Insert_ThenGet_RoundTripsEveryField()
    {
        var entry = Entry("lease-calculator");

        await Catalog.InsertAsync(entry, Changed(), default);

        var stored = await Catalog.GetAsync("lease-calculator", default);
        Assert.NotNull(stored);
        Assert.Equal(entry with { Stages = [], Topics = [] }, stored with { Stages = [], Topics = [] });
        Assert.Equal(entry.Stages, stored.Stages);
        Assert.Equal(entry.Topics, stored.Topics);
        Assert.Equal(1, await OutboxCountAsync());
    }

    [ContractFact]
    public async Task Insert_WhenIdTaken_ThrowsAlreadyExistsAndWritesNoEvent()
    {
        await Catalog.InsertAsync(Entry("x"), Changed(), default);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Catalog.InsertAsync(Entry("x"), Changed(), default));

        Assert.Equal(1, await OutboxCountAsync());
    }

    [ContractFact]
    public async Task Update_WhenVersionIsStale_ThrowsConflict()
    {
        var entry = Entry("x");
        await Catalog.InsertAsync(entry, Changed(), default);
        await Catalog.UpdateAsync(entry with { Version = 2, Retired = true }, 1, Changed(), default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Catalog.UpdateAsync(entry with { Version = 3 }, 1, Changed(), default));

        Assert.True((await Catalog.GetAsync("x", default))!.Retired);
    }

    [ContractFact]
    public async Task List_PagesInIdOrderThroughEveryFilter()
    {
        await Catalog.InsertAsync(Entry("c", Channel.Web, JourneyStage.Awareness, 2), Changed(), default);
        await Catalog.InsertAsync(Entry("a", Channel.Web, JourneyStage.Evaluation, 5), Changed(), default);
        await Catalog.InsertAsync(Entry("b", Channel.Email, JourneyStage.Evaluation, 4), Changed(), default);

        var first = await Catalog.ListAsync(new TouchpointFilter(null, null, null, 0, false), null, 2, default);
        var rest = await Catalog.ListAsync(new TouchpointFilter(null, null, null, 0, false), first.NextAfter, 2, default);
        var webEvaluation = await Catalog.ListAsync(new TouchpointFilter(Channel.Web, Ownership.Owned, JourneyStage.Evaluation, 5, false), null, 10, default);

        Assert.Equal(["a", "b"], first.Items.Select(i => i.Id));
        Assert.Equal(["c"], rest.Items.Select(i => i.Id));
        Assert.Null(rest.NextAfter);
        Assert.Equal(["a"], webEvaluation.Items.Select(i => i.Id));
    }

    [ContractFact]
    public async Task Append_WhenIdsRepeat_StoresEachOnceAndReportsTheRepeats()
    {
        var one = Interaction("i-1");
        var two = Interaction("i-2");

        var firstDuplicates = await Interactions.AppendAsync([(one, Recorded()), (two, Recorded())], default);
        var secondDuplicates = await Interactions.AppendAsync([(two, Recorded()), (Interaction("i-3"), Recorded())], default);

        Assert.Empty(firstDuplicates);
        Assert.Equal(["i-2"], secondDuplicates);
        Assert.Equal(3, await Interactions.CountAsync(default));
        Assert.Equal(3, await OutboxCountAsync());
    }

    [ContractFact]
    public async Task DeleteOlderThan_RemovesOnlyOldInteractionsAndForgetsTheirIds()
    {
        var old = Interaction("old") with { OccurredAt = Created.AddDays(-10) };
        var recent = Interaction("recent");
        await Interactions.AppendAsync([(old, Recorded()), (recent, Recorded())], default);

        var removed = await Interactions.DeleteOlderThanAsync(Created.AddDays(-1), 100, default);
        var again = await Interactions.AppendAsync([(old, Recorded())], default);

        Assert.Equal(1, removed);
        Assert.Empty(again);
        Assert.Equal(2, await Interactions.CountAsync(default));
    }

    private static TouchpointEntry Entry(string id, Channel channel = Channel.Web, JourneyStage stage = JourneyStage.Consideration, int criticality = 3) =>
        new(id, "Name " + id, channel, Ownership.Owned, [stage, JourneyStage.Loyalty], criticality, new IntendedExperience(4.25, "trust"), "team", ["leasing", "electric-cars"], false, 1, Created, Created);

    private static Interaction Interaction(string id) =>
        new(id, "touchpoints/x", Created, [new PersonIdentifier(IdentifierKind.AnonymousId, "cookie")], InteractionType.View, "", "", 4, "fine", new Money("EUR", 10, 500_000_000), new Dictionary<string, string> { ["k"] = "v" });

    private static OutboxMessage Changed() => EventEnvelopes.Create(Topics.TouchpointChanged, "touchpoint", new StringValue { Value = "x" }, Created);

    private static OutboxMessage Recorded() => EventEnvelopes.Create(Topics.InteractionRecorded, "touchpoint", new StringValue { Value = "x" }, Created);
}

public sealed class SqliteTouchpointStoreTests : TouchpointStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("touchpoint");
    private readonly SqliteOutbox _outbox;

    public SqliteTouchpointStoreTests()
    {
        _outbox = new SqliteOutbox("touchpoint", _sqlite.Database);
        Catalog = new SqliteTouchpointStore(_sqlite.Database);
        Interactions = new SqliteInteractionStore(_sqlite.Database);
    }

    protected override ITouchpointStore Catalog { get; }

    protected override IInteractionStore Interactions { get; }

    protected override async Task<long> OutboxCountAsync() => (await _outbox.ReadDueAsync(10_000, DateTimeOffset.MaxValue, default)).Count;

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoTouchpointStoreTests : TouchpointStoreContract, IRequiresMongo, IAsyncLifetime
{
    private MongoStore? _store;

    protected override ITouchpointStore Catalog => new MongoTouchpointStore(_store!);

    protected override IInteractionStore Interactions => new MongoInteractionStore(_store!, new IngestRules(TimeSpan.FromDays(400), TimeSpan.FromMinutes(5)));

    protected override async Task<long> OutboxCountAsync() => (await new MongoOutbox("touchpoint", _store!).ReadDueAsync(10_000, DateTimeOffset.MaxValue, default)).Count;

    public Task InitializeAsync()
    {
        if (MongoTestServer.ConnectionString is not null)
        {
            _store = MongoTestServer.CreateStore("touchpoint");
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await MongoTestServer.DropAsync(_store);
        }
    }
}
