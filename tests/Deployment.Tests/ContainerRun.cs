using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Journey.Deployment.Tests;

/// <summary>How a started container ended up.</summary>
public enum ContainerOutcome
{
    /// <summary>It listened: configuration passed and the server is up.</summary>
    Listening,

    /// <summary>It refused its configuration ("Journey cannot start: …", exit code 2).</summary>
    StoppedAtValidation,

    /// <summary>It passed validation, then stopped preparing its MongoDB store, which is unreachable here.</summary>
    StoppedPreparingStore,

    /// <summary>Anything else: another crash, or no answer in time.</summary>
    Other,
}

/// <summary>
/// The application container of one rendered Deployment, run as the process the pod runs: the
/// image's entrypoint (<c>dotnet Journey.Host.dll</c>, the host built next to these tests) with the
/// container's <c>args</c>, and exactly the container's environment, except that it listens on
/// 127.0.0.1 on a free port, keeps its data in a scratch folder, and sends telemetry to a loopback
/// port where nothing listens, so that nothing leaves the machine.
/// </summary>
public sealed partial class ContainerRun
{
    // A guard against a hang, not a performance bound: a host starts in seconds, but on a loaded
    // two-core machine eight of them starting at once can take a minute.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private ContainerRun(string id, IReadOnlyList<string> overrides)
    {
        Id = id;
        Overrides = overrides;
    }

    /// <summary>The overlay and the Deployment, e.g. <c>k8s/overlays/prod Deployment/consent</c>.</summary>
    public string Id { get; }

    /// <summary>What was set differently from the render, as <c>NAME=value (rendered: value)</c>.</summary>
    public IReadOnlyList<string> Overrides { get; }

    /// <summary>The HTTP/1.1 listener's address when the container has one (<c>Journey__Hosting__HttpPort</c>), else null.</summary>
    public string? HttpAddress { get; private set; }

    /// <summary>The status code of <c>GET /healthz/live</c> over HTTP/1.1 on <see cref="HttpAddress"/>; null when not asked.</summary>
    public int? HttpLive { get; private set; }

    public ContainerOutcome Outcome { get; private set; }

    /// <summary>The <c>Journey cannot start:</c> line, or the exit code and last lines of the output.</summary>
    public string Detail { get; private set; } = "";

    public HealthCheckResponse.Types.ServingStatus? Live { get; private set; }

    public HealthCheckResponse.Types.ServingStatus? Ready { get; private set; }

    /// <summary>Why the host answered <c>ready</c> as it did: the readiness checks that failed, as the host logged them; empty when none was logged.</summary>
    public string ReadyDetail { get; private set; } = "";

    /// <summary>One line for the test output.</summary>
    public string Summary => Outcome switch
    {
        ContainerOutcome.Listening => $"{Id}: past configuration validation; health live {Status(Live)}, ready {Status(Ready)}"
            + (Ready == HealthCheckResponse.Types.ServingStatus.Serving ? "" : $" (expected here: no MongoDB or Dapr sidecar runs in this test; not ready: {ReadyDetail})"),
        ContainerOutcome.StoppedAtValidation => $"{Id}: refused its configuration: {Detail}",
        ContainerOutcome.StoppedPreparingStore => $"{Id}: past configuration validation, then stopped building its MongoDB store at start-up because the server is unreachable, before listening: {Detail}",
        _ => $"{Id}: {Detail}",
    };

    /// <summary>A port on 127.0.0.1 where nothing listens (taken from the system, then released).</summary>
    public static int UnreachablePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a rendered container's process (the image's entrypoint with the container's args).</summary>
    public static Task<ContainerRun> RunAsync(string id, JsonNode container, IReadOnlyDictionary<string, string> environment, string dataDirectory, int unreachablePort) =>
        container.Items("command").Any()
            ? throw new InvalidOperationException($"{id}: the container sets command, replacing the image's entrypoint (dotnet Journey.Host.dll); the test runs only the entrypoint with args")
            : RunAsync(id, [.. container.Items("args").Select(a => a.Str() ?? "")], environment, dataDirectory, unreachablePort);

    /// <summary>Starts Journey.Host.dll with <paramref name="arguments"/>, waits until it listens or exits, checks its health, and stops it.</summary>
    public static async Task<ContainerRun> RunAsync(string id, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string dataDirectory, int unreachablePort)
    {
        var env = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        var overrides = new List<string>();
        void Override(string name, string value, bool onlyIfRendered = false)
        {
            var rendered = env.TryGetValue(name, out var was) ? was : null;
            if (onlyIfRendered && rendered is null)
            {
                return;
            }

            env[name] = value;
            overrides.Add($"{name}={value} (rendered: {rendered ?? "unset"})");
        }

        Override("Journey__Hosting__Address", "127.0.0.1");
        Override("Journey__Hosting__Port", "0");
        if (env.TryGetValue("Journey__Hosting__HttpPort", out var httpPort) && httpPort.Length > 0)
        {
            Override("Journey__Hosting__HttpPort", "0");
        }

        Override("Journey__Storage__DataDirectory", dataDirectory);
        Override("OTEL_EXPORTER_OTLP_ENDPOINT", $"http://127.0.0.1:{unreachablePort}", onlyIfRendered: true);

        var run = new ContainerRun(id, overrides);
        var hostDirectory = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = hostDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(hostDirectory, "Journey.Host.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The pod's environment only, plus what the dotnet launcher itself needs to be found and run.
        var launcher = start.Environment.Where(e => e.Key is "PATH" or "HOME" or "DOTNET_ROOT" or "TMPDIR").ToList();
        start.Environment.Clear();
        foreach (var (name, value) in launcher.Concat(env.Select(e => KeyValuePair.Create(e.Key, (string?)e.Value))))
        {
            start.Environment[name] = value;
        }

        await run.StartAndProbeAsync(start);
        return run;
    }

    private async Task StartAndProbeAsync(ProcessStartInfo start)
    {
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (ListeningPattern().Match(line) is { Success: true } match)
            {
                HttpAddress = match.Groups[2].Success ? match.Groups[2].Value : null;
                listening.TrySetResult(match.Groups[1].Value);
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited, Task.Delay(StartTimeout));
            if (first == listening.Task)
            {
                Outcome = ContainerOutcome.Listening;
                using var channel = GrpcChannel.ForAddress(listening.Task.Result);
                var health = new Health.HealthClient(channel);
                Live = await CheckAsync(health, "live");
                Ready = await CheckAsync(health, "ready");
                if (HttpAddress is not null)
                {
                    using var http = new HttpClient { BaseAddress = new Uri(HttpAddress), Timeout = TimeSpan.FromSeconds(30) };
                    using var live = await http.GetAsync("/healthz/live");
                    HttpLive = (int)live.StatusCode;
                }

                if (Ready != HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    ReadyDetail = await ReadinessLogAsync(output, process);
                }

                return;
            }

            if (first == exited)
            {
                // The exit event can come before the last lines are read.
                process.WaitForExit();
            }

            var text = Text(output);
            var refusal = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
            (Outcome, Detail) = (first == exited, refusal, StoreUnreachablePattern().Match(text)) switch
            {
                (true, { } line, _) => (ContainerOutcome.StoppedAtValidation, $"{line} (exit code {process.ExitCode})"),
                (true, null, { Success: true } store) => (ContainerOutcome.StoppedPreparingStore, $"{store.Value} (exit code {process.ExitCode})"),
                (true, _, _) => (ContainerOutcome.Other, $"exited with code {process.ExitCode} before listening:{Environment.NewLine}{Tail(text)}"),
                _ => (ContainerOutcome.Other, $"neither listened nor exited within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{Tail(text)}"),
            };
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    /// <summary>
    /// The message of the host's log line for the failed readiness round it answered from (the
    /// console logger writes from a queue, so the line may follow the answer by a moment).
    /// </summary>
    private static async Task<string> ReadinessLogAsync(StringBuilder output, Process process)
    {
        var giveUp = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (ReadinessPattern().Match(Text(output)) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }

            if (process.HasExited || DateTime.UtcNow > giveUp)
            {
                return "";
            }

            await Task.Delay(100);
        }
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> CheckAsync(Health.HealthClient health, string service)
    {
        // Each call may take longer than the store check's server selection (5 s) and the sidecar
        // check's deadline; the first calls of a fresh process on a loaded machine also wait for
        // the JIT, so an unanswered call is tried again for up to a minute.
        var giveUp = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return (await health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(15))).Status;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Unavailable && DateTime.UtcNow < giveUp)
            {
            }
            catch (RpcException)
            {
                return HealthCheckResponse.Types.ServingStatus.Unknown;
            }
        }
    }

    private static string Status(HealthCheckResponse.Types.ServingStatus? status) => status switch
    {
        HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
        HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
        null => "not checked",
        _ => "no answer",
    };

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static string Tail(string text) => string.Join(Environment.NewLine, text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).TakeLast(15));

    // Logged by the health check service for every failed round of the readiness monitor's check.
    [GeneratedRegex(@"Health check ready:stores-and-bus with status Unhealthy completed after [0-9.]+ms with message '([^']*)'")]
    private static partial Regex ReadinessPattern();

    [GeneratedRegex(@"Journey listening on (http://[0-9.]+:[0-9]+)(?:, (http://[0-9.]+:[0-9]+))?")]
    private static partial Regex ListeningPattern();

    // The MongoDB driver's server-selection failure (no reachable member within the timeout).
    [GeneratedRegex(@"System\.TimeoutException: A timeout occurred after \d+ms selecting a server")]
    private static partial Regex StoreUnreachablePattern();
}
