using Journey.Benchmarks;
using Journey.Host;
using Journey.Shared.Security;
using Journey.Testing;

if (args is [BareServer.Argument])
{
    return await BareServer.ServeAsync();
}

var settings = Settings.Parse(args);
// Every host runs with the shipped settings except the write limits below: the idle poll too.
HostProcess.PollInterval = null;
// Declared before the host so that it is disposed after the host has stopped.
using var scratch = settings.KeepData ? null : settings.ScratchDirectory;
var run = System.Diagnostics.Stopwatch.StartNew();
Console.WriteLine($"Journey benchmarks: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {(settings.Quick ? "quick" : "full")} run, data in {settings.Scratch}{(settings.KeepData ? " (kept)" : " (deleted at the end)")}");
if (settings.JitHost)
{
    Console.WriteLine("host: the build output, JIT only (--jit-host)");
}
else
{
    HostProcess.HostDirectory = Path.Combine(settings.Scratch, "host");
    var (runtime, took) = await PublishedHost.PublishAsync(HostProcess.HostDirectory);
    Console.WriteLine($"host: published ReadyToRun for {runtime} in {took.TotalSeconds:0} s, as the image is built");
}

string[] hostArguments = ["--Journey:Limits:WriteCallsPerSecond=1000000", "--Journey:Limits:WriteBurst=1000000", "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Journey.Host=Information"];
await using var host = HostProcess.Start(settings.Scratch, hostArguments);
await host.WaitUntilListeningAsync();
var token = DevelopmentIssuer.Open(settings.Scratch, "journey-development", "journey").CreateToken("host-test", [.. JourneyServices.Known.Scopes.All], TimeSpan.FromHours(8));
using var channel = TestPlatform.ChannelWithToken(host.Address, token);

var baselines = await Baselines.MeasureAsync(channel, token, hostArguments, settings);
var context = new BenchContext(host, channel, baselines, settings, new Population());
var figures = new List<Figure>
{
    new("empty unary call, 1 caller", $"p50 {Report.Micros(baselines.EmptyCallOneCaller.P50)}, p99 {Report.Micros(baselines.EmptyCallOneCaller.P99)}", "itself", 1, "baseline", null),
    new("empty unary call, 8 callers", Report.Rate(baselines.EmptyCallEightCallers.PerSecond, "calls") + $", p99 {Report.Micros(baselines.EmptyCallEightCallers.P99)}", "itself", 1, "baseline", null),
    new("raw SQLite insert, 1000 rows a transaction", Report.Rate(baselines.SqliteRowsPerSecond, "rows"), "itself", 1, "baseline", null),
    new("bare gRPC server, empty unary call, 8 callers", Report.Rate(baselines.BareCallEightCallers.PerSecond, "calls") + $", p99 {Report.Micros(baselines.BareCallEightCallers.P99)}", "itself", 1, "baseline", null),
};
figures.Add(new("empty unary call, authentication off, 8 callers", Report.Rate(baselines.UnauthenticatedCallEightCallers.PerSecond, "calls") + $", p99 {Report.Micros(baselines.UnauthenticatedCallEightCallers.P99)}", "itself", 1, "baseline", null));
var authShare = baselines.EmptyCallEightCallers.PerSecond / baselines.UnauthenticatedCallEightCallers.PerSecond;
figures.Add(new("authenticated empty call against authentication off, 8 callers", Report.Rate(baselines.EmptyCallEightCallers.PerSecond, "calls"), "calls/s with authentication off", authShare, "≥ 0.8×", authShare >= 0.8));
var platformShare = baselines.EmptyCallEightCallers.PerSecond / baselines.BareCallEightCallers.PerSecond;
var platformTail = baselines.EmptyCallEightCallers.P99 / baselines.BareCallEightCallers.P99;
figures.Add(new("authenticated empty call against the bare server, 8 callers", Report.Rate(baselines.EmptyCallEightCallers.PerSecond, "calls"), "bare server calls/s", platformShare, "≥ 0.6×", platformShare >= 0.6));
figures.Add(new("authenticated empty call p99 against the bare server, 8 callers", Report.Micros(baselines.EmptyCallEightCallers.P99), "bare server p99", platformTail, "≤ 1.5×", platformTail <= 1.5));

foreach (var scenario in Scenarios.All)
{
    if (settings.Selected(scenario.Name))
    {
        Console.WriteLine($"running {scenario.Name} ...");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = await scenario.RunAsync(context);
        foreach (var figure in results)
        {
            Console.WriteLine($"  {figure.Scenario}: {figure.Value} ({figure.Ratio:0.00}× {figure.Baseline}; target {figure.Target}: {figure.Verdict})");
        }

        Console.WriteLine($"  {scenario.Name} took {clock.Elapsed.TotalSeconds:0} s; host working set {Report.Mib(host.WorkingSetBytes)}");
        figures.AddRange(results);
    }
}

if (context.Unsettled.Count > 0)
{
    figures.Add(new("latency measured on a host still busy after 2 minutes", string.Join(", ", context.Unsettled), "-", 1, "reported", null));
}

figures.Add(new("host working set at the end", Report.Mib(host.WorkingSetBytes), "-", 1, "reported", null));

// The whole run at the default sizes must fit the 10-minute budget; a partial or quick run only reports its time.
var budget = TimeSpan.FromMinutes(10);
var whole = settings.Whole;
figures.Add(new(whole ? "whole run, every scenario at the default sizes" : "this run (partial, --only or --quick)", $"{run.Elapsed.TotalSeconds:0} s", "10-minute budget",
    run.Elapsed / budget, whole ? "≤ 1×" : "reported", whole ? run.Elapsed <= budget : null));
Report.Print(figures, Console.Out);
return figures.All(f => f.Met != false) ? 0 : 1;
