extern alias cli;

using cli::Journey.Cli;

namespace Journey.Cli.Tests;

/// <summary>One in-process run of the tool: exit code and what it wrote.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error);

internal static class CliRun
{
    public static Task<CliResult> RunAsync(string? address, string? token, params string[] args) => RunAsync(address, token, interactive: false, args);

    public static async Task<CliResult> RunAsync(string? address, string? token, bool interactive, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var environment = new CliEnvironment
        {
            GetVariable = name => name switch
            {
                "JOURNEY_ADDRESS" => address,
                "JOURNEY_TOKEN" => token,
                _ => null,
            },
            InteractiveError = interactive,
        };
        var code = await CliApp.RunAsync(args, stdout, stderr, environment, CancellationToken.None);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
