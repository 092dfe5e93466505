using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Journey.Testing;
using Xunit.Abstractions;

namespace Journey.Host.Tests;

/// <summary>
/// The README's "Calling it" section is executable: every command of its code blocks runs, as
/// written, in one bash session from the repository root against a fresh host with the demo data.
/// The only substitutions: the test host's address for <c>127.0.0.1:5080</c>, and the data
/// directory, given to the README's own <c>dotnet run … token</c> line through the environment
/// (<c>Journey__Storage__DataDirectory</c>), so the token is signed with the test host's key.
/// </summary>
public sealed partial class ReadmeCallingTests(ITestOutputHelper log)
{
    private const string ReadmeAddress = "127.0.0.1:5080";

    [Fact]
    public async Task CallingIt_OnAFreshHostWithTheDemoData_EveryCommandSucceedsAsWritten()
    {
        var commands = CallingItCommands(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md")));
        Assert.Contains(commands, c => c.StartsWith("TOKEN=", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains("--list-services", StringComparison.Ordinal));
        Assert.Contains(commands, c => c.Contains(ReadmeAddress + "/journey.", StringComparison.Ordinal));

        using var scratch = new ScratchDirectory("journey-readme-");
        await using var host = HostProcess.Start(scratch.Path, "--Journey:Demo:Enabled=true");
        var ready = DemoLoadedAsync(host, scratch.Path);
        await using var shell = Shell.Start(Repository.Root, new Dictionary<string, string>
        {
            ["Journey__Storage__DataDirectory"] = scratch.Path,
            // The README's `dotnet run` then checks the build under test instead of compiling another configuration.
            ["Configuration"] = typeof(ReadmeCallingTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug",
        });

        var clock = Stopwatch.StartNew();
        foreach (var command in commands)
        {
            string? address = null;
            if (command.Contains(ReadmeAddress, StringComparison.Ordinal))
            {
                // The token line runs while the host starts; a call waits until it listens and the demo data is in.
                address = new Uri(await ready).Authority;
            }

            var run = address is null ? command : command.Replace(ReadmeAddress, address, StringComparison.Ordinal);
            var (exitCode, output, attempts) = await RunUntilFoundAsync(shell, run);
            log.WriteLine($"[{clock.Elapsed.TotalSeconds:0.0} s] exit {exitCode} after {attempts} attempt(s): {run}");

            Assert.True(exitCode == 0, $"README command failed with exit code {exitCode}:\n{run}\n{output}\nHost:\n{host.Output}");
            AssertSensible(command, output);
        }
    }

    [Fact]
    public void SplitCommands_WhenQuotesSubstitutionsAndBackslashesSpanLines_KeepsEachCommandWhole()
    {
        const string code = """
            # a comment
            TOKEN=$(tool --scopes "a b
              c")

            x=1
            call -H "h: $TOKEN" \
              -d '{"a":1,
                   "t":"'$(date -u +%Y)'"}' \
              http://host/s/M
            """;

        var commands = SplitCommands(code + "\n");

        string[] expected =
        [
            "TOKEN=$(tool --scopes \"a b\n  c\")",
            "x=1",
            "call -H \"h: $TOKEN\" \\\n  -d '{\"a\":1,\n       \"t\":\"'$(date -u +%Y)'\"}' \\\n  http://host/s/M",
        ];
        Assert.Equal(expected, commands);
    }

    /// <summary>
    /// Runs <paramref name="command"/>; while it answers NOT_FOUND, runs it again for up to 15 s. A
    /// profile is built from the event of the interaction recorded just before, a moment after the
    /// call that recorded it returned (the README says so); a command that is wrong keeps failing.
    /// </summary>
    private static async Task<(int ExitCode, string Output, int Attempts)> RunUntilFoundAsync(Shell shell, string command)
    {
        var deadline = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            var (exitCode, output) = await shell.RunAsync(command);
            if (exitCode == 0 || !output.Contains("\"not_found\"", StringComparison.Ordinal) || deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                return (exitCode, output, attempt);
            }

            await Task.Delay(100);
        }
    }

    private static void AssertSensible(string command, string output)
    {
        if (command.Contains("--list-services", StringComparison.Ordinal))
        {
            var listed = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] expected =
            [
                Journey.Touchpoint.V1.TouchpointService.Descriptor.FullName,
                Journey.Touchpoint.V1.TrackingSourceService.Descriptor.FullName,
                Journey.Profile.V1.ProfileService.Descriptor.FullName,
                Journey.Consent.V1.ConsentService.Descriptor.FullName,
                Journey.Recommendation.V1.RecommendationService.Descriptor.FullName,
                Journey.Platform.V1.AuditService.Descriptor.FullName,
                Journey.Platform.V1.DeadLetterService.Descriptor.FullName,
                Journey.Platform.V1.DiagnosticsService.Descriptor.FullName,
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            ];
            Assert.Equal(expected.Order(), listed.Order());
            return;
        }

        var method = MethodPattern().Match(command);
        if (!method.Success)
        {
            return;
        }

        using var reply = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Object, reply.RootElement.ValueKind);
        switch (method.Groups["method"].Value)
        {
            case "ListTouchpoints":
                Assert.NotEqual(0, reply.RootElement.GetProperty("touchpoints").GetArrayLength());
                break;
            case "RecordInteraction":
                // A first recording: the reply's only field, duplicate, keeps its default and JSON leaves it out.
                Assert.False(reply.RootElement.TryGetProperty("duplicate", out var duplicate) && duplicate.GetBoolean(), output);
                break;
            case "LookupProfile":
                Assert.StartsWith("profiles/", reply.RootElement.GetProperty("profile").GetProperty("name").GetString());
                break;
            default:
                break;
        }
    }

    /// <summary>The commands of the code blocks in the README's "Calling it" section, in order, each as written (continuation lines included).</summary>
    internal static List<string> CallingItCommands(string readme)
    {
        var section = SectionPattern().Match(readme);
        Assert.True(section.Success, "README.md has no \"## Calling it\" section");
        var commands = new List<string>();
        foreach (Match block in CodeBlockPattern().Matches(section.Groups["body"].Value))
        {
            commands.AddRange(SplitCommands(block.Groups["code"].Value));
        }

        return commands;
    }

    /// <summary>
    /// Splits shell text into its top-level commands: a line ends a command unless a quote or a
    /// <c>$( … )</c> is still open or the line ends with a backslash. Blank and comment lines are skipped.
    /// </summary>
    internal static List<string> SplitCommands(string code)
    {
        var commands = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var depth = 0;
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (quote is null && current.Length == 0 && (char.IsWhiteSpace(c) || c == '#'))
            {
                if (c == '#')
                {
                    while (i < code.Length && code[i] != '\n')
                    {
                        i++;
                    }
                }

                continue;
            }

            if (c == '\n' && quote is null && depth == 0)
            {
                commands.Add(current.ToString().TrimEnd());
                current.Clear();
                continue;
            }

            current.Append(c);
            if (c == '\\' && quote != '\'' && i + 1 < code.Length)
            {
                current.Append(code[++i]);
            }
            else if (quote is null && c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == quote)
            {
                quote = null;
            }
            else if (quote is null && c == '(')
            {
                depth++;
            }
            else if (quote is null && c == ')')
            {
                depth--;
            }
        }

        Assert.True(quote is null && depth == 0, $"An unterminated command in the README:\n{current}");
        if (current.Length > 0)
        {
            commands.Add(current.ToString().TrimEnd());
        }

        return commands;
    }

    private static async Task<string> DemoLoadedAsync(HostProcess host, string dataDirectory)
    {
        var address = await host.WaitUntilListeningAsync();
        var marker = Path.Combine(dataDirectory, "demo-data.loaded");
        // The host logs when it gives up on the demo data; no need to wait out the timeout then.
        await TestPlatform.EventuallyAsync(() => Task.FromResult(File.Exists(marker) || host.Output.Contains("Demo data not loaded", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        Assert.True(File.Exists(marker), "The demo data did not load:\n" + host.Output);
        return address;
    }

    [GeneratedRegex(@"^## Calling it\s*\n(?<body>.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex SectionPattern();

    [GeneratedRegex(@"^```(?:sh|bash|shell)\s*\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlockPattern();

    [GeneratedRegex(@"/(?<service>journey\.[a-z0-9_.]+\.[A-Za-z0-9]+)/(?<method>[A-Za-z0-9]+)\b")]
    private static partial Regex MethodPattern();

    /// <summary>One bash session fed one command at a time, so variables the README sets carry to the commands after it.</summary>
    private sealed class Shell : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _marker = $"@@readme-step-{Guid.NewGuid():N}";

        private Shell(Process process) => _process = process;

        public static Shell Start(string workingDirectory, IReadOnlyDictionary<string, string> environment)
        {
            var start = new ProcessStartInfo("bash")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add("--noprofile");
            start.ArgumentList.Add("--norc");
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
            process.StandardInput.AutoFlush = true;
            // One stream, so a command's errors appear next to its output.
            process.StandardInput.WriteLine("exec 2>&1");
            return new Shell(process);
        }

        /// <summary>Runs one command (stdin closed, as when pasted) and returns its exit code and output, or fails after 3 minutes.</summary>
        public async Task<(int ExitCode, string Output)> RunAsync(string command)
        {
            await _process.StandardInput.WriteAsync($"{{ {command}\n}} </dev/null; printf '\\n{_marker} %d\\n' $?\n");
            var output = new StringBuilder();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            while (true)
            {
                string? line;
                try
                {
                    line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"README command did not finish within 3 minutes:\n{command}\n{output}");
                }

                if (line is null)
                {
                    throw new InvalidOperationException($"bash ended during a README command:\n{command}\n{output}");
                }

                if (line.StartsWith(_marker, StringComparison.Ordinal))
                {
                    return (int.Parse(line[(_marker.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture), output.ToString().Trim());
                }

                output.AppendLine(line);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
