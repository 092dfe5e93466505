using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Consent.V1;
using Journey.Events.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation;
using Journey.Recommendation.V1;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Host.Tests;

/// <summary>
/// Erasure through the public APIs of a platform host on SQLite (four stores and the in-process bus
/// in a temporary data directory): a person known by a customer id, an e-mail address and a phone
/// number, with interactions, consent, a recommendation and feedback, and a last name sent through the
/// tracking API's identify (which crosses the bus in clear), is erased; once every service
/// reports completion and the bus is drained, no byte of any file in the data directory (the
/// databases, their -wal and -shm files) holds any of the identifiers, in clear, normalised or as a
/// keyed hash in any encoding; and events stamped before the erasure, delivered after it, bring the
/// person back in no service.
/// </summary>
[Collection(nameof(ErasureEndToEndTests))]
public sealed class ErasureEndToEndTests : IAsyncLifetime
{
    private const string CustomerNumber = "CUST-7391-ZQ";
    private const string EmailAddress = "Mira.Kovac@Example.org";
    private const string PhoneNumber = "+49 (170) 555-0199";

    /// <summary>A trait sent through the tracking API's identify, which reaches the profile through the bus.</summary>
    private const string TrackedLastName = "Zvonimirova-Quell";

    private static readonly Identifier CustomerId = new() { Kind = IdentifierKind.CustomerId, Value = CustomerNumber };
    private static readonly Identifier Email = new() { Kind = IdentifierKind.Email, Value = EmailAddress };
    private static readonly Identifier Phone = new() { Kind = IdentifierKind.Phone, Value = PhoneNumber };
    private static readonly Identifier[] Person = [CustomerId, Email, Phone];

    private readonly string _data = Directory.CreateTempSubdirectory("journey-erasure-").FullName;
    private TestPlatform? _platform;
    private TouchpointService.TouchpointServiceClient _touchpoints = null!;
    private ProfileService.ProfileServiceClient _profiles = null!;
    private ConsentService.ConsentServiceClient _consent = null!;
    private RecommendationService.RecommendationServiceClient _recommendations = null!;
    private IdentifierHasher _hasher = null!;
    private int _sequence;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync(
            [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition],
            new Dictionary<string, string?> { ["Journey:Demo:Enabled"] = "true", ["Journey:Demo:People"] = "0", ["Journey:Hosting:HttpPort"] = "0" },
            services => services.AddJourneyDemo(),
            _data);
        _touchpoints = new TouchpointService.TouchpointServiceClient(_platform.Channel);
        _profiles = new ProfileService.ProfileServiceClient(_platform.Channel);
        _consent = new ConsentService.ConsentServiceClient(_platform.Channel);
        _recommendations = new RecommendationService.RecommendationServiceClient(_platform.Channel);
        _hasher = new IdentifierHasher(PrivacyKeys.IdentifierHashKey(new PrivacyOptions(), new StorageOptions { DataDirectory = _data }));
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await _recommendations.ListContentsAsync(new ListContentsRequest { PageSize = 100 })).Contents.Any(c => c.Name == "contents/brand-story"), TimeSpan.FromSeconds(60)),
            "the demo catalog was not loaded");
    }

    public async Task DisposeAsync()
    {
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Erasure_WhenCompletedAndDrained_LeavesNoByteOfThePersonInAnyStoreFile()
    {
        var profile = await CreatePersonAsync();
        var needles = Needles(profile);
        Assert.Contains(Scan(needles), f => f.Contains("last name from the tracking API", StringComparison.Ordinal));

        await EraseAsync();
        await DrainAsync();
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(Scan(needles).Count == 0), TimeSpan.FromSeconds(10)),
            "while the host runs, after the erasure completed: " + string.Join("; ", Scan(needles)));

        await StopAsync();
        var found = Scan(needles);
        Assert.True(found.Count == 0, "after a graceful stop: " + string.Join("; ", found));
    }

    [Fact]
    public async Task Erasure_WhenEventsStampedBeforeItArriveAfterCompletion_BringsThePersonBackNowhere()
    {
        var profile = await CreatePersonAsync();
        var beforeErasure = DateTimeOffset.UtcNow;
        await EraseAsync();
        await DrainAsync();

        // What a broker may still deliver after the erasure: the person's interaction, their consent and
        // their profile snapshot, each stamped before the erasure and carrying every identifier.
        var hashed = new[]
        {
            new Identifier { Kind = IdentifierKind.CustomerId, Value = CustomerNumber },
            new Identifier { Kind = IdentifierKind.Email, Value = _hasher.HashEmail(EmailAddress) },
            new Identifier { Kind = IdentifierKind.Phone, Value = _hasher.HashPhone(PhoneNumber) },
            new Identifier { Kind = IdentifierKind.ProfileId, Value = profile["profiles/".Length..] },
        };
        var interaction = new InteractionRecorded
        {
            InteractionId = "erasure-replay-1",
            Touchpoint = "touchpoints/lease-calculator",
            Channel = Channel.Web,
            Ownership = Ownership.Owned,
            OccurTime = Timestamp.FromDateTimeOffset(beforeErasure.AddSeconds(-5)),
            Type = InteractionType.ContentConsumed,
            Content = "contents/lease-calculator",
            Stages = { JourneyStage.Consideration },
            Identifiers = { hashed },
        };
        var consent = new ConsentChanged
        {
            Subject = "subjects/" + Guid.NewGuid(),
            Purpose = "purposes/personalisation",
            Granted = true,
            PolicyVersion = "3",
            EffectiveTime = Timestamp.FromDateTimeOffset(beforeErasure.AddSeconds(-4)),
            Cause = ConsentChangeCause.Recorded,
            Identifiers = { hashed },
        };
        var snapshot = new ProfileUpdated
        {
            Profile = profile,
            Identifiers = { hashed },
            CustomerType = Journey.Common.V1.CustomerType.Known,
            Stage = JourneyStage.Consideration,
            Readiness = 40,
            ProfilingAllowed = true,
            UpdateTime = Timestamp.FromDateTimeOffset(beforeErasure.AddSeconds(-3)),
            Version = 1_000,
        };
        var identity = new IdentityObserved
        {
            Source = "sources/web",
            MessageId = "erasure-replay-identify",
            Identifiers = { hashed[..3] },
            Traits = { ["last_name"] = TrackedLastName },
            ObserveTime = Timestamp.FromDateTimeOffset(beforeErasure.AddSeconds(-2)),
        };
        var bus = _platform!.Services.GetRequiredService<InProcessBus>();
        await bus.PublishAsync(TouchpointModule.Name, [EventEnvelopes.Create(TouchpointTopics.InteractionRecorded, TouchpointModule.Name, interaction, beforeErasure.AddSeconds(-5))], default);
        await bus.PublishAsync(TouchpointModule.Name, [EventEnvelopes.Create(TouchpointTopics.IdentityObserved, TouchpointModule.Name, identity, beforeErasure.AddSeconds(-2))], default);
        await bus.PublishAsync(ConsentModule.Name, [EventEnvelopes.Create(ConsentTopics.ConsentChanged, ConsentModule.Name, consent, beforeErasure.AddSeconds(-4))], default);
        await bus.PublishAsync(ProfileModule.Name, [EventEnvelopes.Create(ProfileTopics.ProfileUpdated, ProfileModule.Name, snapshot, beforeErasure.AddSeconds(-3))], default);
        await DrainAsync();

        foreach (var identifier in Person)
        {
            var lookup = await Assert.ThrowsAsync<RpcException>(async () => await _profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(identifier) }));
            Assert.Equal(StatusCode.NotFound, lookup.StatusCode);
            Assert.Empty((await _touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(identifier), PageSize = 10 })).Interactions);
        }

        // The recommendation service has no read that would not itself store the identifiers it is
        // asked about (a recommendation is recorded per person), so its store is read byte for byte.
        await StopAsync();
        var found = Scan(Needles(profile));
        Assert.True(found.Count == 0, "the replayed events were stored: " + string.Join("; ", found));
    }

    /// <summary>Creates the person in every service and returns their profile name.</summary>
    private async Task<string> CreatePersonAsync()
    {
        var identified = await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { Person }, Traits = { ["first_name"] = "Mira" } });
        await IdentifyThroughTrackingAsync();
        await RecordAsync("newsletter-signup", InteractionType.FormSubmit, "");
        await RecordAsync("lease-calculator", InteractionType.ContentConsumed, "contents/lease-calculator");
        await RecordAsync("model-pages", InteractionType.View, "");
        foreach (var purpose in new[] { "purposes/marketing-email", "purposes/personalisation", "purposes/profiling" })
        {
            await _consent.RecordConsentAsync(new RecordConsentRequest
            {
                Person = Persons.Of(Person),
                Purpose = purpose,
                Decision = Journey.Consent.V1.ConsentDecision.Granted,
                PolicyVersion = 3,
                CaptureTime = Timestamp.FromDateTime(DateTime.UtcNow.AddSeconds(-1)),
                Touchpoint = "newsletter-signup",
                FormId = "newsletter-signup-v3",
                IpAddress = "192.0.2.44",
                UserAgent = "Mozilla/5.0",
            });
        }

        await DrainAsync();
        RecommendResponse? recommended = null;
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
        {
            recommended = await _recommendations.RecommendAsync(new RecommendRequest { Touchpoint = "touchpoints/model-pages", Channel = Channel.Web, Count = 3, Person = Persons.Of(CustomerId) });
            return recommended.Personalised && recommended.Items.Count > 0;
        }, TimeSpan.FromSeconds(15)), $"no personalised recommendation: {recommended}");
        var item = recommended!.Items[0].Content;
        await _recommendations.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = recommended.Recommendation, Content = item, Type = FeedbackType.Impression, FeedbackId = "impression-1" });
        await _recommendations.RecordFeedbackAsync(new RecordFeedbackRequest { Recommendation = recommended.Recommendation, Content = item, Type = FeedbackType.Click, FeedbackId = "click-1" });
        await RecordAsync("model-pages", InteractionType.RecommendationClick, item, recommended.Recommendation);
        await DrainAsync();
        return identified.Profile.Name;
    }

    /// <summary>
    /// An identify through the tracking API with the person's e-mail and a last name: its
    /// <c>identity-observed</c> crosses the bus to the profile service, which keeps the last name.
    /// </summary>
    private async Task IdentifyThroughTrackingAsync()
    {
        var sources = new TrackingSourceService.TrackingSourceServiceClient(_platform!.Channel);
        await sources.CreateSourceAsync(new CreateSourceRequest { SourceId = "web", Source = new Source { DisplayName = "Web shop" } });
        var key = (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
        using var http = new HttpClient { BaseAddress = new Uri(_platform.HttpAddress!) };
        var body = $$$"""{"writeKey":"{{{key}}}","messageId":"erasure-identify-1","userId":"{{{CustomerNumber}}}","traits":{"email":"{{{EmailAddress}}}","lastName":"{{{TrackedLastName}}}"}}""";
        using var response = await http.PostAsync("/v1/identify", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await _profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(CustomerId) })).Profile.Traits.TryGetValue("last_name", out var name) && name == TrackedLastName,
            TimeSpan.FromSeconds(15)), "the tracked identify did not reach the profile");
    }

    private async Task EraseAsync()
    {
        var erasure = (await _consent.RequestErasureAsync(new RequestErasureRequest { Person = Persons.Of(Person) })).Erasure;
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await _consent.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure.State == ErasureState.Completed, TimeSpan.FromSeconds(30)),
            "not every service reported the erasure");
    }

    private async Task StopAsync()
    {
        await _platform!.DisposeAsync();
        _platform = null;
    }

    private async Task RecordAsync(string touchpoint, InteractionType type, string content, string recommendation = "")
    {
        var interaction = new Interaction
        {
            InteractionId = $"erasure-{++_sequence}",
            Touchpoint = $"touchpoints/{touchpoint}",
            OccurTime = Timestamp.FromDateTime(DateTime.UtcNow),
            Type = type,
            Content = content,
            Recommendation = recommendation,
            Identifiers = { Person },
        };
        Assert.False((await _touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction })).Duplicate);
    }

    /// <summary>Every form the person's identifiers could take in a file, as bytes.</summary>
    private Dictionary<string, byte[]> Needles(string profile)
    {
        var clear = new Dictionary<string, string>
        {
            ["customer id"] = CustomerNumber,
            ["e-mail"] = EmailAddress,
            ["e-mail, normalised"] = IdentifierHasher.NormalizeEmail(EmailAddress),
            ["phone"] = PhoneNumber,
            ["phone, normalised"] = IdentifierHasher.NormalizePhone(PhoneNumber),
            ["phone, digits"] = IdentifierHasher.NormalizePhone(PhoneNumber).TrimStart('+'),
            ["profile id"] = profile["profiles/".Length..],
            ["last name from the tracking API"] = TrackedLastName,
        };
        var hashes = new Dictionary<string, string>
        {
            ["e-mail hash"] = _hasher.HashEmail(EmailAddress),
            ["phone hash"] = _hasher.HashPhone(PhoneNumber),
            ["customer id hash"] = _hasher.Hash(CustomerNumber),
        };
        var needles = new Dictionary<string, byte[]>();
        foreach (var (name, value) in clear)
        {
            needles[name + " (UTF-8)"] = Encoding.UTF8.GetBytes(value);
            needles[name + " (UTF-16)"] = Encoding.Unicode.GetBytes(value);
        }

        foreach (var (name, hex) in hashes)
        {
            var digest = Convert.FromHexString(hex);
            needles[name + " (hex)"] = Encoding.ASCII.GetBytes(hex);
            needles[name + " (HEX)"] = Encoding.ASCII.GetBytes(hex.ToUpperInvariant());
            needles[name + " (base64)"] = Encoding.ASCII.GetBytes(Convert.ToBase64String(digest).TrimEnd('='));
            needles[name + " (base64url)"] = Encoding.ASCII.GetBytes(Convert.ToBase64String(digest).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
            needles[name + " (raw)"] = digest;
        }

        return needles;
    }

    /// <summary>Where each needle occurs: every file under the data directory, byte for byte.</summary>
    private List<string> Scan(Dictionary<string, byte[]> needles) => StoredBytes.Find(StoredBytes.FilesUnder(_data), needles);

    private Task DrainAsync() => _platform!.DrainAsync();
}

/// <summary>The erasure tests clear the process's SQLite connection pools when they end: they run with no other host beside them.</summary>
[CollectionDefinition(nameof(ErasureEndToEndTests), DisableParallelization = true)]
public sealed class ErasureEndToEndCollection;
