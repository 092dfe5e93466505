using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Journey.Shared.Security;

namespace Journey.Testing;

/// <summary>
/// The platform host as a separate OS process, started the way an operator starts it, so tests can
/// kill it (SIGKILL) and start it again on the same data directory, and benchmarks measure it from
/// outside. Needs Journey.Host.dll next to the calling assembly (reference services/Host), or in
/// <see cref="HostDirectory"/>.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    /// <summary>
    /// Where Journey.Host.dll is started from: the calling assembly's folder unless a caller (the
    /// benchmarks) points it at a published build.
    /// </summary>
    public static string HostDirectory { get; set; } = AppContext.BaseDirectory;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(Process process)
    {
        _process = process;
    }

    public string Address => _address.Task.Result;

    /// <summary>The HTTP/1.1 listener's address (the tracking API and <c>/healthz</c>), once listening.</summary>
    public string HttpAddress { get; private set; } = "";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A channel without a token.</summary>
    public GrpcChannel CreateChannel() => GrpcChannel.ForAddress(Address);

    /// <summary>A channel whose calls carry a development token with <paramref name="scopes"/>, signed with the key in <paramref name="dataDirectory"/>.</summary>
    public GrpcChannel CreateChannel(string dataDirectory, params string[] scopes) =>
        TestPlatform.ChannelWithToken(Address, DevelopmentIssuer.Open(dataDirectory, "journey-development", "journey").CreateToken("host-test", scopes, TimeSpan.FromHours(8)));

    /// <summary>The process's current working set, in bytes.</summary>
    public long WorkingSetBytes
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>CPU time the process has used so far, user and kernel, on all its threads.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// Waits until the process has used less than <paramref name="coreShare"/> of one core over a whole
    /// second (what it still had to do in the background, such as the events of a bulk load, is done),
    /// or until <paramref name="timeout"/>; returns how long it waited and whether it got quiet.
    /// </summary>
    public async Task<(TimeSpan Waited, bool Quiet)> WaitUntilQuietAsync(double coreShare, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var window = TimeSpan.FromSeconds(1);
        while (clock.Elapsed < timeout)
        {
            _process.Refresh();
            var before = _process.TotalProcessorTime;
            await Task.Delay(window);
            _process.Refresh();
            if ((_process.TotalProcessorTime - before) / window < coreShare)
            {
                return (clock.Elapsed, true);
            }
        }

        return (clock.Elapsed, false);
    }

    /// <summary>
    /// How often an idle host's relays and dispatchers look for unannounced work: 50 ms, so tests that
    /// restart a host do not wait a second for it; null leaves the shipped default (the benchmarks,
    /// which measure the host as it is deployed).
    /// </summary>
    public static TimeSpan? PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Starts Journey.Host.dll from <see cref="HostDirectory"/> with <paramref name="arguments"/>.</summary>
    public static HostProcess Start(string dataDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = HostDirectory,
        };
        start.ArgumentList.Add(Path.Combine(HostDirectory, "Journey.Host.dll"));
        start.ArgumentList.Add("--Journey:Hosting:Port=0");
        start.ArgumentList.Add("--Journey:Hosting:HttpPort=0");
        start.ArgumentList.Add($"--Journey:Storage:DataDirectory={dataDirectory}");
        if (PollInterval is { } poll)
        {
            start.ArgumentList.Add($"--Journey:Events:PollInterval={poll:c}");
        }

        // Tests bring their own data; a test that wants the demo set passes --Journey:Demo:Enabled=true after this.
        start.ArgumentList.Add("--Journey:Demo:Enabled=false");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.Exited += (_, _) => host._address.TrySetException(new InvalidOperationException("The host exited before listening:\n" + host.Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits until the host prints its address.</summary>
    public async Task<string> WaitUntilListeningAsync() => await _address.Task.WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the process at once, as SIGKILL does: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        var match = ListeningPattern().Match(line);
        if (match.Success)
        {
            HttpAddress = match.Groups[2].Value;
            _address.TrySetResult(match.Groups[1].Value);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Journey listening on (http://[0-9.]+:[0-9]+)(?:, (http://[0-9.]+:[0-9]+))?")]
    private static partial Regex ListeningPattern();
}
