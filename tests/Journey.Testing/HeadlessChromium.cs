using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Xunit;

namespace Journey.Testing;

/// <summary>
/// Drives the system's Chromium (Debian's <c>chromium</c> package) headless through puppeteer-core from
/// tests/tooling: opens a page and returns what the page reported and what the browser saw. Tests
/// that need it call <see cref="Require"/>, which skips them with the reason when no Chromium is
/// installed, so a green run never hides that the browser was not tested.
/// </summary>
public static class HeadlessChromium
{
    /// <summary>Names a Chromium executable to use instead of searching PATH.</summary>
    public const string Variable = "JOURNEY_TEST_CHROMIUM";

    private static readonly string Tooling = Path.Combine(Repository.Root, "tests", "tooling");
    private static readonly string Visit = Path.Combine(Repository.Root, "tests", "Journey.Testing", "Browser", "visit.cjs");

    /// <summary>The Chromium executable, or null when there is none.</summary>
    public static string? Executable { get; } = Find();

    /// <summary>Why browser tests cannot run here, or null when they can.</summary>
    public static string? Missing => Executable is null
        ? $"Chromium was not found (looked for chromium, chromium-browser and google-chrome on PATH, and {Variable}): install Debian's chromium package (apt-get install chromium) to run the browser tests."
        : null;

    /// <summary>Skips the running test (a [SkippableFact]) with the reason when Chromium is missing.</summary>
    public static void Require() => Skip.If(Missing is not null, Missing);

    /// <summary>
    /// Opens <paramref name="url"/>, waits until the page sets <c>window.__result</c> (or runs the
    /// steps module <paramref name="steps"/>, which exports <c>async (page) =&gt; value</c>) and its
    /// requests are answered, and closes it. <paramref name="environment"/> is added to the visit's own
    /// process only (settings for a steps module), never to this one, which other tests share.
    /// </summary>
    public static async Task<BrowserVisit> VisitAsync(string url, TimeSpan? timeout = null, string? steps = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var page = Open(url, timeout, steps, environment);
        return await page.CloseAsync();
    }

    /// <summary>
    /// Opens <paramref name="url"/> and leaves it open, with whatever it runs in the background, until
    /// <see cref="BrowserPage.CloseAsync"/>; the test meanwhile waits for what the page should cause.
    /// </summary>
    public static BrowserPage Open(string url, TimeSpan? timeout = null, string? steps = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var executable = Executable ?? throw new InvalidOperationException(Missing);
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Tooling,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in new[] { Visit, Tooling, executable, url, ((int)limit.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), steps })
        {
            if (argument is not null)
            {
                start.ArgumentList.Add(argument);
            }
        }

        return new BrowserPage(Process.Start(start) ?? throw new InvalidOperationException("node did not start"), url, limit);
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return (from name in new[] { "chromium", "chromium-browser", "google-chrome" }
                from directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                let candidate = Path.Combine(directory, name)
                where File.Exists(candidate)
                select candidate).FirstOrDefault();
    }
}

/// <summary>A page open in headless Chromium; closing it reports what it did.</summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly Process _process;
    private readonly string _url;
    private readonly TimeSpan _timeout;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    internal BrowserPage(Process process, string url, TimeSpan timeout)
    {
        _process = process;
        _url = url;
        _timeout = timeout;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>
    /// Waits until the page has reported and its requests are answered, closes it and returns the
    /// report; throws with the driver's output when the page never reported.
    /// </summary>
    public async Task<BrowserVisit> CloseAsync()
    {
        _process.StandardInput.Close();
        using var expiry = new CancellationTokenSource(_timeout + TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(expiry.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the browser visit of {_url} did not finish within {_timeout.TotalSeconds:0} s");
        }

        var output = await _stdout + await _stderr;
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the browser visit of {_url} failed ({_process.ExitCode}): {output}");
        }

        var line = output.Split('\n').Last(l => l.StartsWith('{'));
        return JsonSerializer.Deserialize<BrowserVisit>(line, JsonOptions) ?? throw new InvalidOperationException(output);
    }

    /// <summary>Ends the browser if it still runs (a test that failed before closing it).</summary>
    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>What one browser visit produced.</summary>
/// <param name="Result">What the page (or the steps module) reported.</param>
/// <param name="Console">The page's console lines, as <c>type: text</c>.</param>
/// <param name="Errors">Uncaught errors of the page.</param>
/// <param name="Requests">Every request the page made, in order.</param>
public sealed record BrowserVisit(JsonElement Result, IReadOnlyList<string> Console, IReadOnlyList<string> Errors, IReadOnlyList<BrowserRequest> Requests)
{
    /// <summary>Everything but the result, for an assertion's message.</summary>
    public override string ToString() =>
        $"result: {Result}\nerrors: {string.Join("\n  ", Errors)}\nconsole: {string.Join("\n  ", Console)}\nrequests:\n  {string.Join("\n  ", Requests)}";
}

/// <summary>A request the page made, as the browser saw it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Url">The URL.</param>
/// <param name="ContentType">The request's Content-Type, if any.</param>
/// <param name="Status">The answer's status; null when it failed.</param>
/// <param name="Failure">Why it failed (a network or CORS error), or null.</param>
public sealed record BrowserRequest(string Method, string Url, string? ContentType, int? Status, string? Failure)
{
    /// <summary>Whether it went to a loopback address (tests run offline).</summary>
    [JsonIgnore]
    public bool IsLoopback => Uri.TryCreate(Url, UriKind.Absolute, out var uri) && (uri.Scheme is "data" or "blob" || uri.IsLoopback);
}
