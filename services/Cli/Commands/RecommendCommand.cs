using System.CommandLine;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Recommendation.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey recommend</c>.</summary>
internal static class RecommendCommand
{
    public static Command Create(Func<ParseResult, CommandContext> context)
    {
        var person = new IdentifierOptions();
        var touchpoint = new Option<string>("--touchpoint") { Description = "The touchpoint the content will be shown on.", Required = true };
        var channel = new Option<string?>("--channel") { Description = "The channel the content will be shown on." };
        var count = new Option<int>("--count") { Description = "How many items (default 5).", DefaultValueFactory = _ => 5 };
        var command = new Command("recommend", "Ask which content to show a person next, with the reasons.") { touchpoint, channel, count };
        person.AddTo(command);
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new RecommendRequest
            {
                Count = parse.GetValue(count),
                Touchpoint = Names.Full("touchpoints", parse.GetRequiredValue(touchpoint)),
            };
            request.Person = person.Person(parse, required: false);
            if (parse.GetValue(channel) is { } ch)
            {
                request.Channel = EnumText.Parse<Channel>(ch, "--channel");
            }

            var response = await new RecommendationService.RecommendationServiceClient(c.Channel).RecommendAsync(request, c.Call(ct));
            return c.Reply(response, () =>
            {
                c.Out.WriteLine($"stage {EnumText.Format(response.Stage)}, {(response.Personalised ? "personalised" : "generic")}, recommendation {response.Recommendation}");
                Render.Recommendations(response).Write(c.Out);
            });
        });
        return command;
    }
}
