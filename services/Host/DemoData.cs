using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Recommendation.V1;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Touchpoint.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Journey.Host;

/// <summary>
/// On the first start of a local host, loads a small car-buying journey (touchpoints from a search
/// ad to the service desk, consent purposes, content for each stage) through the public gRPC APIs,
/// so a newcomer can call them at once. It runs only with the development issuer and only once per
/// data directory.
/// </summary>
internal sealed partial class DemoData(
    IHostApplicationLifetime lifetime,
    IServer server,
    IServiceProvider services,
    IOptions<StorageOptions> storage,
    IOptions<AuthOptions> auth,
    IConfiguration configuration,
    ILogger<DemoData> logger) : BackgroundService
{
    private const string Marker = "demo-data.loaded";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var marker = Path.Combine(storage.Value.DataDirectory, Marker);
        if (!configuration.GetValue("Journey:Demo:Enabled", true) || File.Exists(marker) || !string.IsNullOrWhiteSpace(auth.Value.Authority))
        {
            return;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        var address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var token = services.GetRequiredService<DevelopmentIssuer>().CreateToken("demo-data", [Scopes.Admin], TimeSpan.FromMinutes(5));
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        });
        var modules = services.GetRequiredService<EnabledModules>().Modules.Select(m => m.Name).ToHashSet();
        try
        {
            var loaded = 0;
            if (modules.Contains("touchpoint"))
            {
                loaded += await LoadTouchpointsAsync(new TouchpointService.TouchpointServiceClient(channel), stoppingToken);
            }

            if (modules.Contains("consent"))
            {
                loaded += await LoadPurposesAsync(new ConsentService.ConsentServiceClient(channel), stoppingToken);
            }

            if (modules.Contains("recommendation"))
            {
                loaded += await LoadContentAsync(new RecommendationService.RecommendationServiceClient(channel), stoppingToken);
            }

            await File.WriteAllTextAsync(marker, DateTimeOffset.UtcNow.ToString("O"), stoppingToken);
            LogLoaded(logger, loaded);
        }
        catch (RpcException ex)
        {
            LogFailed(logger, ex.StatusCode.ToString(), ex.Status.Detail);
        }
    }

    /// <summary>Each loading call gets this long: a module that does not answer fails the load instead of holding start-up.</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    private static DateTime Deadline() => DateTime.UtcNow + CallDeadline;

    private static async Task<int> LoadTouchpointsAsync(TouchpointService.TouchpointServiceClient client, CancellationToken ct)
    {
        (string Id, string Name, Channel Channel, Ownership Ownership, JourneyStage[] Stages, int Criticality, double Target, string Feeling, string[] Topics)[] touchpoints =
        [
            ("search-ad", "Search ad: electric SUVs", Channel.Search, Ownership.Paid, [JourneyStage.Awareness], 2, 3.5, "curiosity", ["electric-cars"]),
            ("lease-calculator", "Lease-vs-buy calculator", Channel.Web, Ownership.Owned, [JourneyStage.Consideration], 4, 4.5, "trust in the price", ["leasing", "financing"]),
            ("review-site", "Independent review site", Channel.ThirdPartyReview, Ownership.Earned, [JourneyStage.Evaluation], 4, 4.0, "confidence in the choice", ["electric-cars", "reviews"]),
            ("price-comparison", "Price-comparison site", Channel.PriceComparison, Ownership.Earned, [JourneyStage.Evaluation], 3, 4.0, "a fair deal", ["pricing"]),
            ("newsletter-signup", "Newsletter sign-up form", Channel.Web, Ownership.Owned, [JourneyStage.Consideration], 3, 4.0, "nothing to lose", ["newsletter"]),
            ("newsletter", "Monthly newsletter", Channel.Email, Ownership.Owned, [JourneyStage.Consideration, JourneyStage.Evaluation], 2, 3.8, "worth opening", ["electric-cars", "newsletter"]),
            ("model-pages", "Electric model pages", Channel.Web, Ownership.Owned, [JourneyStage.Evaluation], 4, 4.2, "I can picture it", ["electric-cars"]),
            ("test-drive-booking", "Test-drive booking", Channel.Web, Ownership.Owned, [JourneyStage.Evaluation, JourneyStage.Purchase], 5, 4.6, "easy and personal", ["test-drive"]),
            ("dealer", "Dealer showroom", Channel.DealerStore, Ownership.Owned, [JourneyStage.Purchase], 5, 4.7, "respected, not pressured", ["buying"]),
            ("call-centre", "Customer call centre", Channel.CallCentre, Ownership.Owned, [JourneyStage.Ownership], 4, 4.3, "heard and helped", ["service"]),
            ("service-desk", "Workshop service desk", Channel.Service, Ownership.Owned, [JourneyStage.Ownership, JourneyStage.Loyalty], 5, 4.5, "my car is in good hands", ["service", "maintenance"]),
        ];
        foreach (var t in touchpoints)
        {
            await client.CreateTouchpointAsync(new CreateTouchpointRequest
            {
                TouchpointId = t.Id,
                Touchpoint = new Touchpoint.V1.Touchpoint
                {
                    DisplayName = t.Name,
                    Channel = t.Channel,
                    Ownership = t.Ownership,
                    Stages = { t.Stages },
                    Criticality = t.Criticality,
                    IntendedExperience = new Touchpoint.V1.IntendedExperience { TargetRating = t.Target, Statement = t.Feeling },
                    OwningTeam = "customer-experience",
                    Topics = { t.Topics },
                },
            }, deadline: Deadline(), cancellationToken: ct);
        }

        return touchpoints.Length;
    }

    private static async Task<int> LoadPurposesAsync(ConsentService.ConsentServiceClient client, CancellationToken ct)
    {
        // Three versions of the privacy text; consents under versions before 3 no longer count for the consent-based purposes.
        foreach (var text in new[] { "Privacy notice, first edition.", "Privacy notice, second edition.", "Privacy notice, third edition: personalisation and profiling explained." })
        {
            await client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = text }, deadline: Deadline(), cancellationToken: ct);
        }

        (string Id, string Description, LegalBasis Basis, Channel[] Channels, bool Default, TimeSpan? Validity, int MinimumVersion)[] purposes =
        [
            ("marketing-email", "News and offers by e-mail", LegalBasis.Consent, [Channel.Email], false, TimeSpan.FromDays(730), 3),
            ("personalisation", "Content chosen for you from what you did with us", LegalBasis.Consent, [Channel.Web, Channel.Email, Channel.MobileApp], false, TimeSpan.FromDays(365), 3),
            ("profiling", "Interests and purchase readiness inferred from your journey", LegalBasis.Consent, [Channel.Web, Channel.Email, Channel.MobileApp, Channel.DealerStore], false, TimeSpan.FromDays(365), 3),
            ("analytics", "Measuring how our touchpoints perform", LegalBasis.LegitimateInterest, [Channel.Web, Channel.Email, Channel.MobileApp], true, null, 0),
        ];
        foreach (var p in purposes)
        {
            await client.CreatePurposeAsync(new CreatePurposeRequest
            {
                PurposeId = p.Id,
                Purpose = new Purpose
                {
                    Description = p.Description,
                    LegalBasis = p.Basis,
                    Channels = { p.Channels },
                    DefaultDecision = p.Default ? DefaultDecision.Allow : DefaultDecision.Deny,
                    Validity = p.Validity is { } validity ? Duration.FromTimeSpan(validity) : null,
                    MinimumPolicyVersion = p.MinimumVersion,
                },
            }, deadline: Deadline(), cancellationToken: ct);
        }

        return purposes.Length + 3;
    }

    private static async Task<int> LoadContentAsync(RecommendationService.RecommendationServiceClient client, CancellationToken ct)
    {
        (string Id, string Title, ContentKind Kind, (JourneyStage Stage, double Weight)[] Stages, string[] Topics, double Hardness, bool Marketing, bool Generic)[] items =
        [
            ("electric-driving-explained", "Electric driving, explained", ContentKind.Article, [(JourneyStage.Awareness, 1.0), (JourneyStage.Consideration, 0.5)], ["electric-cars"], 0.0, true, false),
            ("lease-vs-buy-guide", "Lease or buy? A guide", ContentKind.Guide, [(JourneyStage.Consideration, 1.0)], ["leasing", "financing"], 0.1, true, false),
            ("lease-calculator", "Lease-vs-buy calculator", ContentKind.Calculator, [(JourneyStage.Consideration, 0.9), (JourneyStage.Evaluation, 0.5)], ["leasing"], 0.2, true, false),
            ("ev-suv-review", "Independent review: our electric SUV", ContentKind.Review, [(JourneyStage.Evaluation, 1.0)], ["electric-cars", "reviews"], 0.3, true, false),
            ("test-drive", "Book a test drive", ContentKind.TestDriveBooking, [(JourneyStage.Evaluation, 0.8), (JourneyStage.Purchase, 1.0)], ["test-drive"], 0.8, true, false),
            ("spring-offer", "Spring offer: 0.9 % financing", ContentKind.Offer, [(JourneyStage.Purchase, 1.0), (JourneyStage.Evaluation, 0.4)], ["financing"], 1.0, true, false),
            ("price-calculation-explained", "How your price is calculated", ContentKind.ServiceInformation, [(JourneyStage.Evaluation, 0.6), (JourneyStage.Ownership, 0.6)], ["pricing", "service"], 0.0, false, false),
            ("first-service-checklist", "Your first service: a checklist", ContentKind.ServiceInformation, [(JourneyStage.Ownership, 1.0)], ["service", "maintenance"], 0.0, false, false),
            ("owners-newsletter", "The owners' newsletter", ContentKind.Newsletter, [(JourneyStage.Ownership, 0.7), (JourneyStage.Loyalty, 1.0)], ["newsletter"], 0.2, true, false),
            ("brand-story", "Who we are", ContentKind.Video, [(JourneyStage.Awareness, 0.8), (JourneyStage.Consideration, 0.5), (JourneyStage.Evaluation, 0.3), (JourneyStage.Ownership, 0.3)], ["brand"], 0.0, true, true),
        ];
        foreach (var i in items)
        {
            var item = new ContentItem
            {
                Name = $"contents/{i.Id}",
                Title = i.Title,
                Kind = i.Kind,
                Topics = { i.Topics },
                Channels = { Channel.Web, Channel.Email, Channel.MobileApp },
                Hardness = i.Hardness,
                Purpose = i.Marketing ? ContentPurpose.Marketing : ContentPurpose.Service,
                RequiredConsentPurpose = i.Generic || !i.Marketing ? "" : "purposes/personalisation",
                Generic = i.Generic,
            };
            item.Stages.AddRange(i.Stages.Select(s => new StageWeight { Stage = s.Stage, Weight = s.Weight }));
            await client.UpsertContentAsync(new UpsertContentRequest { Content = item }, deadline: Deadline(), cancellationToken: ct);
        }

        return items.Length;
    }

    [LoggerMessage(EventId = 2000, EventName = "DemoDataLoaded", Level = LogLevel.Information, Message = "Loaded {Count} demo records (a car-buying journey); remove demo-data.loaded from the data directory to load them again into a fresh one")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 2001, EventName = "DemoDataFailed", Level = LogLevel.Warning, Message = "Demo data not loaded: {Status} {Detail}")]
    private static partial void LogFailed(ILogger logger, string status, string detail);
}
