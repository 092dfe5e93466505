using MongoDB.Bson;

namespace Journey.Shared.Storage;

/// <summary>What to do to one collection's indexes so that they match what the adapters declare.</summary>
/// <param name="Create">Declared indexes the collection lacks.</param>
/// <param name="ChangeExpiry">TTL indexes whose expiry differs from the declared one: <c>collMod</c> changes it in place.</param>
/// <param name="Drop">Retired indexes still present; dropped after <paramref name="Create"/> succeeded.</param>
/// <param name="Conflicts">Indexes that hold a declared name or key pattern with other options, which nothing here changes on its own.</param>
internal sealed record MongoIndexPlan(
    IReadOnlyList<MongoIndex> Create,
    IReadOnlyList<MongoExpiryChange> ChangeExpiry,
    IReadOnlyList<string> Drop,
    IReadOnlyList<string> Conflicts)
{
    /// <summary>True when the collection already matches.</summary>
    public bool IsEmpty => Create.Count == 0 && ChangeExpiry.Count == 0 && Drop.Count == 0 && Conflicts.Count == 0;
}

/// <summary>A TTL index whose expiry is changed with <c>collMod</c>.</summary>
/// <param name="Collection">The collection.</param>
/// <param name="Name">The index's name on the server.</param>
/// <param name="FromSeconds">Its expiry now, in seconds (null when it is not a TTL index yet).</param>
/// <param name="ToSeconds">The declared expiry, in seconds.</param>
internal sealed record MongoExpiryChange(string Collection, string Name, long? FromSeconds, long ToSeconds)
{
    /// <summary>The command that makes the change, as an operator would type it in <c>mongosh</c>.</summary>
    public string Command(string database) =>
        $"db.getSiblingDB(\"{database}\").runCommand({{collMod: \"{Collection}\", index: {{name: \"{Name}\", expireAfterSeconds: {ToSeconds}}}}})";
}

/// <summary>
/// Compares the indexes a collection has (as <c>listIndexes</c> returns them) with the declared
/// ones. Pure, so each rule is tested without a server:
/// <list type="bullet">
/// <item>missing: created;</item>
/// <item>the same keys and options, under the declared name or another one: left alone;</item>
/// <item>only the TTL differs: changed in place with <c>collMod</c> (<c>createIndexes</c> would
/// refuse it with IndexOptionsConflict, and a drop and rebuild would leave the collection
/// without the index while it builds);</item>
/// <item>the declared name with other keys, uniqueness or filter: a conflict, reported and left
/// alone, because dropping an index someone else may rely on is an operator's decision;</item>
/// <item>retired and present: dropped, never <c>_id_</c> and never a declared name.</item>
/// </list>
/// </summary>
internal static class MongoIndexPlanner
{
    public static MongoIndexPlan Plan(string collection, IReadOnlyList<MongoIndex> declared, IReadOnlyList<RetiredMongoIndex> retired, IReadOnlyList<BsonDocument> existing)
    {
        var create = new List<MongoIndex>();
        var expiry = new List<MongoExpiryChange>();
        var conflicts = new List<string>();
        foreach (var index in declared.Where(i => i.Collection == collection))
        {
            var named = existing.FirstOrDefault(e => Name(e) == index.Name);
            if (named is not null)
            {
                if (!SameDefinition(named, index))
                {
                    conflicts.Add($"index '{index.Name}' on {collection} is {Describe(named)}, this version declares {Describe(index.ToSpecification())}: "
                        + $"drop it (db.{collection}.dropIndex(\"{index.Name}\")) and it is built as declared");
                }
                else if (ExpiryChange(collection, named, index) is { } change)
                {
                    expiry.Add(change);
                }

                continue;
            }

            var twin = existing.FirstOrDefault(e => SameDefinition(e, index));
            if (twin is null)
            {
                create.Add(index);
            }
            else if (ExpiryChange(collection, twin, index) is { } change)
            {
                expiry.Add(change);
            }
        }

        var declaredNames = declared.Where(i => i.Collection == collection).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var drop = retired
            .Where(r => r.Collection == collection && r.Name != "_id_" && !declaredNames.Contains(r.Name) && existing.Any(e => Name(e) == r.Name))
            .Select(r => r.Name)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new MongoIndexPlan(create, expiry, drop, conflicts);
    }

    /// <summary>Same keys in the same order, same uniqueness, same partial filter; the TTL is compared apart.</summary>
    private static bool SameDefinition(BsonDocument existing, MongoIndex declared) =>
        SameKeys(existing.GetValue("key", new BsonDocument()).AsBsonDocument, declared.Keys)
        && existing.GetValue("unique", false).ToBoolean() == declared.Unique
        && Equals(existing.GetValue("partialFilterExpression", BsonNull.Value), (BsonValue?)declared.PartialFilter ?? BsonNull.Value)
        // A TTL the declaration does not want cannot be taken off with collMod.
        && (declared.ExpireAfter is not null || !existing.Contains("expireAfterSeconds"));

    private static MongoExpiryChange? ExpiryChange(string collection, BsonDocument existing, MongoIndex declared)
    {
        if (declared.ExpireAfterSeconds is not { } wanted)
        {
            return null;
        }

        long? current = existing.TryGetValue("expireAfterSeconds", out var value) && value.IsNumeric ? (long)value.ToDouble() : null;
        return current == wanted ? null : new MongoExpiryChange(collection, Name(existing), current, wanted);
    }

    // Key values are compared as numbers: mongosh writes 1 as a double, the driver as an int.
    private static bool SameKeys(BsonDocument a, BsonDocument b) =>
        a.ElementCount == b.ElementCount
        && a.Zip(b).All(p => p.First.Name == p.Second.Name
            && (p.First.Value.IsNumeric && p.Second.Value.IsNumeric
                ? p.First.Value.ToDouble() == p.Second.Value.ToDouble()
                : p.First.Value.Equals(p.Second.Value)));

    private static string Name(BsonDocument index) => index.GetValue("name", "").AsString;

    private static string Describe(BsonDocument index)
    {
        var shown = new BsonDocument { ["key"] = index.GetValue("key", new BsonDocument()) };
        foreach (var option in new[] { "unique", "expireAfterSeconds", "partialFilterExpression" })
        {
            if (index.TryGetValue(option, out var value))
            {
                shown[option] = value;
            }
        }

        return shown.ToJson();
    }
}
