using Journey.Recommendation.Domain;
using Journey.Recommendation.Storage;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;
using Journey.Testing;

namespace Journey.Recommendation.Tests.Storage;

/// <summary>The contract of the three store ports; every adapter must pass it.</summary>
public abstract class StoreContract : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    protected abstract IContentLibrary Library { get; }

    protected abstract IAudienceStore Audience { get; }

    protected abstract IExperimentStore Experiments { get; }

    public abstract void Dispose();

    private static ContentItem Item(string id, long version = 1) => new()
    {
        Id = id,
        Title = "Title " + id,
        Kind = ContentKind.Calculator,
        Stages = [new StageWeight(Stage.Evaluation, 0.75), new StageWeight(Stage.Purchase, 0.25)],
        Topics = ["electric-cars", "leasing"],
        Channels = [ChannelKind.Web, ChannelKind.Email],
        Hardness = 0.35,
        Purpose = ContentPurpose.Marketing,
        RequiredConsentPurpose = "purposes/personalisation",
        ValidFrom = Now.AddTicks(1234567),
        ValidUntil = Now.AddDays(30),
        Generic = true,
        Version = version,
        UpdatedAt = Now.AddTicks(7),
    };

    [ContractFact]
    public async Task Content_RoundTripsEveryField()
    {
        var item = Item("a");

        await Library.SaveAsync(item, 0, default);

        Assert.True(item.SameAs((await Library.GetAsync("a", default))!));
        Assert.Null(await Library.GetAsync("missing", default));
    }

    [ContractFact]
    public async Task Content_WhenVersionStaleOrInsertTwice_Conflicts()
    {
        await Library.SaveAsync(Item("a"), 0, default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Library.SaveAsync(Item("a"), 0, default));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Library.SaveAsync(Item("a", 3), 2, default));
        await Library.SaveAsync(Item("a", 2), 1, default);
        Assert.Equal(2, (await Library.GetAsync("a", default))!.Version);
    }

    [ContractFact]
    public async Task Content_ListFiltersAndPagesInIdOrder()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Library.SaveAsync(Item(id), 0, default);
        }

        await Library.SaveAsync(Item("d") with { Retired = true }, 0, default);
        await Library.SaveAsync(Item("e") with { Channels = [ChannelKind.Service], Stages = [new StageWeight(Stage.Ownership, 1)], Kind = ContentKind.Guide, Topics = [] }, 0, default);
        var all = new ContentFilter(ContentKind.Unspecified, Stage.Unspecified, ChannelKind.Unspecified, "", false);

        Assert.Equal(["a", "b"], (await Library.ListAsync(all, "", 2, default)).Select(i => i.Id));
        Assert.Equal(["c", "e"], (await Library.ListAsync(all, "b", 10, default)).Select(i => i.Id));
        Assert.Equal(["a", "b", "c", "d", "e"], (await Library.ListAsync(all with { IncludeRetired = true }, "", 10, default)).Select(i => i.Id));
        Assert.Equal(["e"], (await Library.ListAsync(all with { Channel = ChannelKind.Service }, "", 10, default)).Select(i => i.Id));
        Assert.Equal(["e"], (await Library.ListAsync(all with { Stage = Stage.Ownership }, "", 10, default)).Select(i => i.Id));
        Assert.Equal(["e"], (await Library.ListAsync(all with { Kind = ContentKind.Guide }, "", 10, default)).Select(i => i.Id));
        Assert.Equal(["a", "b", "c"], (await Library.ListAsync(all with { Topic = "leasing" }, "", 10, default)).Select(i => i.Id));
        Assert.Equal(["a", "b", "c", "e"], (await Library.ReadActiveAsync(default)).Select(i => i.Id).Order());
    }

    [ContractFact]
    public async Task Audience_PersonTouchpointAndImpressions_RoundTripInOneRead()
    {
        var person = new PersonState
        {
            Key = "7:p1",
            IdentifierKeys = ["1:c1", "2:" + new string('a', 64)],
            Stage = Stage.Evaluation,
            Readiness = 70,
            Interests = [new Interest("electric-cars", 0.8)],
            OpenServiceTickets = 1,
            Consumed = ["x", "y"],
            AllowedPurposes = [PersonState.PersonalisationPurpose],
            ProfileVersion = 4,
        };
        var touchpoint = new TouchpointState("web", ChannelKind.Web, [Stage.Awareness, Stage.Consideration], false, 3);
        var day = DateOnly.FromDateTime(Now.UtcDateTime);
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.SavePersonAsync(person, ct);
            await s.SaveTouchpointAsync(touchpoint, ct);
            await s.AddImpressionAsync("7:p1", "x", day, ct);
            await s.AddImpressionAsync("7:p1", "x", day, ct);
            await s.AddImpressionAsync("7:p1", "y", day.AddDays(-1), ct);
            return 0;
        }, default);

        var context = await Audience.ReadContextAsync("web", ["1:unknown", "1:c1"], day, default);

        Assert.True(person.SameAs(context.Person!));
        Assert.Equal(touchpoint with { Stages = [] }, context.Touchpoint! with { Stages = [] });
        Assert.Equal(touchpoint.Stages, context.Touchpoint!.Stages);
        Assert.Equal(new Dictionary<string, int> { ["x"] = 2 }, context.ImpressionsToday);
        Assert.Null((await Audience.ReadContextAsync("other", ["1:nobody"], day, default)).Person);
    }

    [ContractFact]
    public async Task Audience_InboxClaimsOncePerConsumer()
    {
        var claims = await Audience.WriteAsync(async (s, ct) => new[]
        {
            await s.TryClaimAsync("recommendation.a", "e1", Now, ct),
            await s.TryClaimAsync("recommendation.a", "e1", Now, ct),
            await s.TryClaimAsync("recommendation.b", "e1", Now, ct),
        }, default);

        Assert.Equal([true, false, true], claims);
    }

    [ContractFact]
    public async Task Audience_RecommendationsCountsAndErasure()
    {
        var record = new RecommendationRecord(Guid.CreateVersion7().ToString("N"), "7:p1", Stage.Consideration, "exp", "control", ["a", "b"], Now);
        await Audience.SaveRecommendationsAsync([record], default);
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.SavePersonAsync(new PersonState { Key = "7:p1", IdentifierKeys = ["1:c1"] }, ct);
            await s.AddItemStatsAsync(new ItemStats("a", Stage.Consideration, 2, 1, 0), ct);
            await s.AddItemStatsAsync(new ItemStats("a", Stage.Consideration, 1, 0, 1), ct);
            await s.AddVariantCountsAsync("exp", new VariantCounts("control", 0, 3, 1, 0), ct);
            await s.AddCoConsumptionAsync("a", "b", ct);
            await s.AddCoConsumptionAsync("a", "b", ct);
            await s.AddCoConsumptionAsync("a", "c", ct);
            await s.AddImpressionAsync("7:p1", "a", DateOnly.FromDateTime(Now.UtcDateTime), ct);
            return 0;
        }, default);

        var stored = await Audience.GetRecommendationAsync(record.Id, default);
        Assert.Equal(record with { ContentIds = [] }, stored! with { ContentIds = [] });
        Assert.Equal(record.ContentIds, stored.ContentIds);
        Assert.Equal([new ItemStats("a", Stage.Consideration, 3, 1, 1)], (await Audience.ReadItemStatsChangedAsync(0, default)).Rows);
        Assert.Equal([new VariantCounts("control", 1, 3, 1, 0)], await Audience.ReadVariantCountsAsync("exp", default));
        Assert.Equal([new AlsoConsumed("a", "b", 2), new AlsoConsumed("a", "c", 1)], await Audience.ReadAlsoConsumedAsync(["a"], 5, default));

        var erased = await Audience.WriteAsync((s, ct) => s.DeletePersonAsync("7:p1", ct), default);

        Assert.True(erased >= 3);
        Assert.Null(await Audience.GetRecommendationAsync(record.Id, default));
        var context = await Audience.ReadContextAsync("web", ["1:c1", "7:p1"], DateOnly.FromDateTime(Now.UtcDateTime), default);
        Assert.Null(context.Person);
        Assert.Empty(context.ImpressionsToday);
    }

    [ContractFact]
    public async Task AlsoConsumed_WrittenByManyTransactions_SumsEachPairAndRanksBySum()
    {
        // Thirty writes of one pair land on several counter shards where the store shards them; the
        // read must sum them before it ranks and cuts, or a pair spread thin would lose to one in one place.
        for (var i = 0; i < 30; i++)
        {
            await Audience.WriteAsync(async (s, ct) =>
            {
                await s.AddCoConsumptionAsync("video", "guide", ct);
                if (i < 12)
                {
                    await s.AddCoConsumptionAsync("video", "offer", ct);
                }

                return 0;
            }, default);
        }

        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.AddCoConsumptionAsync("guide", "video", ct);
            return 0;
        }, default);

        Assert.Equal([new AlsoConsumed("video", "guide", 30)], await Audience.ReadAlsoConsumedAsync(["video"], 1, default));
        Assert.Equal(
            [new AlsoConsumed("video", "guide", 30), new AlsoConsumed("video", "offer", 12), new AlsoConsumed("guide", "video", 1)],
            await Audience.ReadAlsoConsumedAsync(["video", "guide"], 5, default));
    }

    [ContractFact]
    public async Task Counts_WrittenByManyTransactions_SumExactly()
    {
        // Issued recommendations arrive in batches of mixed variants; feedback in transactions of its own.
        var records = Enumerable.Range(0, 30).Select(i => new RecommendationRecord(Guid.CreateVersion7().ToString("N"), $"1:p{i}", Stage.Evaluation, "spring", i % 3 == 0 ? "learned" : "control", ["a"], Now)).ToList();
        await Audience.SaveRecommendationsAsync(records[..1], default);
        await Audience.SaveRecommendationsAsync(records[1..12], default);
        await Audience.SaveRecommendationsAsync(records[12..], default);
        for (var i = 0; i < 30; i++)
        {
            var variant = records[i].Variant;
            await Audience.WriteAsync(async (s, ct) =>
            {
                await s.AddItemStatsAsync(new ItemStats("a", Stage.Evaluation, 1, i % 2, 0), ct);
                await s.AddVariantCountsAsync("spring", new VariantCounts(variant, 0, 1, i % 2, 0), ct);
                return 0;
            }, default);
        }

        Assert.Equal([new VariantCounts("control", 20, 20, 10, 0), new VariantCounts("learned", 10, 10, 5, 0)], await Audience.ReadVariantCountsAsync("spring", default));
        Assert.Equal([new ItemStats("a", Stage.Evaluation, 30, 15, 0)], (await Audience.ReadItemStatsChangedAsync(0, default)).Rows);
        Assert.Equal([new ItemStats("a", Stage.Evaluation, 30, 15, 0)], (await Audience.ReadItemStatsChangedAsync(0, default)).Rows);
        Assert.Empty(await Audience.ReadVariantCountsAsync("spring2", default));
        foreach (var record in records)
        {
            Assert.Equal(record.PersonKey, (await Audience.GetRecommendationAsync(record.Id, default))?.PersonKey);
        }
    }

    [ContractFact]
    public async Task Audience_ErasureTombstonesAreFoundByKeyAndALaterErasureExtendsThem()
    {
        var until = Now.AddHours(1);
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.RememberErasureAsync([new ErasureTombstone("tomb-a", until, until.AddDays(30)), new ErasureTombstone("tomb-b", until, until.AddDays(30))], Now, ct);
            return 0;
        }, default);
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.RememberErasureAsync([new ErasureTombstone("tomb-a", until.AddHours(2), until.AddDays(31)), new ErasureTombstone("tomb-b", Now, Now.AddDays(1))], Now, ct);
            return 0;
        }, default);

        var found = await Audience.WriteAsync((s, ct) => s.FindErasedAsync(["tomb-a", "tomb-b", "tomb-c"], ct), default);

        Assert.Equal(until.AddHours(2), found["tomb-a"]);
        Assert.Equal(until, found["tomb-b"]);
        Assert.False(found.ContainsKey("tomb-c"));
    }

    [ContractFact]
    public async Task Audience_RekeyMovesRecommendationsAndImpressions()
    {
        var day = DateOnly.FromDateTime(Now.UtcDateTime);
        var record = new RecommendationRecord(Guid.CreateVersion7().ToString("N"), "1:anon", Stage.Awareness, "", "default", ["a"], Now);
        await Audience.SaveRecommendationsAsync([record], default);
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.AddImpressionAsync("1:anon", "a", day, ct);
            await s.AddImpressionAsync("7:p1", "a", day, ct);
            await s.RekeyAsync("1:anon", "7:p1", ct);
            return 0;
        }, default);

        Assert.Equal("7:p1", (await Audience.GetRecommendationAsync(record.Id, default))!.PersonKey);
        Assert.Equal(2, (await Audience.ReadContextAsync("web", ["7:p1"], day, default)).ImpressionsToday["a"]);
    }

    [ContractFact]
    public async Task ReadItemStatsChanged_AfterItsCursor_ReturnsEveryChangedRowWhole()
    {
        await AddStatsAsync(new ItemStats("a", Stage.Evaluation, 2, 1, 0), new ItemStats("b", Stage.Evaluation, 5, 0, 0));
        var all = await Audience.ReadItemStatsChangedAsync(0, default);

        await AddStatsAsync(new ItemStats("a", Stage.Evaluation, 1, 1, 1), new ItemStats("c", Stage.Purchase, 1, 0, 0));
        var changed = await Audience.ReadItemStatsChangedAsync(all.Cursor, default);

        Assert.Equal(["a", "b"], all.Rows.Select(r => r.ContentId).Order());
        Assert.True(all.Cursor > 0);
        Assert.Contains(new ItemStats("a", Stage.Evaluation, 3, 2, 1), changed.Rows);
        Assert.Contains(new ItemStats("c", Stage.Purchase, 1, 0, 0), changed.Rows);
        Assert.True(changed.Cursor >= all.Cursor);
    }

    protected Task AddStatsAsync(params ItemStats[] deltas) =>
        Audience.WriteAsync(async (s, ct) =>
        {
            foreach (var delta in deltas)
            {
                await s.AddItemStatsAsync(delta, ct);
            }

            return 0;
        }, default);

    [ContractFact]
    public async Task Experiments_CreateUniqueUpdateVersionedListNewestFirst()
    {
        Experiment Make(string id, int minutes) => new()
        {
            Id = id,
            DisplayName = "Experiment " + id,
            Variants = [new ExperimentVariant("control", Strategy.StageRules, 0.25), new ExperimentVariant("learned", Strategy.Learned, 0.75)],
            CreatedAt = Now.AddMinutes(minutes),
            Version = 1,
        };

        await Experiments.CreateAsync(Make("a", 1), default);
        await Experiments.CreateAsync(Make("b", 2), default);
        await Experiments.CreateAsync(Make("c", 3), default);
        await Assert.ThrowsAsync<AlreadyExistsException>(() => Experiments.CreateAsync(Make("a", 4), default));
        var stopped = Make("b", 2) with { StoppedAt = Now.AddHours(1), Version = 2 };
        await Experiments.UpdateAsync(stopped, 1, default);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Experiments.UpdateAsync(stopped with { Version = 3 }, 1, default));

        Assert.True(Make("a", 1).SameAs((await Experiments.GetAsync("a", default))!));
        Assert.True(stopped.SameAs((await Experiments.GetAsync("b", default))!));
        Assert.Equal(["c", "b"], (await Experiments.ListAsync(null, 2, default)).Select(e => e.Id));
        Assert.Equal(["a"], (await Experiments.ListAsync((Now.AddMinutes(2), "b"), 2, default)).Select(e => e.Id));
        Assert.Equal(["a", "c"], (await Experiments.ListRunningAsync(default)).Select(e => e.Id));
    }
}

public sealed class SqliteStoreContract : StoreContract
{
    private readonly TemporarySqlite _sqlite = new("recommendation");

    public SqliteStoreContract()
    {
        Library = new SqliteContentLibrary(_sqlite.Database);
        Audience = new SqliteAudienceStore(_sqlite.Database);
        Experiments = new SqliteExperimentStore(_sqlite.Database);
    }

    protected override IContentLibrary Library { get; }

    protected override IAudienceStore Audience { get; }

    protected override IExperimentStore Experiments { get; }

    public override void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task ReadItemStatsChanged_WhenNothingElseChanged_ReturnsOnlyTheChangedRows()
    {
        await AddStatsAsync(new ItemStats("a", Stage.Evaluation, 1, 0, 0), new ItemStats("b", Stage.Evaluation, 1, 0, 0), new ItemStats("c", Stage.Evaluation, 1, 0, 0));
        var all = await Audience.ReadItemStatsChangedAsync(0, default);

        await AddStatsAsync(new ItemStats("b", Stage.Evaluation, 1, 1, 0));
        var changed = await Audience.ReadItemStatsChangedAsync(all.Cursor, default);
        var unchanged = await Audience.ReadItemStatsChangedAsync(changed.Cursor, default);

        Assert.Equal([new ItemStats("b", Stage.Evaluation, 2, 1, 0)], changed.Rows);
        Assert.Empty(unchanged.Rows);
        Assert.Equal(changed.Cursor, unchanged.Cursor);
    }

    [Fact]
    public async Task ReadItemStatsChanged_ByCursor_UsesTheSequenceIndex()
    {
        await using var connection = await _sqlite.Database.OpenConnectionAsync(default);
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN SELECT content, stage, impressions, clicks, conversions, seq FROM item_stats WHERE seq > 5 ORDER BY seq";
        var plan = await ReadPlanAsync(command);

        Assert.Contains("item_stats_by_seq", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAndRekey_WithoutAnIndexByPerson_MoveAndRemoveEveryIdentifierLink()
    {
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.SavePersonAsync(new PersonState { Key = "1:anon", IdentifierKeys = ["1:anon", "2:mail"] }, ct);
            await s.SavePersonAsync(new PersonState { Key = "7:p2", IdentifierKeys = ["3:phone"] }, ct);
            return 0;
        }, default);

        // As the projector merges a person into a profile: move, drop the old person, write the survivor.
        await Audience.WriteAsync(async (s, ct) =>
        {
            await s.RekeyAsync("1:anon", "7:p1", ct);
            await s.DeletePersonAsync("1:anon", ct);
            await s.SavePersonAsync(new PersonState { Key = "7:p1", IdentifierKeys = ["1:anon", "2:mail", "7:p1"] }, ct);
            return 0;
        }, default);
        var moved = await LinksAsync();
        var erased = await Audience.WriteAsync((s, ct) => s.DeletePersonAsync("7:p1", ct), default);
        var left = await LinksAsync();

        Assert.Equal(["1:anon=7:p1", "2:mail=7:p1", "3:phone=7:p2"], moved); // a person's own key needs no link
        Assert.Equal(["3:phone=7:p2"], left);
        Assert.Equal(3, erased);
    }

    private async Task<List<string>> LinksAsync()
    {
        await using var connection = await _sqlite.Database.OpenConnectionAsync(default);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id || '=' || person_key FROM person_ids ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        var links = new List<string>();
        while (await reader.ReadAsync())
        {
            links.Add(reader.GetString(0));
        }

        return links;
    }

    private static async Task<string> ReadPlanAsync(Microsoft.Data.Sqlite.SqliteCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var plan = new System.Text.StringBuilder();
        while (await reader.ReadAsync())
        {
            plan.AppendLine(reader.GetString(3));
        }

        return plan.ToString();
    }
}

public sealed class MongoStoreContract : StoreContract, IRequiresMongo
{
    private readonly TemporaryMongo _mongo = new("recommendation");

    protected override IContentLibrary Library => field ??= new MongoContentLibrary(_mongo.Store);

    protected override IAudienceStore Audience => field ??= new MongoAudienceStore(_mongo.Store);

    protected override IExperimentStore Experiments => field ??= new MongoExperimentStore(_mongo.Store);

    public override void Dispose() => _mongo.DisposeAsync().GetAwaiter().GetResult();
}
