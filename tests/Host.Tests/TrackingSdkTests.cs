using Journey.Common.V1;
using Journey.Consent;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// The tracking API with the SDKs applications already use, installed from tests/tooling's lock
/// file and run by node against a host on loopback: every message lands as the right interaction,
/// and identify and alias as the right identity, read back through the gRPC APIs.
/// </summary>
public sealed class TrackingSdkTests
{
    private static readonly string Tooling = Path.Combine(Repository.Root, "tests", "tooling");

    [Theory]
    [InlineData("segment")]
    [InlineData("segment-legacy")]
    [InlineData("rudderstack")]
    public async Task Sdk_SendingAJourney_LandsAsInteractionsAndOneIdentity(string sdk)
    {
        await using var platform = await TestPlatform.StartAsync(
            [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition],
            new Dictionary<string, string?> { ["Journey:Hosting:HttpPort"] = "0" });
        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        var sources = new TrackingSourceService.TrackingSourceServiceClient(platform.Channel);
        var profiles = new ProfileService.ProfileServiceClient(platform.Channel);
        foreach (var (id, stage) in new[] { ("dealer", JourneyStage.Purchase), ("model-pages", JourneyStage.Consideration), ("shop", JourneyStage.Evaluation) })
        {
            await touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
            {
                TouchpointId = id,
                Touchpoint = new Touchpoint.V1.Touchpoint { DisplayName = id, Channel = Channel.Web, Ownership = Ownership.Owned, Criticality = 3, Stages = { stage }, IntendedExperience = new IntendedExperience { TargetRating = 4 } },
            });
        }

        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "web",
            Source = new Source
            {
                DisplayName = "Web shop",
                TrackingPlan = new TrackingPlan
                {
                    Events =
                    {
                        new EventRule { Event = "Order Completed", Touchpoint = "touchpoints/dealer", Type = InteractionType.Purchase, RequiredProperties = { "order_id" } },
                        new EventRule { Event = "Product Added", Touchpoint = "touchpoints/shop", Type = InteractionType.CartAdd },
                    },
                    Pages = { new PageRule { PathPattern = "/models/*", Touchpoint = "touchpoints/model-pages", Type = InteractionType.View } },
                },
            },
        });
        var key = (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
        var prefix = $"{sdk}-{Guid.NewGuid():N}"[..20];

        var (exitCode, output) = await Command.RunAsync(
            "node", Tooling, [Path.Combine(Repository.Root, "tests", "Host.Tests", "Sdk", "send.cjs"), sdk, platform.HttpAddress!, key, prefix, Tooling]);

        Assert.True(exitCode == 0, output);
        var anonymous = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"{prefix}-anon" };
        var interactions = (await touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(anonymous), PageSize = 100 })).Interactions.Select(i => i.Interaction).ToList();
        Assert.Equal(
            [("touchpoints/dealer", InteractionType.Purchase, 1), ("touchpoints/model-pages", InteractionType.View, 1), ("touchpoints/shop", InteractionType.CartAdd, 30)],
            interactions.GroupBy(i => (i.Touchpoint, i.Type)).Select(g => (g.Key.Touchpoint, g.Key.Type, g.Count())).Order());
        Assert.Equal(32, interactions.Select(i => i.InteractionId).Distinct().Count());
        var purchase = interactions.Single(i => i.Type == InteractionType.Purchase);
        Assert.Equal(("EUR", 129L), (purchase.Value.CurrencyCode, purchase.Value.Units));
        Assert.Contains(purchase.Identifiers, i => i.Kind == IdentifierKind.CustomerId && i.Value == $"{prefix}-user");

        var issue = Assert.Single((await sources.ListTrackingIssuesAsync(new ListTrackingIssuesRequest { Parent = "sources/web" })).Issues);
        Assert.Equal((TrackingIssueKind.UnmappedEvent, "Video Played", 1L), (issue.Kind, issue.Name, issue.Count));

        // identify and alias reach the profile service through the bus: one profile holds the e-mail,
        // the user id and both anonymous ids.
        var profile = await SdkIdentity.LinkedProfileAsync(profiles, prefix);
        Assert.Equal("Ann", profile.Traits["first_name"]);
        Assert.Equal(Journey.Common.V1.CustomerType.Known, profile.CustomerType);
    }
}
