using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// One customer's journey through all four services of a real platform host (its own process, each
/// service with its own SQLite store, events crossing the bus as bytes), driven and checked through
/// the public gRPC APIs only, on the host's own demo catalog: touchpoints, purposes, policy versions
/// and content of a car maker.
/// It runs alone, not beside the other host processes, because it measures a one-second promise.
/// </summary>
[Collection(nameof(JourneyEndToEndTests))]
public sealed class JourneyEndToEndTests : IAsyncLifetime
{
    private static readonly Identifier Cookie = new() { Kind = IdentifierKind.AnonymousId, Value = "cookie-5f3a" };
    private static readonly Identifier AdClick = new() { Kind = IdentifierKind.AdClickId, Value = "gclid-77ab" };
    private static readonly Identifier Email = new() { Kind = IdentifierKind.Email, Value = "Lena.Berger@Example.com" };

    private static readonly ContentKind[] Soft = [ContentKind.Article, ContentKind.Guide, ContentKind.Calculator, ContentKind.Review, ContentKind.Video, ContentKind.Newsletter];
    private static readonly ContentKind[] Hard = [ContentKind.TestDriveBooking, ContentKind.Offer];

    private readonly string _data = Directory.CreateTempSubdirectory("journey-e2e-").FullName;
    private HostProcess _host = null!;
    private GrpcChannel _channel = null!;
    private TouchpointService.TouchpointServiceClient _touchpoints = null!;
    private ProfileService.ProfileServiceClient _profiles = null!;
    private ConsentService.ConsentServiceClient _consent = null!;
    private RecommendationService.RecommendationServiceClient _recommendations = null!;
    private int _sequence;

    public async Task InitializeAsync()
    {
        // The demo's catalog without its simulated people: this journey counts its own purchase.
        _host = HostProcess.Start(_data, "--Journey:Demo:Enabled=true", "--Journey:Demo:People=0");
        await _host.WaitUntilListeningAsync();
        _channel = _host.CreateChannel(_data, [.. JourneyServices.Known.Scopes.All]);
        _touchpoints = new TouchpointService.TouchpointServiceClient(_channel);
        _profiles = new ProfileService.ProfileServiceClient(_channel);
        _consent = new ConsentService.ConsentServiceClient(_channel);
        _recommendations = new RecommendationService.RecommendationServiceClient(_channel);
        Assert.True(await TestPlatform.EventuallyAsync(DemoCatalogLoadedAsync, TimeSpan.FromSeconds(60)), "the demo catalog was not loaded:\n" + _host.Output);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Journey_FromSearchAdToPurchaseToErasure_IsSeenAlikeByEveryService()
    {
        // 1. An anonymous visitor clicks a search ad and uses the lease-vs-buy calculator.
        await RecordAsync("search-ad", InteractionType.Click, Cookie, AdClick);
        await RecordAsync("lease-calculator", InteractionType.ContentConsumed, [Cookie], "contents/lease-calculator", null);
        var anonymous = await EventuallyProfileAsync(Cookie, p => p.Stage == JourneyStage.Consideration);
        Assert.Equal(Journey.Common.V1.CustomerType.Anonymous, anonymous.CustomerType);
        Assert.Equal([JourneyStage.Awareness, JourneyStage.Consideration], anonymous.StageHistory.Select(s => s.Stage));
        var early = await RecommendAsync("lease-calculator", Channel.Web, Cookie);
        Assert.NotEmpty(early.Items);
        Assert.All(early.Items, item => Assert.Contains(item.Kind, Soft));

        // 2. On third-party sites (known only by her ad click id) she reads a review and compares prices.
        await RecordAsync("review-site", InteractionType.ContentConsumed, [AdClick], "contents/ev-suv-review", null);
        await RecordAsync("price-comparison", InteractionType.View, AdClick);
        var evaluating = await EventuallyProfileAsync(Cookie, p => p.Stage == JourneyStage.Evaluation);
        Assert.Equal(anonymous.Name, evaluating.Name);

        // 3. She signs up for the newsletter: the newsletter system knows her by e-mail, the sign-up form
        //    links that address to her cookie, and she consents under policy version 3.
        var known = await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { Email }, Traits = { ["first_name"] = "Lena" } });
        Assert.True(known.Created);
        await RecordAsync("newsletter-signup", InteractionType.FormSubmit, Cookie, Email);
        foreach (var purpose in new[] { "purposes/marketing-email", "purposes/personalisation" })
        {
            await _consent.RecordConsentAsync(new RecordConsentRequest
            {
                Person = Persons.Of(Email, Cookie),
                Purpose = purpose,
                Decision = ConsentDecision.Granted,
                PolicyVersion = 3,
                CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(-1)),
                Touchpoint = "newsletter-signup",
                FormId = "newsletter-signup-v3",
            });
        }

        var merged = await EventuallyProfileAsync(Cookie, p => p.Name == known.Profile.Name);
        Assert.Equal(Journey.Common.V1.CustomerType.Known, merged.CustomerType);
        Assert.Equal(JourneyStage.Evaluation, merged.Stage);
        Assert.Contains(merged.StageHistory, s => s.Stage == JourneyStage.Awareness);
        var merges = await _profiles.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = merged.Name });
        Assert.Equal(anonymous.Name, Assert.Single(merges.Merges).Merged);
        var byProfile = new Identifier { Kind = IdentifierKind.ProfileId, Value = merged.Name["profiles/".Length..] };
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await TimelineAsync(byProfile)).Any(i => i.Interaction.Touchpoint == "touchpoints/search-ad" && i.Profile == merged.Name)),
            "the touchpoint timeline of her profile does not hold her anonymous history");
        Assert.True((await _consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(Email), Purpose = "purposes/marketing-email", Channel = Channel.Email })).Allowed);
        Assert.True((await _consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(Email), Purpose = "purposes/personalisation", Channel = Channel.Web })).Allowed);

        // 4. She opens the newsletter, browses electric models, adds one to the cart and leaves.
        var readinessBefore = merged.Readiness;
        await RecordAsync("newsletter", InteractionType.EmailOpen, Email);
        await RecordAsync("model-pages", InteractionType.View, Cookie);
        await RecordAsync("model-pages", InteractionType.CartAdd, Cookie);
        await RecordAsync("model-pages", InteractionType.CartAbandoned, Cookie);
        var ready = await EventuallyProfileAsync(Email, p => p.AbandonedCart && p.Readiness > readinessBefore);
        Assert.Equal(JourneyStage.Evaluation, ready.Stage);
        // Ranking samples learned click rates (Thompson sampling), so which item comes first varies; the
        // rule is that hard content is offered now, with her readiness as the reason.
        var hard = await EventuallyRecommendationAsync("model-pages", Channel.Web, Cookie, r => r.Items.Any(i => Hard.Contains(i.Kind)));
        Assert.True(hard.Personalised);
        Assert.Contains(hard.Items.First(i => Hard.Contains(i.Kind)).Reasons, r => r.Code == ReasonCode.ReadyToBuy);

        // 5. She opens a service ticket about how her price was calculated: marketing stops, service content is offered.
        await RecordAsync("call-centre", InteractionType.ServiceTicketOpened, [Email]);
        await EventuallyProfileAsync(Email, p => p.OpenServiceTickets == 1);
        var service = await EventuallyRecommendationAsync("model-pages", Channel.Web, Cookie, r => r.Items.All(i => i.Kind == ContentKind.ServiceInformation));
        Assert.Contains(service.Items, i => i.Content == "contents/price-calculation-explained");
        Assert.Contains(service.Items[0].Reasons, r => r.Code == ReasonCode.ServiceTicketOpen);

        // 6. The ticket is resolved; she books a test drive and buys at the dealer.
        await RecordAsync("call-centre", InteractionType.ServiceTicketResolved, Email);
        await RecordAsync("test-drive-booking", InteractionType.TestDriveBooked, Cookie);
        await RecordAsync("dealer", InteractionType.Purchase, [Email], "", new Money { CurrencyCode = "EUR", Units = 48_900 });
        var owner = await EventuallyProfileAsync(Email, p => p.Stage == JourneyStage.Ownership);
        Assert.Equal(0, owner.OpenServiceTickets);
        Assert.Equal(1, owner.Purchases);
        var funnel = await _touchpoints.GetJourneyFunnelAsync(new GetJourneyFunnelRequest());
        // Before buying she passed the search ad, calculator, review and price-comparison sites, sign-up
        // form, newsletter, model pages, call centre and test-drive booking: nine distinct touchpoints.
        Assert.Equal(1, funnel.TouchpointsBeforePurchase.Purchases);
        Assert.Equal(9, funnel.TouchpointsBeforePurchase.Median);
        Assert.Equal(1, funnel.Stages.Single(s => s.Stage == JourneyStage.Purchase).People);
        var dealer = await _touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/dealer" });
        Assert.Equal(1, dealer.Scorecard.Purchasers);
        var searchAd = await _touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/search-ad" });
        Assert.Equal(1, searchAd.Scorecard.Purchasers);
        var ownership = await EventuallyRecommendationAsync("service-desk", Channel.Web, Cookie, r => r.Stage == JourneyStage.Ownership);
        Assert.Contains(ownership.Items, i => i.Content is "contents/first-service-checklist" or "contents/owners-newsletter");
        Assert.DoesNotContain(ownership.Items, i => i.Kind == ContentKind.Offer);

        // 7. She withdraws personalisation: within a second every recommendation is generic.
        var withdrawn = Stopwatch.StartNew();
        await _consent.WithdrawConsentAsync(new WithdrawConsentRequest
        {
            Person = Persons.Of(Email),
            Purpose = "purposes/personalisation",
            CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(-1)),
            Touchpoint = "service-desk",
        });
        var generic = await EventuallyRecommendationAsync("model-pages", Channel.Web, Cookie, r => !r.Personalised, TimeSpan.FromSeconds(1));
        Assert.True(withdrawn.Elapsed < TimeSpan.FromSeconds(1), $"recommendations turned generic after {withdrawn.Elapsed.TotalMilliseconds:F0} ms");
        Assert.All(generic.Items, i => Assert.Contains(i.Reasons, r => r.Code is ReasonCode.GenericNoConsent or ReasonCode.FallbackGeneric));

        //    Then she asks to be forgotten: every service reports completion, and no API knows her any more.
        var erasure = (await _consent.RequestErasureAsync(new RequestErasureRequest { Person = Persons.Of(Email, Cookie, AdClick) })).Erasure;
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await _consent.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure.State == ErasureState.Completed, TimeSpan.FromSeconds(30)),
            "not every service reported the erasure");
        var status = (await _consent.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure;
        Assert.Equal(["touchpoint", "profile", "consent", "recommendation"], status.Services.Select(s => s.Service));
        Assert.All(status.Services, s => Assert.True(s.Completed));
        foreach (var identifier in new[] { Email, Cookie, AdClick })
        {
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(identifier) }))).StatusCode);
            Assert.Empty(await TimelineAsync(identifier));
        }

        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await _profiles.GetProfileAsync(new GetProfileRequest { Name = owner.Name }))).StatusCode);
        var forgotten = await _consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(Email), Purpose = "purposes/marketing-email", Channel = Channel.Email });
        Assert.False(forgotten.Allowed);
        var stranger = await RecommendAsync("model-pages", Channel.Web, Cookie);
        Assert.False(stranger.Personalised);
    }

    private async Task<bool> DemoCatalogLoadedAsync()
    {
        var contents = await _recommendations.ListContentsAsync(new ListContentsRequest { PageSize = 100 });
        return contents.Contents.Any(c => c.Name == "contents/brand-story");
    }

    private Task RecordAsync(string touchpoint, InteractionType type, params Identifier[] identifiers) =>
        RecordAsync(touchpoint, type, identifiers, "", null);

    private async Task RecordAsync(string touchpoint, InteractionType type, Identifier[] identifiers, string content, Money? value)
    {
        var interaction = new Interaction
        {
            InteractionId = $"e2e-{++_sequence}",
            Touchpoint = $"touchpoints/{touchpoint}",
            OccurTime = Timestamp.FromDateTime(DateTime.UtcNow),
            Type = type,
            Content = content,
            Value = value,
        };
        interaction.Identifiers.AddRange(identifiers);
        var response = await _touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });
        Assert.False(response.Duplicate);
    }

    private async Task<Journey.Profile.V1.Profile> EventuallyProfileAsync(Identifier identifier, Func<Journey.Profile.V1.Profile, bool> condition)
    {
        Journey.Profile.V1.Profile? last = null;
        var reached = await TestPlatform.EventuallyAsync(async () =>
        {
            try
            {
                last = (await _profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(identifier) })).Profile;
                return condition(last);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15));
        Assert.True(reached, $"the profile did not reach the expected state; last seen: {last}");
        return last!;
    }

    private Task<RecommendResponse> RecommendAsync(string touchpoint, Channel channel, params Identifier[] identifiers)
    {
        var request = new RecommendRequest { Touchpoint = $"touchpoints/{touchpoint}", Channel = channel, Count = 3 };
        request.Person = Persons.Of(identifiers);
        return _recommendations.RecommendAsync(request).ResponseAsync;
    }

    private async Task<RecommendResponse> EventuallyRecommendationAsync(
        string touchpoint, Channel channel, Identifier identifier, Func<RecommendResponse, bool> condition, TimeSpan? timeout = null)
    {
        RecommendResponse? last = null;
        var reached = await TestPlatform.EventuallyAsync(async () => condition(last = await RecommendAsync(touchpoint, channel, identifier)), timeout ?? TimeSpan.FromSeconds(15));
        Assert.True(reached, $"recommendations did not reach the expected state; last seen: {last}");
        return last!;
    }

    private async Task<List<RecordedInteraction>> TimelineAsync(Identifier identifier) =>
        [.. (await _touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(identifier), PageSize = 100 })).Interactions];
}

/// <summary>Runs the end-to-end journey with no other test class beside it.</summary>
[CollectionDefinition(nameof(JourneyEndToEndTests), DisableParallelization = true)]
public sealed class JourneyEndToEndCollection;
