using System.CommandLine;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Consent.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey consent record|check</c>.</summary>
internal static class ConsentCommands
{
    public static Command Create(Func<ParseResult, CommandContext> context) =>
        new("consent", "Record and check a person's consent.") { Record(context), Check(context) };

    private static Command Record(Func<ParseResult, CommandContext> context)
    {
        var person = new IdentifierOptions();
        var purpose = new Option<string>("--purpose") { Description = "The purpose id or name.", Required = true };
        var decision = new Option<string>("--decision") { Description = "granted or withdrawn.", DefaultValueFactory = _ => "granted" };
        decision.AcceptOnlyFromAmong("granted", "withdrawn");
        var policy = new Option<int>("--policy-version") { Description = "The policy version the person saw.", Required = true };
        var channels = new Option<string[]>("--channel") { Description = "Limit the answer to a channel (repeatable).", AllowMultipleArgumentsPerToken = true };
        var touchpoint = new Option<string?>("--touchpoint") { Description = "Where the answer was given." };
        var command = new Command("record", "Record a person's answer for a purpose.") { purpose, decision, policy, channels, touchpoint };
        person.AddTo(command);
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new RecordConsentRequest
            {
                Purpose = Names.Full("purposes", parse.GetRequiredValue(purpose)),
                Decision = EnumText.Parse<ConsentDecision>(parse.GetValue(decision) ?? "granted", "--decision"),
                PolicyVersion = parse.GetRequiredValue(policy),
                CaptureTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow),
                Touchpoint = parse.GetValue(touchpoint) is { } t ? Names.Full("touchpoints", t) : "",
            };
            request.Person = person.Person(parse);
            request.Channels.AddRange((parse.GetValue(channels) ?? []).Select(ch => EnumText.Parse<Channel>(ch, "--channel")));
            var response = await new ConsentService.ConsentServiceClient(c.Channel).RecordConsentAsync(request, c.Call(ct));
            return c.Reply(response, () => c.Out.WriteLine($"recorded {EnumText.Format(response.Record.Decision)} for {response.Record.Purpose}: {response.Record.Name}"));
        });
        return command;
    }

    private static Command Check(Func<ParseResult, CommandContext> context)
    {
        var person = new IdentifierOptions();
        var purpose = new Option<string>("--purpose") { Description = "The purpose id or name.", Required = true };
        var channel = new Option<string?>("--channel") { Description = "The channel the use is on." };
        var command = new Command("check", "Check whether a person's data may be used for a purpose (exit 0 either way; read 'allowed').") { purpose, channel };
        person.AddTo(command);
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new CheckConsentRequest { Purpose = Names.Full("purposes", parse.GetRequiredValue(purpose)), Person = person.Person(parse) };
            if (parse.GetValue(channel) is { } ch)
            {
                request.Channel = EnumText.Parse<Channel>(ch, "--channel");
            }

            var response = await new ConsentService.ConsentServiceClient(c.Channel).CheckConsentAsync(request, c.Call(ct));
            return c.Reply(response, () => Render.Consent(response).Write(c.Out));
        });
        return command;
    }
}
