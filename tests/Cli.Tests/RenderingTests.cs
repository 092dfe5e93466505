extern alias cli;
using System.Text.Json;
using cli::Journey.Cli;
using cli::Journey.Cli.Output;
using cli::Journey.Common.V1;
using cli::Journey.Touchpoint.V1;
using Google.Protobuf.WellKnownTypes;

namespace Journey.Cli.Tests;

public sealed class RenderingTests
{
    private static GetJourneyFunnelResponse Funnel() => new()
    {
        Period = new Period { StartTime = Timestamp.FromDateTime(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)) },
        Stages =
        {
            new FunnelStage { Stage = JourneyStage.Awareness, People = 1000, ConvertedToNext = 400, ConversionToNext = 0.4 },
            new FunnelStage { Stage = JourneyStage.Consideration, People = 400, ConvertedToNext = 100, ConversionToNext = 0.25 },
        },
        TouchpointsBeforePurchase = new TouchpointsBeforePurchase { Purchases = 12, Median = 7, P90 = 15, Mean = 8.5 },
        DropOffPoints = { new DropOffPoint { Touchpoint = "touchpoints/web-calculator", DisplayName = "Lease calculator", People = 250, Share = 0.125 } },
    };

    private static (CommandContext Context, StringWriter Out) Context(OutputFormat output)
    {
        var stdout = new StringWriter();
        return (new CommandContext(new Globals(new Uri("http://127.0.0.1:1"), null, output, TimeSpan.FromSeconds(1)), stdout, new StringWriter(), new CliEnvironment()), stdout);
    }

    [Fact]
    public void FunnelTable_ShowsStagesConversionAndDropOffs()
    {
        var (context, stdout) = Context(OutputFormat.Table);

        cli::Journey.Cli.Commands.AnalyticsCommands.WriteFunnel(context, Funnel());

        var lines = stdout.ToString().Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal("stage          people  converted  conversion", lines[0]);
        Assert.Equal("awareness        1000        400       40.0%", lines[2]);
        Assert.Equal("consideration     400        100       25.0%", lines[3]);
        Assert.Contains("touchpoints before purchase (12 purchases): median 7, p90 15, mean 8.5", lines);
        Assert.Contains(lines, l => l.StartsWith("touchpoints/web-calculator  Lease calculator") && l.EndsWith("250  12.5%"));
    }

    [Fact]
    public void FunnelJson_IsOneDocumentInProtoJson()
    {
        var (context, stdout) = Context(OutputFormat.Json);

        cli::Journey.Cli.Commands.AnalyticsCommands.WriteFunnel(context, Funnel());

        using var document = JsonDocument.Parse(stdout.ToString());
        var stages = document.RootElement.GetProperty("stages");
        Assert.Equal("JOURNEY_STAGE_AWARENESS", stages[0].GetProperty("stage").GetString());
        Assert.Equal("1000", stages[0].GetProperty("people").GetString());
        Assert.Equal(0.125, document.RootElement.GetProperty("dropOffPoints")[0].GetProperty("share").GetDouble());
    }

    [Fact]
    public void GapsTable_ListsGapsInServerOrderWithTheirTeams()
    {
        var (context, stdout) = Context(OutputFormat.Table);
        var response = new ListExperienceGapsResponse
        {
            Gaps =
            {
                new ExperienceGap { Touchpoint = "touchpoints/dealer-visit", DisplayName = "Dealer visit", Criticality = 5, TargetRating = 4.5, AverageRating = 3.1, RatedInteractions = 40, Gap = 1.4, Priority = 7, OwningTeam = "retail" },
                new ExperienceGap { Touchpoint = "touchpoints/web-calculator", DisplayName = "Lease calculator", Criticality = 3, TargetRating = 4, AverageRating = 3.5, RatedInteractions = 10, Gap = 0.5, Priority = 1.5, OwningTeam = "digital" },
            },
            NextPageToken = "abc",
        };

        cli::Journey.Cli.Commands.AnalyticsCommands.WriteGaps(context, response);

        var lines = stdout.ToString().Split('\n', StringSplitOptions.TrimEntries);
        Assert.StartsWith("touchpoint", lines[0]);
        Assert.Matches(@"^touchpoints/dealer-visit\s+Dealer visit\s+5\s+4\.5\s+3\.1\s+40\s+1\.4\s+7\s+retail$", lines[2]);
        Assert.Matches(@"^touchpoints/web-calculator\s+Lease calculator\s+3\s+4\s+3\.5\s+10\s+0\.5\s+1\.5\s+digital$", lines[3]);
        Assert.Contains("--page-token abc", context.Error.ToString());
    }

    [Theory]
    [InlineData("paid-ad", Channel.PaidAd)]
    [InlineData("PAID_AD", Channel.PaidAd)]
    [InlineData("CHANNEL_PAID_AD", Channel.PaidAd)]
    [InlineData("third-party-review", Channel.ThirdPartyReview)]
    public void EnumText_AcceptsShortLongAndProtoNames(string text, Channel expected)
    {
        Assert.True(EnumText.TryParse<Channel>(text, out var value));
        Assert.Equal(expected, value);
        Assert.Equal(text.Contains('-') ? text : EnumText.Format(expected), EnumText.Format(value));
    }

    [Theory]
    [InlineData("unspecified")]
    [InlineData("carrier-pigeon")]
    public void EnumText_RejectsUnspecifiedAndUnknown(string text) =>
        Assert.False(EnumText.TryParse<Channel>(text, out _));
}
