using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Consent.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation;
using Journey.Recommendation.V1;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Journey.Host;

/// <summary>
/// On the first start of a local host, loads a car-buying journey through the public gRPC APIs, so a
/// newcomer can call them at once and every report has something to show: the catalog (touchpoints
/// from a search ad to the service desk, consent purposes, content for each stage), segments, and a
/// few hundred simulated people walking the journey over the past weeks (<see cref="DemoPeople"/>).
/// It runs only with the development issuer and only once per data directory, and logs
/// <see cref="LoadedMessage"/> once the profile service has applied every person.
/// </summary>
internal sealed partial class DemoData(
    IHostApplicationLifetime lifetime,
    IServer server,
    IServiceProvider services,
    IOptions<DemoOptions> demo,
    IOptions<StorageOptions> storage,
    IOptions<AuthOptions> auth,
    IOptions<TouchpointOptions> touchpoint,
    TimeProvider time,
    ILogger<DemoData> logger) : BackgroundService
{
    /// <summary>The start of the line the host logs when the demo is in and applied.</summary>
    public const string LoadedMessage = "Demo data loaded";

    /// <summary>The start of the line the host logs when a data directory already holds the demo.</summary>
    public const string AlreadyLoadedMessage = "Demo data already loaded";

    private const string Marker = "demo-data.loaded";

    /// <summary>How long the load waits for the profile service to apply what it sent before it reports anyway.</summary>
    private static readonly TimeSpan ApplyLimit = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var marker = Path.Combine(storage.Value.DataDirectory, Marker);
        if (!demo.Value.Enabled || !string.IsNullOrWhiteSpace(auth.Value.Authority))
        {
            return;
        }

        if (File.Exists(marker))
        {
            // Said once, so an operator (and a test) knows the demo was looked at and left alone.
            LogAlreadyLoaded(logger, marker);
            return;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        var clock = time.GetTimestamp();
        var address = server.Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var token = services.GetRequiredService<DevelopmentIssuer>().CreateToken(
            "demo-data", [Scopes.Admin, TouchpointScopes.Write, ProfileScopes.Write, ProfileScopes.Read, ConsentScopes.Write, RecommendationScopes.Read, RecommendationScopes.Write], TimeSpan.FromMinutes(10));
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
            var catalog = 0;
            if (modules.Contains("touchpoint"))
            {
                catalog += await LoadTouchpointsAsync(new TouchpointService.TouchpointServiceClient(channel), stoppingToken);
            }

            if (modules.Contains("consent"))
            {
                catalog += await LoadPurposesAsync(new ConsentService.ConsentServiceClient(channel), stoppingToken);
            }

            if (modules.Contains("recommendation"))
            {
                catalog += await LoadContentAsync(new RecommendationService.RecommendationServiceClient(channel), stoppingToken);
            }

            // A second load would collide with the catalog, so the directory counts as loaded once the
            // catalog is in: a host stopped while the people load keeps those sent so far and never
            // loads them twice.
            await File.WriteAllTextAsync(marker, time.GetUtcNow().ToString("O"), stoppingToken);
            var (people, interactions, segments) = demo.Value.People > 0 && modules.Contains("touchpoint")
                ? await LoadPeopleAsync(channel, modules, stoppingToken)
                : (0, 0, 0);
            var seconds = time.GetElapsedTime(clock).TotalSeconds;
            LogLoaded(logger, catalog, people, interactions, segments, seconds);
        }
        catch (RpcException ex)
        {
            LogFailed(logger, ex.StatusCode.ToString(), ex.Status.Detail);
        }
    }

    /// <summary>
    /// Defines the segments, identifies the dealer's customers, records the consents, streams every
    /// interaction in time order, and waits until the profile service has applied them all.
    /// </summary>
    private async Task<(int People, int Interactions, int Segments)> LoadPeopleAsync(GrpcChannel channel, HashSet<string> modules, CancellationToken ct)
    {
        var people = DemoPeople.Create(demo.Value.People, time.GetUtcNow(), touchpoint.Value.SilencePeriod, touchpoint.Value.Retention);
        var profiles = modules.Contains("profile") ? new ProfileService.ProfileServiceClient(channel) : null;
        var segments = 0;
        if (profiles is not null)
        {
            segments = await DefineSegmentsAsync(profiles, ct);

            // The dealer's system identifies its customers; everyone else becomes known through the
            // e-mail their sign-up or booking carried.
            await Parallel.ForEachAsync(
                people.Where(p => p.CustomerId is not null),
                new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct },
                async (person, token) => await profiles.IdentifyAsync(
                    new IdentifyRequest { Identifiers = { person.CustomerId!, person.Email! }, Traits = { ["preferred_model"] = person.PreferredModel } },
                    deadline: Deadline(), cancellationToken: token));
        }

        if (modules.Contains("consent"))
        {
            var consent = new ConsentService.ConsentServiceClient(channel);
            foreach (var batch in people.SelectMany(p => p.Consents).Chunk(1000))
            {
                var recorded = await consent.BatchRecordConsentAsync(new BatchRecordConsentRequest { Records = { batch } }, deadline: Deadline(), cancellationToken: ct);
                if (recorded.Rejected.Count > 0)
                {
                    LogRejected(logger, "consent decisions", recorded.Rejected.Count, recorded.Rejected[0].Field, recorded.Rejected[0].Reason);
                }
            }

            foreach (var withdrawal in people.Select(p => p.Withdrawal).OfType<WithdrawConsentRequest>())
            {
                await consent.WithdrawConsentAsync(withdrawal, deadline: Deadline(), cancellationToken: ct);
            }
        }

        // Oldest first, as collectors send them, in as few messages as the stream takes.
        var interactions = people.SelectMany(p => p.Interactions).OrderBy(i => i.OccurTime).ThenBy(i => i.InteractionId, StringComparer.Ordinal).ToList();
        using (var stream = new TouchpointService.TouchpointServiceClient(channel).StreamInteractions(deadline: DateTime.UtcNow + StreamDeadline, cancellationToken: ct))
        {
            foreach (var batch in interactions.Chunk(1000))
            {
                await stream.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { batch } }, ct);
            }

            await stream.RequestStream.CompleteAsync();
            var summary = await stream.ResponseAsync;
            if (summary.RejectedCount > 0)
            {
                LogRejected(logger, "interactions", (int)summary.RejectedCount, summary.Rejected[0].Field, summary.Rejected[0].Reason);
            }
        }

        if (profiles is not null && !await AppliedAsync(profiles, people, ct))
        {
            LogNotApplied(logger, ApplyLimit.TotalSeconds);
        }

        if (profiles is not null && modules.Contains("recommendation"))
        {
            await ShowRecommendationsAsync(new RecommendationService.RecommendationServiceClient(channel), people, ct);
        }

        return (people.Count, interactions.Count, segments);
    }

    /// <summary>
    /// Shows known people what would be recommended where they were last seen, and reports what they
    /// did with it, so the content view has learned rates from the start: everything shown is an
    /// impression, the first item is clicked more often than the others, and a few click through to a
    /// conversion. A stable hash of person and item decides, so every load learns the same.
    /// </summary>
    private static async Task ShowRecommendationsAsync(RecommendationService.RecommendationServiceClient client, IReadOnlyList<DemoPerson> people, CancellationToken ct)
    {
        foreach (var person in people.Where(p => p.Email is not null && p.Interactions.Count > 0))
        {
            var answer = await client.RecommendAsync(
                new RecommendRequest
                {
                    Person = new PersonRef { Identifiers = new IdentifierSet { Identifiers = { person.Email! } } },
                    Touchpoint = person.Interactions[^1].Touchpoint,
                    Count = 3,
                },
                deadline: Deadline(),
                cancellationToken: ct);
            for (var position = 0; position < answer.Items.Count; position++)
            {
                var content = answer.Items[position].Content;
                var roll = Roll(person.Email!.Value, content);
                var reported = roll < 0.05 ? [FeedbackType.Impression, FeedbackType.Click, FeedbackType.Conversion]
                    : roll < (position == 0 ? 0.35 : 0.12) ? [FeedbackType.Impression, FeedbackType.Click]
                    : new[] { FeedbackType.Impression };
                foreach (var type in reported)
                {
                    await client.RecordFeedbackAsync(
                        new RecordFeedbackRequest { Recommendation = answer.Recommendation, Content = content, Type = type, FeedbackId = $"demo-{type}" },
                        deadline: Deadline(),
                        cancellationToken: ct);
                }
            }
        }
    }

    /// <summary>A stable number in [0, 1) for a person and an item (FNV-1a; string hashes differ between runs).</summary>
    private static double Roll(string person, string content)
    {
        var hash = 2166136261u;
        foreach (var c in person + "|" + content)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash / 4294967296.0;
    }

    private static async Task<int> DefineSegmentsAsync(ProfileService.ProfileServiceClient client, CancellationToken ct)
    {
        var segments = DemoPeople.SegmentRequests();
        foreach (var segment in segments)
        {
            await client.CreateSegmentAsync(segment, deadline: Deadline(), cancellationToken: ct);
        }

        return segments.Count;
    }

    /// <summary>
    /// Waits until the profile service shows every person's last interaction (and the withdrawal),
    /// reading each person's profile once it should be there: events are applied in about the order
    /// they were sent, so mostly one read per person. False when <see cref="ApplyLimit"/> passed first.
    /// </summary>
    private async Task<bool> AppliedAsync(ProfileService.ProfileServiceClient client, IReadOnlyList<DemoPerson> people, CancellationToken ct)
    {
        var expected = people
            .Where(p => p.Interactions.Count > 0)
            .Select(p => (Identifier: p.Interactions[^1].Identifiers[0], Last: p.Interactions[^1].OccurTime, Withdrawn: p.Withdrawal is not null))
            .OrderBy(e => e.Last)
            .ToList();
        var waiting = time.GetTimestamp();
        foreach (var (identifier, last, withdrawn) in expected)
        {
            while (true)
            {
                try
                {
                    var profile = (await client.LookupProfileAsync(new LookupProfileRequest { Person = new PersonRef { Identifiers = new IdentifierSet { Identifiers = { identifier } } } }, deadline: Deadline(), cancellationToken: ct)).Profile;
                    if (profile.LastInteractionTime is { } seen && seen >= last && !(withdrawn && profile.ProfilingAllowed))
                    {
                        break;
                    }
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
                {
                    // Not applied yet.
                }

                if (time.GetElapsedTime(waiting) > ApplyLimit)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), time, ct);
            }
        }

        return true;
    }

    /// <summary>Each loading call gets this long: a module that does not answer fails the load instead of holding start-up.</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    /// <summary>The interaction stream gets this long: a few thousand interactions take a second or two.</summary>
    private static readonly TimeSpan StreamDeadline = TimeSpan.FromMinutes(1);

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
            ("price-calculation-explained", "How your price is calculated", ContentKind.ServiceInformation, [(JourneyStage.Evaluation, 0.6), (JourneyStage.Ownership, 0.6)], ["pricing", "service"], 0.0, false, true),
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
            await client.UpdateContentAsync(new UpdateContentRequest { Content = item, UpdateMask = new FieldMask { Paths = { "*" } }, AllowMissing = true }, deadline: Deadline(), cancellationToken: ct);
        }

        return items.Length;
    }

    [LoggerMessage(EventId = 2000, EventName = "DemoDataLoaded", Level = LogLevel.Information,
        Message = LoadedMessage + ": {Catalog} catalog records, {People} people with {Interactions} interactions, {Segments} segments, in {Seconds:0.0} s")]
    private static partial void LogLoaded(ILogger logger, int catalog, int people, int interactions, int segments, double seconds);

    [LoggerMessage(EventId = 2001, EventName = "DemoDataFailed", Level = LogLevel.Warning, Message = "Demo data not loaded: {Status} {Detail}")]
    private static partial void LogFailed(ILogger logger, string status, string detail);

    [LoggerMessage(EventId = 2002, EventName = "DemoDataRejected", Level = LogLevel.Warning, Message = "Demo data: {Count} {What} were refused, the first at {Field}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string what, int count, string field, string reason);

    [LoggerMessage(EventId = 2004, EventName = "DemoDataAlreadyLoaded", Level = LogLevel.Information, Message = AlreadyLoadedMessage + " ({Marker} exists); not loaded again")]
    private static partial void LogAlreadyLoaded(ILogger logger, string marker);

    [LoggerMessage(EventId = 2003, EventName = "DemoDataNotApplied", Level = LogLevel.Warning, Message = "Demo data: the profile service had not applied every simulated person after {Seconds} s")]
    private static partial void LogNotApplied(ILogger logger, double seconds);
}
