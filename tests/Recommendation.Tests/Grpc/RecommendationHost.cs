using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Recommendation.V1;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Recommendation.Tests.Grpc;

/// <summary>A host running only the recommendation module, fed through the in-process bus.</summary>
public sealed class RecommendationHost : ModuleHost<RecommendationService.RecommendationServiceClient>
{
    private long _version;

    private RecommendationHost(TestPlatform platform, HostClock clock)
        : base(platform, new RecommendationService.RecommendationServiceClient(platform.Channel))
    {
        Clock = clock;
    }

    public HostClock Clock { get; }

    public static async Task<RecommendationHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var clock = new HostClock();
        var all = TestPlatform.Overlay(new Dictionary<string, string?> { ["Journey:Recommendation:RandomSeed"] = "42" }, settings);
        var platform = await TestPlatform.StartAsync([RecommendationModule.Definition], all, services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton<ErasureCompletedCapture>();
            // Stands in for the consent service, the one subscriber of erasure-completed.
            services.AddEventHandler<ErasureCompleted, ErasureCompletedCapture.Handler>("consent", new TopicSubscription(Topics.ErasureCompleted, RecommendationModule.Name));
        });
        var host = new RecommendationHost(platform, clock);
        await host.PublishAsync(RecommendationTopics.TouchpointChanged, "touchpoint", Touchpoint("web-home", Channel.Web, JourneyStage.Awareness, JourneyStage.Consideration));
        await host.PublishAsync(RecommendationTopics.TouchpointChanged, "touchpoint", Touchpoint("service-portal", Channel.Service, JourneyStage.Ownership));
        return host;
    }

    public static TouchpointChanged Touchpoint(string id, Channel channel, params JourneyStage[] stages)
    {
        var message = new TouchpointChanged { Touchpoint = $"touchpoints/{id}", DisplayName = id, Channel = channel, Ownership = Ownership.Owned, Criticality = 3, Version = 1 };
        message.Stages.AddRange(stages);
        return message;
    }

    /// <summary>Publishes an event as its owner would and waits until the recommendation handler took it.</summary>
    public async Task PublishAsync(string topic, string source, IMessage payload)
    {
        var bus = Platform.Services.GetRequiredService<InProcessBus>();
        await bus.PublishAsync(source, [EventEnvelopes.Create(topic, source, payload, Clock.GetUtcNow())], default);
        var subscription = $"{RecommendationModule.Name}.{topic}";
        Assert.True(await TestPlatform.EventuallyAsync(async () => await bus.CountPendingAsync(subscription, default) == 0), $"{subscription} was not delivered");
    }

    public string HashEmail(string email) => Platform.Services.GetRequiredService<IdentifierHasher>().HashEmail(email);

    /// <summary>A known person with a profile: stage, readiness, interests, open tickets, consent.</summary>
    public async Task PersonAsync(string customerId, JourneyStage stage, int readiness = 10, bool consent = true, int openTickets = 0, string[]? interests = null, string? email = null)
    {
        var profile = new ProfileUpdated
        {
            Profile = $"profiles/p-{customerId}",
            CustomerType = CustomerType.Known,
            Stage = stage,
            Readiness = readiness,
            OpenServiceTickets = openTickets,
            ProfilingAllowed = true,
            UpdateTime = Timestamp.FromDateTimeOffset(Clock.GetUtcNow()),
            Version = Interlocked.Increment(ref _version),
        };
        profile.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = customerId });
        if (email is not null)
        {
            profile.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = HashEmail(email) });
        }

        profile.Interests.AddRange((interests ?? []).Select(t => new InterestSnapshot { Topic = t, Affinity = 0.9 }));
        await PublishAsync(RecommendationTopics.ProfileUpdated, "profile", profile);
        await ConsentAsync(customerId, consent);
    }

    public Task ConsentAsync(string customerId, bool granted) => ConsentAsync(customerId, "purposes/personalisation", granted);

    /// <summary>A decision for <paramref name="purpose"/> as the consent service publishes it; no channels means every channel.</summary>
    public Task ConsentAsync(string customerId, string purpose, bool granted, params Channel[] channels)
    {
        var consent = new ConsentChanged { Subject = $"subjects/{customerId}", Purpose = purpose, Granted = granted, PolicyVersion = "1", Record = "subjects/x/records/1" };
        consent.Identifiers.Add(new Identifier { Kind = IdentifierKind.ProfileId, Value = $"p-{customerId}" });
        consent.Channels.AddRange(channels);
        return PublishAsync(RecommendationTopics.ConsentChanged, "consent", consent);
    }

    public static ContentItem Content(string id, ContentKind kind, double hardness, JourneyStage stage, double weight = 1.0, bool generic = false, ContentPurpose purpose = ContentPurpose.Marketing, string[]? topics = null, Channel channel = Channel.Web)
    {
        var item = new ContentItem { Name = $"contents/{id}", Title = id.Replace('-', ' '), Kind = kind, Hardness = hardness, Purpose = purpose, Generic = generic };
        item.Stages.Add(new StageWeight { Stage = stage, Weight = weight });
        item.Channels.Add(channel);
        item.Topics.AddRange(topics ?? []);
        return item;
    }

    public async Task UpsertAsync(params ContentItem[] items)
    {
        foreach (var item in items)
        {
            await Client.CreateContentAsync(new CreateContentRequest { ContentId = item.Name["contents/".Length..], Content = item });
        }
    }

    public Task<RecommendResponse> RecommendAsync(string? customerId, string touchpoint = "web-home", int count = 5, Channel channel = Channel.Unspecified, bool validateOnly = false)
    {
        var request = new RecommendRequest { Touchpoint = $"touchpoints/{touchpoint}", Count = count, Channel = channel, ValidateOnly = validateOnly };
        if (customerId is not null)
        {
            request.Person = Persons.Of(new Identifier { Kind = IdentifierKind.CustomerId, Value = customerId });
        }

        return Client.RecommendAsync(request).ResponseAsync;
    }
}

/// <summary>Collects the ErasureCompleted events the service published.</summary>
public sealed class ErasureCompletedCapture
{
    public System.Collections.Concurrent.ConcurrentQueue<ErasureCompleted> Events { get; } = new();

    internal sealed class Handler(ErasureCompletedCapture capture) : IEventHandler<ErasureCompleted>
    {
        public Task HandleAsync(IReadOnlyList<ReceivedEvent<ErasureCompleted>> events, CancellationToken cancellationToken)
        {
            foreach (var received in events)
            {
                capture.Events.Enqueue(received.Message);
            }

            return Task.CompletedTask;
        }
    }
}
