namespace Journey.Shared.Storage;

/// <summary>
/// A MongoDB counter that many transactions add to at once, kept as up to <see cref="Count"/>
/// documents (shards) whose sum is the count. MongoDB aborts the second of two concurrent
/// transactions that write one document (WriteConflict, which the driver answers by running the whole
/// transaction again), so one document per counter serialises every writer; with the shards, a
/// transaction adds to one picked at random and clashes only with those that picked the same.
/// Readers sum the shards on the server.
/// </summary>
public static class MongoCounterShards
{
    /// <summary>How many shards a counter has at most.</summary>
    public const int Count = 16;

    /// <summary>What stands between a counter's key and its shard number in a shard's id.</summary>
    public const string Separator = "#";

    /// <summary>A shard, picked at random; pick again for each attempt of a transaction.</summary>
    public static int Pick() => Random.Shared.Next(Count);

    /// <summary>The document id of shard <paramref name="shard"/> of the counter <paramref name="key"/>.</summary>
    public static string Id(string key, int shard) => key + Separator + shard.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The document ids of every shard of the counter <paramref name="key"/>.</summary>
    public static IEnumerable<string> Ids(string key) => Enumerable.Range(0, Count).Select(shard => Id(key, shard));
}
