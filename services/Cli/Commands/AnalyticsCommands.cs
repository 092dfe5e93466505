using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Journey.Cli.Output;
using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey funnel</c> and <c>journey gaps</c>: the touchpoint service's journey analytics.</summary>
internal static class AnalyticsCommands
{
    public static Command CreateFunnel(Func<ParseResult, CommandContext> context)
    {
        var (from, to) = PeriodOptions();
        var dropOffs = new Option<int>("--drop-offs") { Description = "How many drop-off touchpoints to show (default 10).", DefaultValueFactory = _ => 10 };
        var command = new Command("funnel", "Show the journey funnel: people per stage, conversion, and where people drop off.") { from, to, dropOffs };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new GetJourneyFunnelRequest { Period = Period(parse, from, to), DropOffLimit = parse.GetValue(dropOffs) };
            var response = await new TouchpointService.TouchpointServiceClient(c.Channel).GetJourneyFunnelAsync(request, c.Call(ct));
            WriteFunnel(c, response);
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateGaps(Func<ParseResult, CommandContext> context)
    {
        var (from, to) = PeriodOptions();
        var minRatings = new Option<long>("--min-ratings") { Description = "Ignore touchpoints with fewer ratings." };
        var pageSize = new Option<int>("--page-size") { Description = "At most this many (default 20).", DefaultValueFactory = _ => 20 };
        var command = new Command("gaps", "Show the experience gaps: touchpoints rated below their intended experience, most urgent first.") { from, to, minRatings, pageSize };
        command.SetContextAction(context, async (parse, c, ct) =>
        {
            var request = new ListExperienceGapsRequest { Period = Period(parse, from, to), MinRatings = parse.GetValue(minRatings), PageSize = parse.GetValue(pageSize) };
            var response = await new TouchpointService.TouchpointServiceClient(c.Channel).ListExperienceGapsAsync(request, c.Call(ct));
            WriteGaps(c, response);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static void WriteFunnel(CommandContext c, GetJourneyFunnelResponse response)
    {
        if (c.Json)
        {
            c.WriteJson(response);
            return;
        }

        Render.Funnel(response).Write(c.Out);
        if (response.TouchpointsBeforePurchase is { Purchases: > 0 } before)
        {
            c.Out.WriteLine();
            c.Out.WriteLine($"touchpoints before purchase ({before.Purchases} purchases): median {before.Median:0.#}, p90 {before.P90:0.#}, mean {before.Mean:0.#}");
        }

        if (response.DropOffPoints.Count > 0)
        {
            c.Out.WriteLine();
            Render.DropOffs(response).Write(c.Out);
        }
    }

    internal static void WriteGaps(CommandContext c, ListExperienceGapsResponse response)
    {
        if (c.Json)
        {
            c.WriteJson(response);
            return;
        }

        Render.Gaps(response).Write(c.Out);
        Render.NextPage(c, response.NextPageToken);
    }

    private static (Option<string?> From, Option<string?> To) PeriodOptions() =>
        (new Option<string?>("--from") { Description = "Start of the period (UTC date or time, e.g. 2026-01-01)." },
         new Option<string?>("--to") { Description = "End of the period, exclusive." });

    private static Period? Period(ParseResult parse, Option<string?> from, Option<string?> to)
    {
        var start = parse.GetValue(from);
        var end = parse.GetValue(to);
        if (start is null && end is null)
        {
            return null;
        }

        var period = new Period();
        if (start is not null)
        {
            period.StartTime = Time(start, "--from");
        }

        if (end is not null)
        {
            period.EndTime = Time(end, "--to");
        }

        return period;
    }

    private static Timestamp Time(string text, string option) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? Timestamp.FromDateTime(DateTime.SpecifyKind(time, DateTimeKind.Utc))
            : throw CliException.Usage($"{option} '{text}' is not a date or time.");
}
