using Journey.Shared.Storage;

namespace Journey.Shared.Tests.Storage;

/// <summary>A call whose time runs out cancels its token mid-write: the effect and its outbox row must go together or not at all.</summary>
public sealed class CancelledWriteTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("journey-cancel-").FullName;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WriteAsync_WhenTokenCancelledBetweenEffectAndOutboxRowOrBeforeCommit_CommitsNeither(bool cancelBetween)
    {
        using var database = new SqliteDatabase(Path.Combine(_directory, "store.db"));
        database.Migrate([("1", "CREATE TABLE effects (id TEXT PRIMARY KEY); CREATE TABLE outbox (id TEXT PRIMARY KEY)")]);
        using var call = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => database.WriteAsync(async (connection, transaction, ct) =>
        {
            await TestRows.InsertAsync(connection, transaction, "effects", ct);
            if (cancelBetween)
            {
                await call.CancelAsync();
                ct.ThrowIfCancellationRequested();
            }

            await TestRows.InsertAsync(connection, transaction, "outbox", ct);
            await call.CancelAsync();
            return 0;
        }, call.Token));

        Assert.Equal(0, await TestRows.CountAsync(database, "effects"));
        Assert.Equal(0, await TestRows.CountAsync(database, "outbox"));
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }
}
