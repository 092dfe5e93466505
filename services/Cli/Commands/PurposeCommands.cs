using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Consent.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey purposes define|list</c>: what people can consent to.</summary>
internal static class PurposeCommands
{
    public static Command Create(Func<ParseResult, CommandContext> context) =>
        new("purposes", "Define and list consent purposes.") { Define(context), List(context) };

    private static Command Define(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("id") { Description = "The purpose id, e.g. marketing-email." };
        var description = new Option<string>("--description") { Description = "What the person agrees to.", Required = true };
        var basis = new Option<string>("--legal-basis") { Description = "consent, legitimate-interest, contract or legal-obligation.", DefaultValueFactory = _ => "consent" };
        var channels = new Option<string[]>("--channel") { Description = "A channel it covers (repeatable).", AllowMultipleArgumentsPerToken = true };
        var defaultDecision = new Option<string>("--default") { Description = "allow or deny when the person never answered.", DefaultValueFactory = _ => "deny" };
        var validity = new Option<int>("--validity-days") { Description = "How long a grant lasts, in days (0: no expiry)." };
        var minimumPolicy = new Option<int>("--minimum-policy-version") { Description = "Grants under older policy versions no longer count." };
        var command = new Command("define", "Define a consent purpose.") { id, description, basis, channels, defaultDecision, validity, minimumPolicy };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var purpose = new Purpose
            {
                Description = parse.GetRequiredValue(description),
                LegalBasis = EnumText.Parse<LegalBasis>(parse.GetValue(basis) ?? "consent", "--legal-basis"),
                DefaultDecision = EnumText.Parse<DefaultDecision>(parse.GetValue(defaultDecision) ?? "deny", "--default"),
                MinimumPolicyVersion = parse.GetValue(minimumPolicy),
            };
            purpose.Channels.AddRange((parse.GetValue(channels) ?? []).Select(ch => EnumText.Parse<Channel>(ch, "--channel")));
            if (parse.GetValue(validity) is > 0 and var days)
            {
                purpose.Validity = Duration.FromTimeSpan(TimeSpan.FromDays(days));
            }

            var response = await new ConsentService.ConsentServiceClient(c.Channel).CreatePurposeAsync(
                new CreatePurposeRequest { PurposeId = Names.Id("purposes", parse.GetRequiredValue(id)), Purpose = purpose }, c.Call(ct));
            return c.Reply(response, () => Render.Purposes([response.Purpose]).Write(c.Out));
        });
        return command;
    }

    private static Command List(Func<ParseResult, CommandContext> context)
    {
        var page = new PageOptions();
        var command = new Command("list", "List consent purposes.") { page.Size, page.Token };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var response = await new ConsentService.ConsentServiceClient(c.Channel).ListPurposesAsync(
                new ListPurposesRequest { PageSize = page.PageSize(parse), PageToken = page.PageToken(parse) }, c.Call(ct));
            return c.ReplyPage(response, () => Render.Purposes(response.Purposes), response.NextPageToken);
        });
        return command;
    }
}
