using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Journey.Cli.Input;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Recommendation.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey content define|list|import</c>: the recommendation service's content library.</summary>
internal static class ContentCommands
{
    public static Command Create(Func<ParseResult, CommandContext> context) =>
        new("content", "Define, list and import recommendable content.") { Define(context), List(context), Import(context) };

    private static RecommendationService.RecommendationServiceClient Client(CommandContext c) => new(c.Channel);

    private static Command Define(Func<ParseResult, CommandContext> context)
    {
        var id = new Argument<string>("id") { Description = "The content id, e.g. lease-vs-buy." };
        var title = new Option<string>("--title") { Description = "The title people see.", Required = true };
        var kind = new Option<string>("--kind") { Description = $"One of: {string.Join(", ", EnumText.Names<ContentKind>())}.", Required = true };
        var stages = new Option<string[]>("--stage") { Description = "stage[:weight], e.g. consideration:0.8 (repeatable).", AllowMultipleArgumentsPerToken = true };
        var topics = new Option<string[]>("--topic") { Description = "A topic (repeatable).", AllowMultipleArgumentsPerToken = true };
        var channels = new Option<string[]>("--channel") { Description = "A channel it can be shown on (repeatable).", AllowMultipleArgumentsPerToken = true };
        var hardness = new Option<double>("--hardness") { Description = "0 (soft, informative) to 1 (hard, a call to buy)." };
        var purpose = new Option<string>("--purpose") { Description = "marketing or service.", DefaultValueFactory = _ => "marketing" };
        var consent = new Option<string?>("--requires-consent") { Description = "The consent purpose needed to show it, e.g. purposes/personalisation." };
        var generic = new Option<bool>("--generic") { Description = "May be shown to anyone, without personalisation." };
        var command = new Command("define", "Create or replace a content item.") { id, title, kind, stages, topics, channels, hardness, purpose, consent, generic };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var item = new ContentItem
            {
                Name = Names.Full("contents", parse.GetRequiredValue(id)),
                Title = parse.GetRequiredValue(title),
                Kind = EnumText.Parse<ContentKind>(parse.GetRequiredValue(kind), "--kind"),
                Hardness = parse.GetValue(hardness),
                Purpose = EnumText.Parse<ContentPurpose>(parse.GetValue(purpose) ?? "marketing", "--purpose"),
                RequiredConsentPurpose = parse.GetValue(consent) is { } p ? Names.Full("purposes", p) : "",
                Generic = parse.GetValue(generic),
            };
            item.Stages.AddRange((parse.GetValue(stages) ?? []).Select(StageWeightOf));
            item.Topics.AddRange(parse.GetValue(topics) ?? []);
            item.Channels.AddRange((parse.GetValue(channels) ?? []).Select(ch => EnumText.Parse<Channel>(ch, "--channel")));
            var response = await Client(c).UpdateContentAsync(new UpdateContentRequest { Content = item, UpdateMask = new FieldMask { Paths = { "*" } }, AllowMissing = true }, c.Call(ct));
            return c.Reply(response, () => Render.Contents([response.Content]).Write(c.Out));
        });
        return command;
    }

    private static Command List(Func<ParseResult, CommandContext> context)
    {
        var kind = new Option<string?>("--kind") { Description = "Only this kind." };
        var stage = new Option<string?>("--stage") { Description = "Only content for this stage." };
        var topic = new Option<string?>("--topic") { Description = "Only content on this topic." };
        var retired = new Option<bool>("--include-retired") { Description = "Also list retired content." };
        var page = new PageOptions();
        var command = new Command("list", "List content.") { kind, stage, topic, retired, page.Size, page.Token };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new ListContentsRequest
            {
                PageSize = page.PageSize(parse),
                PageToken = page.PageToken(parse),
                Topic = parse.GetValue(topic) ?? "",
                IncludeRetired = parse.GetValue(retired),
            };
            if (parse.GetValue(kind) is { } k)
            {
                request.Kind = EnumText.Parse<ContentKind>(k, "--kind");
            }

            if (parse.GetValue(stage) is { } s)
            {
                request.Stage = EnumText.Parse<JourneyStage>(s, "--stage");
            }

            var response = await Client(c).ListContentsAsync(request, c.Call(ct));
            return c.ReplyPage(response, () => Render.Contents(response.Contents), response.NextPageToken);
        });
        return command;
    }

    private static Command Import(Func<ParseResult, CommandContext> context)
    {
        var file = new Argument<string>("file") { Description = "A .csv (header: id,title,kind,stages,topics,channels,hardness,purpose,required_consent_purpose,generic; stages as stage:weight;...) or .json (array of content items in proto JSON) file." };
        var format = new Option<string?>("--format") { Description = "csv or json, when the file name does not tell." };
        format.AcceptOnlyFromAmong("csv", "json");
        var command = new Command("import", "Create or replace every content item of a catalog file.") { file, format };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var path = parse.GetRequiredValue(file);
            var entries = CatalogFile.IsCsv(path, parse.GetValue(format))
                ? CatalogFile.ReadCsv(path, FromCsv)
                : CatalogFile.ReadJson<ContentItem>(path, "contents");
            var client = Client(c);
            return await CatalogImport.RunAsync(c, entries, async item =>
            {
                item.Name = Names.Full("contents", item.Name);
                var response = await client.UpdateContentAsync(new UpdateContentRequest { Content = item, UpdateMask = new FieldMask { Paths = { "*" } }, AllowMissing = true }, c.Call(ct));
                return response.Created ? CatalogImport.Outcome.Created : CatalogImport.Outcome.Updated;
            });
        });
        return command;
    }

    internal static ContentItem FromCsv(CsvRow row)
    {
        var id = row.Get("id");
        if (id.Length == 0)
        {
            throw CliException.Input("id is empty");
        }

        var item = new ContentItem
        {
            Name = Names.Full("contents", id),
            Title = row.Get("title"),
            Kind = EnumText.Parse<ContentKind>(row.Get("kind"), "kind"),
            Hardness = CatalogFile.Number(row, "hardness"),
            Purpose = row.Get("purpose").Length == 0 ? ContentPurpose.Marketing : EnumText.Parse<ContentPurpose>(row.Get("purpose"), "purpose"),
            RequiredConsentPurpose = row.Get("required_consent_purpose") is { Length: > 0 } p ? Names.Full("purposes", p) : "",
            Generic = row.Get("generic").ToLowerInvariant() is "true" or "yes" or "1",
        };
        item.Stages.AddRange(row.List("stages").Select(StageWeightOf));
        item.Topics.AddRange(row.List("topics"));
        item.Channels.AddRange(row.List("channels").Select(ch => EnumText.Parse<Channel>(ch, "channel")));
        return item;
    }

    private static StageWeight StageWeightOf(string text)
    {
        var parts = text.Split(':', 2);
        var weight = 1.0;
        if (parts.Length == 2 && !double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out weight))
        {
            throw CliException.Usage($"stage weight '{parts[1]}' is not a number.");
        }

        return new StageWeight { Stage = EnumText.Parse<JourneyStage>(parts[0], "stage"), Weight = weight };
    }
}
