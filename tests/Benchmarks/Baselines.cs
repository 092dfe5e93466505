using Google.Protobuf;
using Grpc.Net.Client;
using Journey.Platform.V1;
using Journey.Testing;
using Microsoft.Data.Sqlite;

namespace Journey.Benchmarks;

/// <summary>The floors every figure is compared with, measured in the same run on the same host.</summary>
public sealed class Baselines
{
    public required Sample EmptyCallOneCaller { get; init; }

    public required Sample EmptyCallEightCallers { get; init; }

    public required double SqliteRowsPerSecond { get; init; }

    /// <summary>The empty call on <see cref="BareServer"/>, 8 callers: what gRPC on Kestrel costs with nothing of the platform.</summary>
    public required Sample BareCallEightCallers { get; init; }

    /// <summary>
    /// The empty call, 8 callers, on a second platform host with authentication off and the same
    /// services on empty stores: what checking the token costs, against <see cref="EmptyCallEightCallers"/>.
    /// </summary>
    public required Sample UnauthenticatedCallEightCallers { get; init; }

    /// <summary>
    /// Measures the empty unary call (Ping: same authentication and interceptors as every call), the
    /// same call on a bare gRPC server and on a platform host without authentication, and raw batched
    /// SQLite inserts. Every channel carries the same token, added the same way, so the client does the
    /// same work for each server and the differences are the servers'.
    /// </summary>
    public static async Task<Baselines> MeasureAsync(GrpcChannel channel, string token, IReadOnlyList<string> hostArguments, Settings settings)
    {
        await WarmUpAsync(channel, settings);
        var (server, bareAddress) = await BareServer.StartAsync();
        Sample bareEight;
        try
        {
            using var bare = TestPlatform.ChannelWithToken(bareAddress, token);
            await WarmUpAsync(bare, settings);
            bareEight = await EmptyCallAsync(bare, settings, callers: 8);
        }
        finally
        {
            await BareServer.StopAsync(server);
        }

        Sample unauthenticatedEight;
        var open = Path.Combine(settings.Scratch, "unauthenticated");
        Directory.CreateDirectory(open);
        await using (var host = HostProcess.Start(open, [.. hostArguments, "--Journey:Auth:Enabled=false"]))
        {
            await host.WaitUntilListeningAsync();
            await host.WaitUntilQuietAsync(coreShare: 0.15, TimeSpan.FromSeconds(30));
            using var unauthenticated = TestPlatform.ChannelWithToken(host.Address, token);
            await WarmUpAsync(unauthenticated, settings);
            unauthenticatedEight = await EmptyCallAsync(unauthenticated, settings, callers: 8);
        }

        return new Baselines
        {
            EmptyCallOneCaller = await EmptyCallAsync(channel, settings, callers: 1),
            EmptyCallEightCallers = await EmptyCallAsync(channel, settings, callers: 8),
            BareCallEightCallers = bareEight,
            UnauthenticatedCallEightCallers = unauthenticatedEight,
            SqliteRowsPerSecond = RawSqliteInsertRate(settings.Scratch, rows: settings.Quick ? 20_000 : 200_000),
        };
    }

    /// <summary>A first pass of empty calls, so a host's baseline is not its cold start (JIT, tiered compilation, connection pools).</summary>
    public static Task WarmUpAsync(GrpcChannel channel, Settings settings) => Measure.RunAsync(Ping(channel), 8, settings.Warmup, settings.Warmup);

    /// <summary>The empty call from <paramref name="callers"/> concurrent callers.</summary>
    public static Task<Sample> EmptyCallAsync(GrpcChannel channel, Settings settings, int callers) =>
        Measure.RunAsync(Ping(channel), callers, settings.Warmup, settings.Duration);

    private static Func<int, Task> Ping(GrpcChannel channel)
    {
        var client = new DiagnosticsService.DiagnosticsServiceClient(channel);
        var ping = new PingRequest { Payload = ByteString.Empty };
        return async _ => await client.PingAsync(ping);
    }

    /// <summary>
    /// Rows of about 190 bytes with a random text key, 1000 per transaction, WAL and synchronous=NORMAL:
    /// what SQLite itself does on this disk, the ceiling for any ingest path built on it.
    /// </summary>
    public static double RawSqliteInsertRate(string folder, int rows)
    {
        var path = Path.Combine(folder, "baseline.db");
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;";
            setup.ExecuteNonQuery();
        }

        var body = new string('x', 150);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var written = 0; written < rows; written += 1000)
        {
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO t (id, body) VALUES ($id, $body)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            insert.Parameters.AddWithValue("$body", body);
            for (var i = 0; i < 1000; i++)
            {
                id.Value = Guid.NewGuid().ToString();
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return rows / clock.Elapsed.TotalSeconds;
    }
}
