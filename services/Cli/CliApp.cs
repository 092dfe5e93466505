using System.CommandLine;
using Journey.Cli.Commands;

namespace Journey.Cli;

/// <summary>The <c>journey</c> command tree; the process entry point and the tests both call <see cref="RunAsync(string[], TextWriter, TextWriter, CliEnvironment, CancellationToken)"/>.</summary>
public static class CliApp
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(args, stdout, stderr, CliEnvironment.FromProcess(), cancellationToken);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CliEnvironment environment, CancellationToken cancellationToken)
    {
        var globals = new GlobalOptions(environment);
        var root = new RootCommand("journey: define touchpoints, content and purposes, record interactions and read journeys from a Journey host over gRPC.");
        globals.AddTo(root);
        var context = new Func<ParseResult, CommandContext>(parse => new CommandContext(globals.Read(parse), stdout, stderr, environment));
        root.Subcommands.Add(TouchpointCommands.Create(context));
        root.Subcommands.Add(ContentCommands.Create(context));
        root.Subcommands.Add(PurposeCommands.Create(context));
        root.Subcommands.Add(SourceCommands.Create(context));
        root.Subcommands.Add(ConsentCommands.Create(context));
        root.Subcommands.Add(InteractionCommands.Create(context));
        root.Subcommands.Add(ProfileCommands.Create(context));
        root.Subcommands.Add(RecommendCommand.Create(context));
        root.Subcommands.Add(AnalyticsCommands.CreateFunnel(context));
        root.Subcommands.Add(AnalyticsCommands.CreateGaps(context));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await stderr.WriteLineAsync($"error: {error.Message}");
            }

            await stderr.WriteLineAsync("Run 'journey --help' for usage.");
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(invocation, cancellationToken);
        }
        catch (CliException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("error: cancelled");
            return ExitCodes.Unavailable;
        }
    }
}
