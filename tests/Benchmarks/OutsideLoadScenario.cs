using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Journey.Host;
using Journey.Platform.V1;
using Journey.Shared.Security;

namespace Journey.Benchmarks;

/// <summary>
/// The empty call driven by a load generator nobody here wrote: h2load (nghttp2) sends a pre-encoded
/// gRPC <c>Ping</c> frame over 8 cleartext HTTP/2 connections, one call at a time on each, first to the
/// bare gRPC server and then to the platform host with a development token. Its client costs far less
/// than a .NET one, so the figures show what the servers can do rather than what our client can.
/// h2load judges a call by its HTTP status, and gRPC answers a refused call with status 200 too, so
/// each run also checks that every response carried the echoed message, and the token is tried once
/// with our own client before the run.
/// </summary>
public sealed partial class OutsideLoadScenario : IScenario
{
    private const int Connections = 8;

    /// <summary>Echoed by <c>Ping</c>: a response that carries it was served, not refused.</summary>
    private static readonly ByteString Payload = ByteString.CopyFromUtf8("journey!");

    public string Name => "h2load";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var h2load = await H2LoadAsync();
        if (h2load is null)
        {
            return [new("h2load: empty unary call from an outside load generator", "not measured: h2load is not installed (Debian: apt-get install nghttp2-client)", "-", 0, "skipped", null)];
        }

        var calls = context.Settings.Quick ? 10_000 : 60_000;
        var frame = Path.Combine(context.Settings.Scratch, "ping.grpc");
        await File.WriteAllBytesAsync(frame, Frame(new PingRequest { Payload = Payload }));
        var token = DevelopmentIssuer.Open(context.Settings.Scratch, "journey-development", "journey").CreateToken("bench-h2load", [.. JourneyServices.Known.Scopes.All], TimeSpan.FromHours(1));
        var authorization = $"authorization: Bearer {token}";
        await new DiagnosticsService.DiagnosticsServiceClient(context.Channel).PingAsync(new PingRequest { Payload = Payload });

        var (server, address) = await BareServer.StartAsync();
        H2LoadRun bare;
        try
        {
            await RunAsync(h2load, address, frame, calls / 6, null);
            bare = await RunAsync(h2load, address, frame, calls, null);
        }
        finally
        {
            await BareServer.StopAsync(server);
        }

        await RunAsync(h2load, context.Host.Address, frame, calls / 6, authorization);
        var platform = await RunAsync(h2load, context.Host.Address, frame, calls, authorization);
        var share = platform.PerSecond / bare.PerSecond;
        return
        [
            new($"h2load: bare gRPC server, empty unary call, {Connections} connections, {calls:N0} calls", $"{Report.Rate(bare.PerSecond, "calls")}, mean {Report.Micros(bare.Mean)}", "itself", 1, "baseline", null),
            new($"h2load: platform Ping with a token, {Connections} connections, {calls:N0} calls", $"{Report.Rate(platform.PerSecond, "calls")}, mean {Report.Micros(platform.Mean)}",
                Report.Rate(bare.PerSecond, "bare calls"), share, "≥ 0.6×", share >= 0.6),
        ];
    }

    /// <summary>A gRPC message as it travels: not compressed, its length (big-endian), the message.</summary>
    internal static byte[] Frame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Reads h2load's summary; fails when a call went wrong or a response carried no message.</summary>
    internal static H2LoadRun Parse(string output, int calls, int responseFrameBytes)
    {
        var finished = FinishedPattern().Match(output);
        var requests = RequestsPattern().Match(output);
        var data = DataPattern().Match(output);
        var mean = MeanPattern().Match(output);
        if (!finished.Success || !requests.Success || !data.Success || !mean.Success)
        {
            throw new InvalidOperationException("h2load's output was not understood:\n" + output);
        }

        var succeeded = long.Parse(requests.Groups["succeeded"].Value, CultureInfo.InvariantCulture);
        var bytes = long.Parse(data.Groups["bytes"].Value, CultureInfo.InvariantCulture);
        if (succeeded != calls || bytes < (long)calls * responseFrameBytes)
        {
            throw new InvalidOperationException($"h2load: {succeeded:N0} of {calls:N0} calls succeeded and {bytes:N0} bytes of responses came back ({responseFrameBytes} expected for each): the server refused calls.\n{output}");
        }

        var unit = mean.Groups["unit"].Value;
        var value = double.Parse(mean.Groups["mean"].Value, CultureInfo.InvariantCulture);
        var meanTime = unit switch
        {
            "us" => TimeSpan.FromMicroseconds(value),
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            _ => throw new InvalidOperationException($"h2load reported a time in '{unit}'."),
        };
        return new H2LoadRun(double.Parse(finished.Groups["rate"].Value, CultureInfo.InvariantCulture), meanTime);
    }

    private static async Task<H2LoadRun> RunAsync(string h2load, string address, string frame, int calls, string? authorization)
    {
        var start = new ProcessStartInfo(h2load) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "-n", calls.ToString(CultureInfo.InvariantCulture), "-c", Connections.ToString(CultureInfo.InvariantCulture), "-m", "1",
            "-d", frame, "-H", "content-type: application/grpc", "-H", "te: trailers",
        })
        {
            start.ArgumentList.Add(argument);
        }

        if (authorization is not null)
        {
            start.ArgumentList.Add("-H");
            start.ArgumentList.Add(authorization);
        }

        start.ArgumentList.Add(address.TrimEnd('/') + "/" + DiagnosticsService.Descriptor.FullName + "/Ping");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("h2load did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await output + await errors;
        return process.ExitCode == 0
            ? Parse(text, calls, Frame(new PingResponse { Payload = Payload }).Length)
            : throw new InvalidOperationException($"h2load exited with {process.ExitCode}:\n{text}");
    }

    /// <summary>The h2load executable: on the path, or installed from Debian's nghttp2-client when this machine can; null otherwise.</summary>
    private static async Task<string?> H2LoadAsync()
    {
        if (Find("h2load") is { } found)
        {
            return found;
        }

        if (Find("apt-get") is { } apt && Environment.UserName == "root")
        {
            Console.WriteLine("  h2load not found; installing Debian's nghttp2-client ...");
            using var install = Process.Start(new ProcessStartInfo(apt, "install -y -q nghttp2-client") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (install is not null)
            {
                await install.StandardOutput.ReadToEndAsync();
                await install.StandardError.ReadToEndAsync();
                await install.WaitForExitAsync();
            }
        }

        return Find("h2load");
    }

    private static string? Find(string executable) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, executable))
            .FirstOrDefault(File.Exists);

    [GeneratedRegex(@"finished in [0-9.]+m?s, (?<rate>[0-9.]+) req/s")]
    private static partial Regex FinishedPattern();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded")]
    private static partial Regex RequestsPattern();

    [GeneratedRegex(@"\((?<bytes>\d+)\) data")]
    private static partial Regex DataPattern();

    [GeneratedRegex(@"time for request:\s+\S+\s+\S+\s+(?<mean>[0-9.]+)(?<unit>us|ms|s)\b")]
    private static partial Regex MeanPattern();
}

/// <summary>One h2load run: completed calls a second and their mean time.</summary>
internal sealed record H2LoadRun(double PerSecond, TimeSpan Mean);
