using Journey.Touchpoint.Tests.Grpc;

namespace Journey.Touchpoint.Tests;

/// <summary>
/// The touchpoint store's writer keeps a larger page cache than the other stores' unless the
/// configuration sets one for all; that the writer really opens with it is SqliteDatabase's own test.
/// </summary>
public sealed class TouchpointStoreTests
{
    [Fact]
    public async Task Writer_ByDefault_Caches32MiB()
    {
        await using var host = await TouchpointHost.StartAsync();

        Assert.Equal(32, host.Database.WriterCacheMiB);
    }

    [Fact]
    public async Task Writer_WhenTheCacheIsConfigured_TakesTheConfiguredSize()
    {
        await using var host = await TouchpointHost.StartAsync(new Dictionary<string, string?> { ["Journey:Storage:SqliteWriterCacheMiB"] = "4" });

        Assert.Equal(4, host.Database.WriterCacheMiB);
    }
}
