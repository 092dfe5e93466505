using System.Globalization;
using MongoDB.Bson;

namespace Journey.Shared.Storage;

/// <summary>
/// One index a MongoDB adapter's queries or rules need. Adapters declare their indexes on
/// <see cref="MongoStore.Indexes"/> and never create them themselves: <see cref="MongoIndexSet"/>
/// brings the server in line in the background (docs/adr/0017-mongodb-index-lifecycle.md).
/// </summary>
/// <param name="Collection">The collection.</param>
/// <param name="Keys">The key pattern, e.g. <c>{ person_id: 1, occurred_at: -1 }</c>, with the stored field names.</param>
public sealed record MongoIndex(string Collection, BsonDocument Keys)
{
    /// <summary>The index name. Default: the name the server and the driver give the key pattern (<c>person_id_1_occurred_at_-1</c>).</summary>
    public string Name
    {
        get => field ?? DefaultName(Keys);
        init;
    }

    /// <summary>Whether two documents may not share a key.</summary>
    public bool Unique { get; init; }

    /// <summary>A TTL index: documents are removed this long after the date in the (single) key field. Whole seconds.</summary>
    public TimeSpan? ExpireAfter { get; init; }

    /// <summary>Only documents matching this filter are indexed; a query can use the index only when its filter implies this one.</summary>
    public BsonDocument? PartialFilter { get; init; }

    /// <summary><see cref="ExpireAfter"/> in whole seconds, as the server keeps it.</summary>
    public long? ExpireAfterSeconds => ExpireAfter is { } ttl ? (long)ttl.TotalSeconds : null;

    /// <summary>The index as the <c>createIndexes</c> command takes it.</summary>
    public BsonDocument ToSpecification()
    {
        var specification = new BsonDocument { ["key"] = Keys, ["name"] = Name };
        if (Unique)
        {
            specification["unique"] = true;
        }

        if (ExpireAfterSeconds is { } seconds)
        {
            specification["expireAfterSeconds"] = Seconds(seconds);
        }

        if (PartialFilter is not null)
        {
            specification["partialFilterExpression"] = PartialFilter;
        }

        return specification;
    }

    /// <summary>A number of seconds as the server's index commands take it (an int where it fits: <c>collMod</c> parses a safe int).</summary>
    internal static BsonValue Seconds(long seconds) => seconds is >= int.MinValue and <= int.MaxValue ? new BsonInt32((int)seconds) : new BsonInt64(seconds);

    /// <summary>
    /// The name MongoDB gives a key pattern when none is named: each field and its direction (or
    /// index type), joined by <c>_</c>. Indexes created before declarations existed carry these
    /// names, so a declaration without a name matches them.
    /// </summary>
    public static string DefaultName(BsonDocument keys) =>
        string.Join('_', keys.Select(e => e.Name.Replace(' ', '_') + "_" + e.Value.BsonType switch
        {
            BsonType.Int32 or BsonType.Int64 or BsonType.Double => e.Value.ToInt32().ToString(CultureInfo.InvariantCulture),
            BsonType.String => e.Value.AsString.Replace(' ', '_'),
            _ => "x",
        }));
}

/// <summary>An index a former version declared and this one no longer wants: dropped once every declared index exists.</summary>
/// <param name="Collection">The collection.</param>
/// <param name="Name">The index name.</param>
public sealed record RetiredMongoIndex(string Collection, string Name);
