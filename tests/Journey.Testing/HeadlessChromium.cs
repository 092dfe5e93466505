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
    /// Opens <paramref name="url"/> and waits until the page sets <c>window.__result</c> (or runs the
    /// steps module <paramref name="steps"/>, which exports <c>async (page) =&gt; value</c>).
    /// </summary>
    public static async Task<BrowserVisit> VisitAsync(string url, TimeSpan? timeout = null, string? steps = null)
    {
        var executable = Executable ?? throw new InvalidOperationException(Missing);
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        List<string> arguments = [Visit, Tooling, executable, url, ((int)limit.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (steps is not null)
        {
            arguments.Add(steps);
        }

        var (exitCode, output) = await Command.RunAsync("node", Tooling, arguments, limit + TimeSpan.FromSeconds(30));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"the browser visit of {url} failed ({exitCode}): {output}");
        }

        var line = output.Split('\n').Last(l => l.StartsWith('{'));
        return JsonSerializer.Deserialize<BrowserVisit>(line, JsonOptions) ?? throw new InvalidOperationException(output);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

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
