using System.Text;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Shared.Tests.Events;
using Journey.Testing;
using Microsoft.Data.Sqlite;

namespace Journey.Shared.Tests.Storage;

/// <summary>
/// What a deletion leaves on disk: with <c>secure_delete</c> a deleted row's bytes are overwritten in
/// the file, and a write that asks for a scrub empties the write-ahead log, which still held older
/// images of the row's pages. Read byte for byte from the database, its -wal and its -shm.
/// </summary>
public sealed class ErasedBytesTests : IDisposable
{
    private const string Secret = "person-4711@example.org";
    private static readonly Dictionary<string, byte[]> Needles = new() { ["the deleted value"] = Encoding.UTF8.GetBytes(Secret) };

    private readonly TemporarySqlite _sqlite = new("store");

    public ErasedBytesTests()
    {
        _sqlite.Database.Migrate([("1", "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")]);
    }

    private SqliteDatabase Database => _sqlite.Database;

    [Fact]
    public async Task WriteAsync_WhenADeleteRequestsAScrub_LeavesTheValueInNoFile()
    {
        await InsertAsync();
        Assert.NotEmpty(Find());

        await DeleteAsync(scrub: true);

        Assert.Empty(Find());
        Assert.False(Database.ScrubPending);
    }

    [Fact]
    public async Task WriteAsync_WhenADeleteIsCheckpointed_HasOverwrittenTheRowInTheFile()
    {
        await InsertAsync();
        await DeleteAsync(scrub: false);

        await using var connection = await Database.OpenConnectionAsync(CancellationToken.None);
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await checkpoint.ExecuteNonQueryAsync();

        Assert.Empty(Find());
    }

    [Fact]
    public async Task Scrub_WhenAReaderHoldsTheLog_HappensOnceTheReaderHasFinished()
    {
        await InsertAsync();
        var reader = await Database.OpenConnectionAsync(CancellationToken.None);
        var snapshot = reader.BeginTransaction(deferred: true);
        await using (var read = reader.CreateCommand())
        {
            read.Transaction = snapshot;
            read.CommandText = "SELECT COUNT(*) FROM rows";
            Assert.Equal(21L, await read.ExecuteScalarAsync());
        }

        await DeleteAsync(scrub: true);
        Assert.True(Database.ScrubPending, "the reader's snapshot should have held the log");
        snapshot.Dispose();
        await reader.DisposeAsync();

        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(!Database.ScrubPending), TimeSpan.FromSeconds(10)), "the scrub was not tried again");
        Assert.Empty(Find());
    }

    [Fact]
    public async Task Relay_WhenItHasSentAnErasureRequest_LeavesTheEnvelopeInNoFile()
    {
        Database.Migrate([("outbox", SqliteOutbox.Schema)]);
        var outbox = new SqliteOutbox("consent", Database);
        await TestPipeline.AppendAsync(Database, EventEnvelopes.Create(Topics.ErasureRequested, "consent", new Google.Protobuf.WellKnownTypes.StringValue { Value = Secret }, DateTimeOffset.UtcNow));
        Assert.NotEmpty(Find());

        await outbox.MarkSentAsync(await outbox.ReadDueAsync(10, DateTimeOffset.MaxValue, default), default);

        Assert.Empty(Find());
    }

    public void Dispose() => _sqlite.Dispose();

    private List<string> Find() => StoredBytes.Find(StoredBytes.FilesOf(Database.Path), Needles);

    private Task<int> InsertAsync() =>
        Database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO rows (body) VALUES ($body)";
            var body = insert.Parameters.Add("$body", SqliteType.Text);
            // Neighbours on the same pages, which stay: only the secret's bytes must go.
            for (var i = 0; i < 20; i++)
            {
                body.Value = $"neighbour {i} " + new string('x', 100);
                await insert.ExecuteNonQueryAsync(ct);
            }

            body.Value = Secret;
            return await insert.ExecuteNonQueryAsync(ct);
        }, CancellationToken.None);

    private Task<int> DeleteAsync(bool scrub) =>
        Database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM rows WHERE body = $body";
            delete.Parameters.AddWithValue("$body", Secret);
            if (scrub)
            {
                Database.RequestScrub();
            }

            return await delete.ExecuteNonQueryAsync(ct);
        }, CancellationToken.None);
}
