using System.CommandLine;

namespace Journey.Cli;

/// <summary>The one way a command runs: in its own <see cref="CommandContext"/>, which reports a failed call and closes the channel.</summary>
internal static class CommandActions
{
    /// <summary>Sets <paramref name="body"/> as the action of <paramref name="command"/>, run through <see cref="CommandContext.RunAsync"/>.</summary>
    public static void SetContextAction(this Command command, Func<ParseResult, CommandContext> context, Func<ParseResult, CommandContext, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, ct) =>
        {
            var c = context(parse);
            return c.RunAsync(() => body(parse, c, ct));
        });
}
