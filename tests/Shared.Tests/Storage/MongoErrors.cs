using System.Net;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// The driver's own exception types, built from the replies a MongoDB server sends (the driver
/// reads <c>errorLabels</c> from the reply as it does on the wire), so classification is tested
/// against what a server really produces.
/// </summary>
internal static class MongoErrors
{
    public static readonly ConnectionId Connection = new(new ServerId(new ClusterId(1), new DnsEndPoint("mongodb-0", 27017)));

    /// <summary>A write conflict inside a transaction: code 112, labelled TransientTransactionError.</summary>
    public static MongoCommandException WriteConflict() => Command("update", 112, "WriteConflict", "TransientTransactionError");

    /// <summary>A commit whose outcome the driver could not learn (a write concern timeout on commit).</summary>
    public static MongoCommandException UnknownCommitResult() => Command("commitTransaction", 64, "WriteConcernFailed", "UnknownTransactionCommitResult");

    /// <summary>A commit after which the server has no such transaction any more (after a failover).</summary>
    public static MongoCommandException NoSuchTransactionOnCommit() => Command("commitTransaction", 251, "NoSuchTransaction", "TransientTransactionError");

    /// <summary>The account lacks the privilege.</summary>
    public static MongoCommandException Unauthorized(string command) => Command(command, 13, "Unauthorized");

    /// <summary>A unique index whose build existing duplicates refuse.</summary>
    public static MongoCommandException IndexBuildDuplicateKey() => Command("createIndexes", 11000, "DuplicateKey");

    /// <summary>A duplicate key: no label, the adapter's own concern.</summary>
    public static MongoCommandException DuplicateKey() => Command("insert", 11000, "DuplicateKey");

    /// <summary>A connection lost in the middle of a transaction, which the driver labels TransientTransactionError.</summary>
    public static MongoConnectionException ConnectionLostInTransaction()
    {
        var exception = new MongoConnectionException(Connection, "An exception occurred while receiving a message from the server.");
        exception.AddErrorLabel("TransientTransactionError");
        return exception;
    }

    /// <summary>The server ran out of the commit's maxTimeMS: labelled UnknownTransactionCommitResult, but not to be retried.</summary>
    public static MongoExecutionTimeoutException CommitMaxTimeExpired()
    {
        var exception = new MongoExecutionTimeoutException(Connection, "operation exceeded time limit", new BsonDocument { ["ok"] = 0, ["code"] = 50, ["codeName"] = "MaxTimeMSExpired" });
        exception.AddErrorLabel("UnknownTransactionCommitResult");
        return exception;
    }

    private static MongoCommandException Command(string command, int code, string codeName, params string[] labels)
    {
        var reply = new BsonDocument { ["ok"] = 0, ["errmsg"] = codeName, ["code"] = code, ["codeName"] = codeName };
        if (labels.Length > 0)
        {
            reply["errorLabels"] = new BsonArray(labels);
        }

        return new MongoCommandException(Connection, $"Command {command} failed: {codeName}.", new BsonDocument(command, "c"), reply);
    }
}
