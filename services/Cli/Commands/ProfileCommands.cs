using System.CommandLine;
using Journey.Cli.Output;
using Journey.Profile.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey profiles lookup</c>.</summary>
internal static class ProfileCommands
{
    public static Command Create(Func<ParseResult, CommandContext> context)
    {
        var command = new Command("profiles", "Look people up.");
        var person = new IdentifierOptions();
        var lookup = new Command("lookup", "Show a person's profile: by one identifier, or by --profile.");
        person.AddTo(lookup);
        lookup.SetContextAction(context, async (parse, c, ct) =>
        {
            var who = person.Person(parse)!;
            if (who.Identifiers?.Identifiers.Count > 1)
            {
                throw CliException.Usage("lookup takes exactly one identifier.");
            }

            var response = await new ProfileService.ProfileServiceClient(c.Channel).LookupProfileAsync(new LookupProfileRequest { Person = who }, c.Call(ct));
            return c.Reply(response, () => Render.Profile(response.Profile).Write(c.Out));
        });
        command.Subcommands.Add(lookup);
        return command;
    }
}
