using System.CommandLine;
using Grpc.Core;
using Journey.Cli.Input;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey touchpoints define|list|get|retire|import</c>.</summary>
internal static class TouchpointCommands
{
    public static Command Create(Func<ParseResult, CommandContext> context) =>
        new("touchpoints", "Define, list, retire and import touchpoints.") { Define(context), List(context), Get(context), Retire(context), Import(context) };

    private static TouchpointService.TouchpointServiceClient Client(CommandContext c) => new(c.Channel);

    private static Command Define(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("id") { Description = "The touchpoint id, e.g. web-calculator." };
        var displayName = new Option<string>("--display-name") { Description = "The name people see.", Required = true };
        var channel = new Option<string>("--channel") { Description = $"One of: {string.Join(", ", EnumText.Names<Channel>())}.", Required = true };
        var ownership = new Option<string>("--ownership") { Description = "owned, paid or earned.", Required = true };
        var stages = new Option<string[]>("--stage") { Description = "A journey stage it serves (repeatable).", AllowMultipleArgumentsPerToken = true, Required = true };
        var criticality = new Option<int>("--criticality") { Description = "1 (minor) to 5 (moment of truth).", DefaultValueFactory = _ => 3 };
        var target = new Option<double>("--target-rating") { Description = "The intended rating, 1 to 5.", Required = true };
        var statement = new Option<string?>("--experience") { Description = "The intended experience in words." };
        var team = new Option<string?>("--team") { Description = "The owning team." };
        var topics = new Option<string[]>("--topic") { Description = "A topic (repeatable).", AllowMultipleArgumentsPerToken = true };
        var command = new Command("define", "Define a touchpoint.") { id, displayName, channel, ownership, stages, criticality, target, statement, team, topics };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var touchpoint = new Touchpoint.V1.Touchpoint
            {
                DisplayName = parse.GetRequiredValue(displayName),
                Channel = EnumText.Parse<Channel>(parse.GetRequiredValue(channel), "--channel"),
                Ownership = EnumText.Parse<Ownership>(parse.GetRequiredValue(ownership), "--ownership"),
                Criticality = parse.GetValue(criticality),
                OwningTeam = parse.GetValue(team) ?? "",
            };
            touchpoint.Stages.AddRange((parse.GetValue(stages) ?? []).Select(s => EnumText.Parse<JourneyStage>(s, "--stage")));
            touchpoint.Topics.AddRange(parse.GetValue(topics) ?? []);
            touchpoint.IntendedExperience = new IntendedExperience { TargetRating = parse.GetValue(target), Statement = parse.GetValue(statement) ?? "" };

            var response = await Client(c).CreateTouchpointAsync(
                new CreateTouchpointRequest { TouchpointId = Names.Id("touchpoints", parse.GetRequiredValue(id)), Touchpoint = touchpoint }, c.Call(ct));
            Write(c, response.Touchpoint, response);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List(Func<ParseResult, CommandContext> context)
    {
        var channel = new Option<string?>("--channel") { Description = "Only this channel." };
        var stage = new Option<string?>("--stage") { Description = "Only touchpoints serving this stage." };
        var includeRetired = new Option<bool>("--include-retired") { Description = "Also list retired touchpoints." };
        var page = new PageOptions();
        var command = new Command("list", "List touchpoints.") { channel, stage, includeRetired, page.Size, page.Token };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new ListTouchpointsRequest
            {
                PageSize = page.PageSize(parse),
                PageToken = page.PageToken(parse),
                IncludeRetired = parse.GetValue(includeRetired),
            };
            if (parse.GetValue(channel) is { } ch)
            {
                request.Channel = EnumText.Parse<Channel>(ch, "--channel");
            }

            if (parse.GetValue(stage) is { } st)
            {
                request.Stage = EnumText.Parse<JourneyStage>(st, "--stage");
            }

            var response = await Client(c).ListTouchpointsAsync(request, c.Call(ct));
            return c.ReplyPage(response, () => Render.Touchpoints(response.Touchpoints), response.NextPageToken);
        });
        return command;
    }

    private static Command Get(Func<ParseResult, CommandContext> context) =>
        OneTouchpoint(context, "get", "Show one touchpoint.", async (client, name, call) =>
        {
            var response = await client.GetTouchpointAsync(new GetTouchpointRequest { Name = name }, call);
            return (response.Touchpoint, response);
        });

    private static Command Retire(Func<ParseResult, CommandContext> context) =>
        OneTouchpoint(context, "retire", "Retire a touchpoint: it keeps its history but takes no new interactions.", async (client, name, call) =>
        {
            var response = await client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = name }, call);
            return (response.Touchpoint, response);
        });

    // A command on one named touchpoint that shows the touchpoint the service answers with.
    private static Command OneTouchpoint(
        Func<ParseResult, CommandContext> context,
        string verb,
        string description,
        Func<TouchpointService.TouchpointServiceClient, string, CallOptions, Task<(Touchpoint.V1.Touchpoint Touchpoint, Google.Protobuf.IMessage Response)>> send)
    {
        var id = new Argument<string>("touchpoint") { Description = "The touchpoint id or name." };
        var command = new Command(verb, description) { id };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var (touchpoint, response) = await send(Client(c), Names.Full("touchpoints", parse.GetRequiredValue(id)), c.Call(ct));
            Write(c, touchpoint, response);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Import(Func<ParseResult, CommandContext> context)
    {
        var file = new Argument<string>("file") { Description = "A .csv (header: id,display_name,channel,ownership,stages,criticality,target_rating,intended_experience,owning_team,topics) or .json (array of touchpoints in proto JSON) file." };
        var format = new Option<string?>("--format") { Description = "csv or json, when the file name does not tell." };
        format.AcceptOnlyFromAmong("csv", "json");
        var command = new Command("import", "Create every touchpoint of a catalog file; existing ones are left as they are.") { file, format };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var path = parse.GetRequiredValue(file);
            var entries = CatalogFile.IsCsv(path, parse.GetValue(format))
                ? CatalogFile.ReadCsv(path, FromCsv)
                : CatalogFile.ReadJson<Touchpoint.V1.Touchpoint>(path, "touchpoints");
            var client = Client(c);
            return await CatalogImport.RunAsync(c, entries, async touchpoint =>
            {
                var touchpointId = Names.Id("touchpoints", touchpoint.Name);
                touchpoint.Name = "";
                try
                {
                    await client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = touchpointId, Touchpoint = touchpoint }, c.Call(ct));
                    return CatalogImport.Outcome.Created;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
                {
                    return CatalogImport.Outcome.Existing;
                }
            });
        });
        return command;
    }

    internal static Touchpoint.V1.Touchpoint FromCsv(CsvRow row)
    {
        var id = row.Get("id");
        if (id.Length == 0)
        {
            throw CliException.Input("id is empty");
        }

        var touchpoint = new Touchpoint.V1.Touchpoint
        {
            Name = id,
            DisplayName = row.Get("display_name"),
            Channel = EnumText.Parse<Channel>(row.Get("channel"), "channel"),
            Ownership = EnumText.Parse<Ownership>(row.Get("ownership"), "ownership"),
            Criticality = (int)CatalogFile.Number(row, "criticality", 3),
            OwningTeam = row.Get("owning_team"),
        };
        touchpoint.Stages.AddRange(row.List("stages").Select(s => EnumText.Parse<JourneyStage>(s, "stage")));
        touchpoint.Topics.AddRange(row.List("topics"));
        var target = CatalogFile.Number(row, "target_rating");
        if (target > 0 || row.Get("intended_experience").Length > 0)
        {
            touchpoint.IntendedExperience = new IntendedExperience { TargetRating = target, Statement = row.Get("intended_experience") };
        }

        return touchpoint;
    }

    private static void Write(CommandContext c, Touchpoint.V1.Touchpoint touchpoint, Google.Protobuf.IMessage response)
    {
        if (c.Json)
        {
            c.WriteJson(response);
        }
        else
        {
            Render.Touchpoints([touchpoint]).Write(c.Out);
        }
    }
}
