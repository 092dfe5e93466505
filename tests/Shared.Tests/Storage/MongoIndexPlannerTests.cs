using Journey.Shared.Storage;
using MongoDB.Bson;

namespace Journey.Shared.Tests.Storage;

public sealed class MongoIndexPlannerTests
{
    private static readonly MongoIndex Retention = new("interactions", new BsonDocument("occurred_at", 1)) { Name = "retention", ExpireAfter = TimeSpan.FromDays(400) };
    private static readonly MongoIndex ByPerson = new("interactions", new BsonDocument { ["person_id"] = 1, ["occurred_at"] = -1 });

    [Fact]
    public void Plan_WhenTheCollectionHasNoIndexes_CreatesEveryDeclaredOne()
    {
        var plan = MongoIndexPlanner.Plan("interactions", [Retention, ByPerson], [], [IdIndex()]);

        Assert.Equal([Retention, ByPerson], plan.Create);
        Assert.Empty(plan.ChangeExpiry);
        Assert.Empty(plan.Conflicts);
    }

    [Fact]
    public void Plan_WhenEveryIndexExistsAsDeclared_DoesNothing()
    {
        // As listIndexes returns them: mongosh writes key directions as doubles.
        var existing = new[]
        {
            IdIndex(),
            new BsonDocument { ["v"] = 2, ["key"] = new BsonDocument("occurred_at", 1.0), ["name"] = "retention", ["expireAfterSeconds"] = 34_560_000 },
            new BsonDocument { ["v"] = 2, ["key"] = new BsonDocument { ["person_id"] = 1.0, ["occurred_at"] = -1.0 }, ["name"] = "person_id_1_occurred_at_-1" },
        };

        var plan = MongoIndexPlanner.Plan("interactions", [Retention, ByPerson], [], existing);

        Assert.True(plan.IsEmpty);
    }

    [Fact]
    public void Plan_WhenOnlyTheTtlDiffers_ChangesItInPlaceWithCollMod()
    {
        var existing = new[] { IdIndex(), new BsonDocument { ["v"] = 2, ["key"] = new BsonDocument("occurred_at", 1), ["name"] = "retention", ["expireAfterSeconds"] = 34_560_000L } };
        var shorter = Retention with { ExpireAfter = TimeSpan.FromDays(30) };

        var plan = MongoIndexPlanner.Plan("interactions", [shorter], [], existing);

        var change = Assert.Single(plan.ChangeExpiry);
        Assert.Equal(new MongoExpiryChange("interactions", "retention", 34_560_000, 2_592_000), change);
        Assert.Empty(plan.Create);
        Assert.Empty(plan.Conflicts);
        Assert.Equal(
            "db.getSiblingDB(\"journey-touchpoint\").runCommand({collMod: \"interactions\", index: {name: \"retention\", expireAfterSeconds: 2592000}})",
            change.Command("journey-touchpoint"));
    }

    [Fact]
    public void Plan_WhenAnIndexWithTheDeclaredKeysHasAnotherName_LeavesItAndChangesItsTtl()
    {
        var existing = new[] { IdIndex(), new BsonDocument { ["key"] = new BsonDocument("day_start", 1), ["name"] = "by_day", ["expireAfterSeconds"] = 100 } };
        var declared = new MongoIndex("interaction_ids", new BsonDocument("day_start", 1)) { ExpireAfter = TimeSpan.FromSeconds(200) };

        var plan = MongoIndexPlanner.Plan("interaction_ids", [declared], [], existing);

        Assert.Empty(plan.Create);
        Assert.Equal([new MongoExpiryChange("interaction_ids", "by_day", 100, 200)], plan.ChangeExpiry);
    }

    [Fact]
    public void Plan_WhenTheDeclaredNameHasOtherKeys_ReportsAConflictNamingTheDropCommand()
    {
        var existing = new[] { IdIndex(), new BsonDocument { ["key"] = new BsonDocument("received_at", 1), ["name"] = "retention" } };

        var plan = MongoIndexPlanner.Plan("interactions", [Retention], [], existing);

        var conflict = Assert.Single(plan.Conflicts);
        Assert.Contains("db.interactions.dropIndex(\"retention\")", conflict, StringComparison.Ordinal);
        Assert.Empty(plan.Create);
        Assert.Empty(plan.ChangeExpiry);
    }

    [Fact]
    public void Plan_WhenADeclaredUniqueIndexExistsWithoutUniqueness_ReportsAConflict()
    {
        var declared = new MongoIndex("identifiers", new BsonDocument { ["kind"] = 1, ["value"] = 1 }) { Unique = true };
        var existing = new[] { IdIndex(), new BsonDocument { ["key"] = new BsonDocument { ["kind"] = 1, ["value"] = 1 }, ["name"] = "kind_1_value_1" } };

        var plan = MongoIndexPlanner.Plan("identifiers", [declared], [], existing);

        Assert.Single(plan.Conflicts);
    }

    [Fact]
    public void Plan_WhenAPartialIndexIsReplaced_CreatesTheNewOneAndDropsTheRetiredOne()
    {
        var filter = new BsonDocument("merged_into", new BsonDocument("$gt", ""));
        var declared = new MongoIndex("subjects", new BsonDocument("merged_into", 1)) { Name = "merged_into_set", PartialFilter = filter };
        var existing = new[]
        {
            IdIndex(),
            new BsonDocument { ["key"] = new BsonDocument("merged_into", 1), ["name"] = "merged_into_1", ["partialFilterExpression"] = new BsonDocument("merged_into", new BsonDocument("$type", "string")) },
        };

        var plan = MongoIndexPlanner.Plan("subjects", [declared], [new("subjects", "merged_into_1")], existing);

        Assert.Equal([declared], plan.Create);
        Assert.Equal(["merged_into_1"], plan.Drop);
    }

    [Fact]
    public void Plan_WhenARetiredIndexIsGoneOrIsTheIdIndex_DropsNothing()
    {
        var plan = MongoIndexPlanner.Plan("subjects", [], [new("subjects", "merged_into_1"), new("subjects", "_id_")], [IdIndex()]);

        Assert.True(plan.IsEmpty);
    }

    [Fact]
    public void Specification_OfATtlPartialUniqueIndex_IsWhatCreateIndexesTakes()
    {
        var index = new MongoIndex("c", new BsonDocument { ["a"] = 1, ["b"] = -1 })
        {
            Unique = true,
            ExpireAfter = TimeSpan.FromDays(1),
            PartialFilter = new BsonDocument("a", new BsonDocument("$exists", true)),
        };

        Assert.Equal(
            BsonDocument.Parse("{ key: { a: 1, b: -1 }, name: 'a_1_b_-1', unique: true, expireAfterSeconds: 86400, partialFilterExpression: { a: { $exists: true } } }"),
            index.ToSpecification());
    }

    private static BsonDocument IdIndex() => new() { ["v"] = 2, ["key"] = new BsonDocument("_id", 1), ["name"] = "_id_" };
}
