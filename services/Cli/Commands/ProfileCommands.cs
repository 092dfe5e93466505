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
        var lookup = new Command("lookup", "Show the profile one identifier belongs to.");
        person.AddTo(lookup);
        lookup.SetAction((parse, ct) =>
        {
            var c = context(parse);
            return c.RunAsync(async () =>
            {
                var identifiers = person.Read(parse);
                if (identifiers.Count > 1)
                {
                    throw CliException.Usage("lookup takes exactly one identifier.");
                }

                var response = await new ProfileService.ProfileServiceClient(c.Channel).LookupProfileAsync(new LookupProfileRequest { Person = new Common.V1.PersonRef { Identifiers = new Common.V1.IdentifierSet { Identifiers = { identifiers[0] } } } }, c.Call(ct));
                return c.Reply(response, () => Render.Profile(response.Profile).Write(c.Out));
            });
        });
        command.Subcommands.Add(lookup);
        return command;
    }
}
