using Journey.Touchpoint.Storage;
using MongoDB.Bson;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>
/// The MongoDB aggregates are computed by the server; these pin down the pipelines' shape, which decides
/// whether they scale: an indexed start, no list of values sent along, joins the joined collection's
/// index serves, one document back. That their figures equal SQLite's is the contract suite's part.
/// </summary>
public sealed class AggregatePipelinesTests
{
    private const long Window = 30L * 86_400_000;

    public static TheoryData<string, string[]> Pipelines => new()
    {
        { "counts", ["touchpoint_id", "day"] },
        { "reach", ["touchpoint_id", "day"] },
        { "funnel", ["day"] },
        { "before", ["day"] },
    };

    [Theory]
    [MemberData(nameof(Pipelines))]
    public void Pipeline_StartsWithAMatchOnIndexedFieldsAndUsesOnlyStagesThatKeepTheWorkOnTheServer(string name, string[] matched)
    {
        var pipeline = Build(name, 20_000, 20_365);

        Assert.Equal("$match", pipeline[0].GetElement(0).Name);
        Assert.Equal(matched, pipeline[0][0].AsBsonDocument.Names);
        Assert.All(pipeline, stage => Assert.Contains(stage.GetElement(0).Name, new[] { "$match", "$group", "$lookup", "$project" }));
        Assert.All(pipeline, stage => Assert.Equal(1, stage.ElementCount));
    }

    [Theory]
    [MemberData(nameof(Pipelines))]
    public void Pipeline_SendsNoListOfValues_SoItIsAsSmallForAYearAsForADay(string name, string[] matched)
    {
        _ = matched;
        var day = Build(name, 20_000, 20_000);
        var year = Build(name, 20_000, 20_365);

        Assert.DoesNotContain("$in", Operators(new BsonArray(year)));
        Assert.DoesNotContain("$nin", Operators(new BsonArray(year)));
        Assert.Equal(Size(day), Size(year));
        Assert.True(Size(year) < 4096, "a pipeline is a few hundred bytes");
    }

    [Theory]
    [InlineData("reach", "purchases")]
    [InlineData("before", "person_touchpoints")]
    [InlineData("purchase-paths", "person_touchpoints")]
    [InlineData("drop-off-paths", "person_touchpoints")]
    [InlineData("touchpoint-paths", "person_touchpoints")]
    public void Lookup_JoinsOnThePersonThroughLocalAndForeignField(string name, string joined)
    {
        var lookup = Assert.Single(Build(name, 1, 2), s => s.Contains("$lookup"))["$lookup"].AsBsonDocument;

        Assert.Equal(joined, lookup["from"].AsString);
        Assert.Equal(("_id", "person_id"), (lookup["localField"].AsString, lookup["foreignField"].AsString));
        // Only the joined person's documents reach the sub-pipeline, and it gives back a few fields or a count.
        Assert.Contains(lookup["pipeline"].AsBsonArray[^1].AsBsonDocument.GetElement(0).Name, new[] { "$project", "$count" });
    }

    [Theory]
    [InlineData("counts")]
    [InlineData("reach")]
    [InlineData("funnel")]
    public void Totals_EndInOneGroupOfEverything(string name)
    {
        var last = Build(name, 1, 2)[^1];

        Assert.Equal(BsonNull.Value, last["$group"]["_id"]);
    }

    [Fact]
    public void Reach_BoundsThePurchasesItJoinsAndChecksEachVisitWithTheWindow()
    {
        var pipeline = AggregatePipelines.TouchpointReach("web", 1, 2, Window);
        var lookup = pipeline.Single(s => s.Contains("$lookup"))["$lookup"].AsBsonDocument;

        Assert.Equal(new BsonDocument("$add", new BsonArray { "$last", Window }), lookup["let"]["until"]);
        Assert.Contains("$$visit.last", new BsonArray(pipeline).ToJson(), StringComparison.Ordinal);
        Assert.Equal(2, new BsonArray(pipeline).ToJson().Split(Window.ToString(System.Globalization.CultureInfo.InvariantCulture)).Length - 1);
    }

    [Fact]
    public void Funnel_CountsEachStageAndEachNeighbouringPair()
    {
        var totals = AggregatePipelines.Funnel(1, 2)[^1]["$group"].AsBsonDocument;

        Assert.Equal(["_id", "s0", "s1", "s2", "s3", "s4", "s5", "b0", "b1", "b2", "b3", "b4"], totals.Names);
    }

    [Theory]
    [InlineData("purchase-paths", "day")]
    [InlineData("drop-off-paths", "last_at")]
    [InlineData("touchpoint-paths", "touchpoint_id")]
    public void Paths_StartWithAnIndexedMatchAndJoinOnlyTheMostRecentPeople(string name, string matched)
    {
        var pipeline = Build(name, 20_000, 20_365);
        var stages = pipeline.Select(s => s.GetElement(0).Name).ToList();

        Assert.Equal(("$match", matched), (stages[0], pipeline[0][0].AsBsonDocument.GetElement(0).Name));
        // Sorted newest first and cut to the most people a report reads before anything is joined.
        var limit = stages.IndexOf("$limit");
        Assert.Equal("$sort", stages[limit - 1]);
        Assert.Equal(-1, pipeline[limit - 1]["$sort"][0].AsInt32);
        Assert.Equal(50_000, pipeline[limit]["$limit"].AsInt32);
        Assert.True(limit < stages.IndexOf("$lookup"));
        // Each person's touchpoints come back first met first.
        var sub = pipeline.Single(s => s.Contains("$lookup"))["$lookup"]["pipeline"].AsBsonArray;
        Assert.Equal(new BsonDocument { ["first_at"] = 1, ["touchpoint_id"] = 1 }, sub.Single(s => s.AsBsonDocument.Contains("$sort"))["$sort"]);
    }

    private static BsonDocument[] Build(string name, int fromDay, int toDay) => name switch
    {
        "purchase-paths" => AggregatePipelines.PurchasePaths(fromDay, toDay, 50_000),
        "drop-off-paths" => AggregatePipelines.DropOffPaths(new BsonDocument("last_at", new BsonDocument("$gte", fromDay)), 50_000),
        "touchpoint-paths" => AggregatePipelines.TouchpointPaths(
            new BsonDocument { ["touchpoint_id"] = "web", ["first_at"] = new BsonDocument("$gte", fromDay) }, "web", 50_000),
        "counts" => AggregatePipelines.TouchpointCounts("web", fromDay, toDay),
        "reach" => AggregatePipelines.TouchpointReach("web", fromDay, toDay, Window),
        "funnel" => AggregatePipelines.Funnel(fromDay, toDay),
        _ => AggregatePipelines.TouchpointsBeforePurchase(fromDay, toDay),
    };

    private static int Size(BsonDocument[] pipeline) => new BsonDocument("pipeline", new BsonArray(pipeline)).ToBson().Length;

    private static IEnumerable<string> Operators(BsonValue value) => value switch
    {
        BsonDocument document => document.Elements.SelectMany(e => Operators(e.Value).Prepend(e.Name)),
        BsonArray array => array.SelectMany(Operators),
        _ => [],
    };
}
