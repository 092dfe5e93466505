using System.CommandLine;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Journey.Cli.Output;
using Journey.Touchpoint.V1;

namespace Journey.Cli.Commands;

/// <summary>
/// <c>journey sources create|list|get|set-plan|issues</c> and <c>journey sources keys create|rotate|revoke</c>:
/// the web sites, apps and back ends that send to the tracking API, their plans and their write keys.
/// </summary>
internal static class SourceCommands
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static Command Create(Func<ParseResult, CommandContext> context)
    {
        var keys = new Command("keys", "Write keys: create (shown once), rotate, revoke.")
        {
            CreateKey(context),
            KeyAction(context, "rotate", "Replace a key: a new one (shown once) and the old one revoked."),
            KeyAction(context, "revoke", "Revoke a key: the tracking API answers 401 to it from now on."),
        };
        return new Command("sources", "Tracking sources: what sends to the tracking API, its plan and its write keys.")
        {
            CreateSource(context), List(context), Get(context), SetPlan(context), Issues(context), keys,
        };
    }

    private static Command CreateSource(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("id") { Description = "The source id, e.g. web-shop." };
        var displayName = new Option<string>("--display-name") { Description = "A name people read.", Required = true };
        var origins = new Option<string[]>("--origin") { Description = "A browser origin allowed to send, e.g. https://shop.example (repeatable; * for any).", AllowMultipleArgumentsPerToken = true };
        var rate = new Option<int>("--requests-per-second") { Description = "Most requests a second before 429 (default 200)." };
        var plan = new Option<FileInfo?>("--plan") { Description = "The tracking plan: a JSON file in the proto's JSON form (journey.touchpoint.v1.TrackingPlan)." };
        var command = new Command("create", "Create a tracking source (without keys: 'sources keys create' adds one).") { id, displayName, origins, rate, plan };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var source = new Source
            {
                DisplayName = parse.GetRequiredValue(displayName),
                RequestsPerSecond = parse.GetValue(rate),
                TrackingPlan = ReadPlan(parse.GetValue(plan)),
            };
            source.AllowedOrigins.AddRange(parse.GetValue(origins) ?? []);
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).CreateSourceAsync(
                new CreateSourceRequest { SourceId = Names.Id("sources", parse.GetRequiredValue(id)), Source = source }, c.Call(ct));
            return c.Reply(response, () => Sources([response.Source]).Write(c.Out));
        });
        return command;
    }

    private static Command List(Func<ParseResult, CommandContext> context)
    {
        var page = new PageOptions();
        var command = new Command("list", "List tracking sources.") { page.Size, page.Token };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).ListSourcesAsync(
                new ListSourcesRequest { PageSize = page.PageSize(parse), PageToken = page.PageToken(parse) }, c.Call(ct));
            return c.ReplyPage(response, () => Sources(response.Sources), response.NextPageToken);
        });
        return command;
    }

    private static Command Get(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("source") { Description = "The source id or name." };
        var command = new Command("get", "Show a source with its keys (never the keys themselves).") { id };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).GetSourceAsync(
                new GetSourceRequest { Name = Names.Full("sources", parse.GetRequiredValue(id)) }, c.Call(ct));
            return c.Reply(response, () =>
            {
                Sources([response.Source]).Write(c.Out);
                Keys(response.Source.WriteKeys).Write(c.Out);
            });
        });
        return command;
    }

    private static Command SetPlan(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("source") { Description = "The source id or name." };
        var plan = new Option<FileInfo>("--plan") { Description = "The tracking plan: a JSON file in the proto's JSON form.", Required = true };
        var command = new Command("set-plan", "Replace a source's tracking plan; it applies to messages received from then on.") { id, plan };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new UpdateSourceRequest
            {
                Source = new Source { Name = Names.Full("sources", parse.GetRequiredValue(id)), TrackingPlan = ReadPlan(parse.GetRequiredValue(plan)) },
                UpdateMask = new FieldMask { Paths = { "tracking_plan" } },
            };
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).UpdateSourceAsync(request, c.Call(ct));
            return c.Reply(response, () => Sources([response.Source]).Write(c.Out));
        });
        return command;
    }

    private static Command Issues(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("source") { Description = "The source id or name." };
        var pageSize = new Option<int>("--page-size") { Description = "At most this many (default 100).", DefaultValueFactory = _ => 100 };
        var command = new Command("issues", "What the source sends that its plan does not map, and the plan's violations, most seen first.") { id, pageSize };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).ListTrackingIssuesAsync(
                new ListTrackingIssuesRequest { Parent = Names.Full("sources", parse.GetRequiredValue(id)), PageSize = parse.GetValue(pageSize) }, c.Call(ct));
            return c.Reply(response, () =>
            {
                var table = new Table("kind", "name", "detail", "count", "first seen", "last seen");
                foreach (var i in response.Issues)
                {
                    table.Add(i.Kind, i.Name, i.Detail, i.Count, i.FirstSeenTime?.ToDateTimeOffset().ToString("u"), i.LastSeenTime?.ToDateTimeOffset().ToString("u"));
                }

                table.Write(c.Out);
            });
        });
        return command;
    }

    private static Command CreateKey(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("source") { Description = "The source id or name." };
        var command = new Command("create", "Add a write key; it is printed once and never shown again.") { id };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var response = await new TrackingSourceService.TrackingSourceServiceClient(c.Channel).CreateWriteKeyAsync(
                new CreateWriteKeyRequest { Parent = Names.Full("sources", parse.GetRequiredValue(id)) }, c.Call(ct));
            return c.Reply(response, () => NewKey(c, response.WriteKey, response.Secret));
        });
        return command;
    }

    private static Command KeyAction(Func<ParseResult, CommandContext> context, string verb, string description)
    {
        var name = new Argument<string>("key") { Description = "The key's name, sources/{source}/writeKeys/{key}." };
        var command = new Command(verb, description) { name };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var client = new TrackingSourceService.TrackingSourceServiceClient(c.Channel);
            var key = parse.GetRequiredValue(name);
            if (verb == "rotate")
            {
                var rotated = await client.RotateWriteKeyAsync(new RotateWriteKeyRequest { Name = key }, c.Call(ct));
                return c.Reply(rotated, () => NewKey(c, rotated.WriteKey, rotated.Secret));
            }

            var revoked = await client.RevokeWriteKeyAsync(new RevokeWriteKeyRequest { Name = key }, c.Call(ct));
            return c.Reply(revoked, () => Keys([revoked.WriteKey]).Write(c.Out));
        });
        return command;
    }

    private static void NewKey(CommandContext c, WriteKey key, string secret)
    {
        Keys([key]).Write(c.Out);
        c.Out.WriteLine($"write key: {secret}");
        c.Out.WriteLine("Keep it now: only its hash is stored, so it cannot be shown again.");
    }

    private static TrackingPlan ReadPlan(FileInfo? file)
    {
        if (file is null)
        {
            return new TrackingPlan();
        }

        try
        {
            return Parser.Parse<TrackingPlan>(File.ReadAllText(file.FullName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Input($"{file.Name}: cannot be read ({e.Message})");
        }
        catch (InvalidProtocolBufferException e)
        {
            throw CliException.Input($"{file.Name}: not a tracking plan in the proto's JSON form: {e.Message}");
        }
    }

    private static Table Sources(IEnumerable<Source> sources)
    {
        var table = new Table("name", "display name", "origins", "requests/s", "events", "pages", "active keys");
        foreach (var s in sources)
        {
            table.Add(s.Name, s.DisplayName, string.Join(",", s.AllowedOrigins), s.RequestsPerSecond, s.TrackingPlan?.Events.Count ?? 0, s.TrackingPlan?.Pages.Count ?? 0, s.WriteKeys.Count(k => k.RevokeTime is null));
        }

        return table;
    }

    private static Table Keys(IEnumerable<WriteKey> keys)
    {
        var table = new Table("key", "ends with", "created", "revoked");
        foreach (var k in keys)
        {
            table.Add(k.Name, k.Hint, k.CreateTime?.ToDateTimeOffset().ToString("u"), k.RevokeTime?.ToDateTimeOffset().ToString("u"));
        }

        return table;
    }
}
