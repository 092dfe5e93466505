using Journey.Touchpoint.Tests.Grpc;

namespace Journey.Touchpoint.Tests;

/// <summary>The touchpoint store's writer keeps a larger page cache than the other stores' unless the configuration sets one for all.</summary>
public sealed class TouchpointStoreTests
{
    [Fact]
    public async Task Writer_ByDefault_Caches32MiB()
    {
        await using var host = await TouchpointHost.StartAsync();

        Assert.Equal(-32 * 1024, await WriterCacheSizeAsync(host));
    }

    [Fact]
    public async Task Writer_WhenTheCacheIsConfigured_TakesTheConfiguredSize()
    {
        await using var host = await TouchpointHost.StartAsync(new Dictionary<string, string?> { ["Journey:Storage:SqliteWriterCacheMiB"] = "4" });

        Assert.Equal(-4 * 1024, await WriterCacheSizeAsync(host));
    }

    private static Task<long> WriterCacheSizeAsync(TouchpointHost host) =>
        host.Database.WriteAsync(async (connection, transaction, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "PRAGMA cache_size";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, default);
}
