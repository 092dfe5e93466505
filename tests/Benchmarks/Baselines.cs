using Google.Protobuf;
using Grpc.Net.Client;
using Journey.Platform.V1;
using Microsoft.Data.Sqlite;

namespace Journey.Benchmarks;

/// <summary>The floors every figure is compared with, measured in the same run on the same host.</summary>
public sealed class Baselines
{
    public required Sample EmptyCallOneCaller { get; init; }

    public required Sample EmptyCallEightCallers { get; init; }

    public required double SqliteRowsPerSecond { get; init; }

    /// <summary>Measures the empty unary call (Ping: same authentication and interceptors as every call) and raw batched SQLite inserts.</summary>
    public static async Task<Baselines> MeasureAsync(GrpcChannel channel, Settings settings)
    {
        var client = new DiagnosticsService.DiagnosticsServiceClient(channel);
        var ping = new PingRequest { Payload = ByteString.Empty };
        // A first pass warms the host (JIT, tiered compilation, connection pools) so the baseline is not its cold start.
        await Measure.RunAsync(async _ => await client.PingAsync(ping), 8, settings.Warmup, settings.Warmup);
        var one = await Measure.RunAsync(async _ => await client.PingAsync(ping), 1, settings.Warmup, settings.Duration);
        var eight = await Measure.RunAsync(async _ => await client.PingAsync(ping), 8, settings.Warmup, settings.Duration);
        return new Baselines
        {
            EmptyCallOneCaller = one,
            EmptyCallEightCallers = eight,
            SqliteRowsPerSecond = RawSqliteInsertRate(settings.Scratch, rows: settings.Quick ? 20_000 : 200_000),
        };
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
