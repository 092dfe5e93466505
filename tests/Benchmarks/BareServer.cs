using System.Diagnostics;
using Grpc.Core;
using Journey.Platform.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Journey.Benchmarks;

/// <summary>
/// The floor under every call: a grpc-dotnet server with one empty unary method and nothing else (no
/// interceptors, no authentication, no telemetry), on Kestrel with the host's listener settings
/// (HTTP/2 without TLS on loopback). It runs as its own process, as the platform host does, so the
/// two are compared on equal terms: the platform's empty call against it shows what the platform
/// adds to every call.
/// </summary>
public static class BareServer
{
    /// <summary>The argument that makes the benchmark executable serve as the bare server.</summary>
    public const string Argument = "--bare-server";

    /// <summary>Serves until stdin closes; prints <c>listening {address}</c> once ready.</summary>
    public static async Task<int> ServeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        await using var app = builder.Build();
        app.MapGrpcService<EmptyDiagnostics>();
        await app.StartAsync();
        Console.WriteLine("listening " + app.Urls.First());
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
        return 0;
    }

    /// <summary>Starts this executable as the bare server and returns it with its address.</summary>
    public static async Task<(Process Server, string Address)> StartAsync()
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!, Argument) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Clear();
            start.ArgumentList.Add(typeof(BareServer).Assembly.Location);
            start.ArgumentList.Add(Argument);
            start.Arguments = "";
        }

        var server = Process.Start(start) ?? throw new InvalidOperationException("The bare gRPC server did not start.");
        var line = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            server.Kill();
            throw new InvalidOperationException($"The bare gRPC server did not report its address (said: {line ?? "nothing"}).");
        }

        var address = line["listening ".Length..];
        return (server, address.StartsWith("http", StringComparison.Ordinal) ? address : "http://" + address);
    }

    /// <summary>Stops a server started by <see cref="StartAsync"/>.</summary>
    public static async Task StopAsync(Process server)
    {
        server.StandardInput.Close();
        if (!server.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            server.Kill();
        }

        await server.WaitForExitAsync();
        server.Dispose();
    }

    private sealed class EmptyDiagnostics : DiagnosticsService.DiagnosticsServiceBase
    {
        public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) => Task.FromResult(new PingResponse { Payload = request.Payload });
    }
}
