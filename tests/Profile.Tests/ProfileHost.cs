using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Profile.V1;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Profile.Tests;

/// <summary>A real host running the profile module on loopback, with a manual clock and helpers to feed it events.</summary>
public sealed class ProfileHost : ModuleHost<ProfileService.ProfileServiceClient>
{
    private ProfileHost(TestPlatform platform, HostClock clock)
        : base(platform, new ProfileService.ProfileServiceClient(platform.Channel))
    {
        Clock = clock;
    }

    public HostClock Clock { get; }

    public static async Task<ProfileHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var clock = new HostClock();
        var platform = await TestPlatform.StartAsync([ProfileModule.Definition], settings, services => services.AddSingleton<TimeProvider>(clock));
        return new ProfileHost(platform, clock);
    }

    public static Identifier Id(IdentifierKind kind, string value) => new() { Kind = kind, Value = value };

    public static Identifier Cookie(string value) => Id(IdentifierKind.AnonymousId, value);

    public static Identifier Customer(string value) => Id(IdentifierKind.CustomerId, value);

    public static Identifier Email(string value) => Id(IdentifierKind.Email, value);

    public async Task<IdentifyResponse> IdentifyAsync(params Identifier[] identifiers)
    {
        var request = new IdentifyRequest();
        request.Identifiers.AddRange(identifiers);
        return await Client.IdentifyAsync(request);
    }

    public async Task<Profile.V1.Profile> GetAsync(string name) => (await Client.GetProfileAsync(new GetProfileRequest { Name = name })).Profile;

    /// <summary>An interaction as the touchpoint service would publish it.</summary>
    public static InteractionRecorded Interaction(Identifier who, InteractionType type, DateTimeOffset at, JourneyStage[]? stages = null, string[]? topics = null, string content = "", Channel channel = Channel.Web)
    {
        var interaction = new InteractionRecorded
        {
            InteractionId = Guid.NewGuid().ToString(),
            Touchpoint = "touchpoints/site",
            Channel = channel,
            Ownership = Ownership.Owned,
            OccurTime = Timestamp.FromDateTimeOffset(at),
            Type = type,
            Content = content,
            Criticality = 3,
        };
        interaction.Identifiers.Add(who);
        interaction.Stages.AddRange(stages ?? [JourneyStage.Awareness]);
        interaction.Topics.AddRange(topics ?? []);
        return interaction;
    }

    /// <summary>Publishes events as their publishing service would, through the host's bus.</summary>
    public async Task PublishAsync(string topic, string source, params Google.Protobuf.IMessage[] payloads)
    {
        var messages = payloads.Select(p => EventEnvelopes.Create(topic, source, p, Clock.GetUtcNow())).ToList();
        await Platform.Services.GetRequiredService<IEventTransport>().PublishAsync(source, messages, CancellationToken.None);
    }

    /// <summary>Publishes interactions and waits until the profile holding <paramref name="who"/> has seen them all.</summary>
    public async Task<Profile.V1.Profile> RecordAsync(Identifier who, params InteractionRecorded[] interactions)
    {
        var before = await TryLookupAsync(who);
        await PublishAsync(ProfileTopics.InteractionRecorded, "touchpoint", interactions);
        Profile.V1.Profile? after = null;
        var seen = await TestPlatform.EventuallyAsync(async () =>
        {
            after = await TryLookupAsync(who);
            return after is not null && after.Version > (before?.Version ?? 0) && after.UpdateTime.ToDateTimeOffset() >= Clock.GetUtcNow()
                && await PendingAsync() == 0;
        });
        Assert.True(seen, "the interactions were not applied in time");
        return after!;
    }

    public async Task<Profile.V1.Profile?> TryLookupAsync(Identifier who)
    {
        try
        {
            return (await Client.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(who) })).Profile;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Deliveries not yet handled by the profile service's subscriptions.</summary>
    public async Task<long> PendingAsync()
    {
        var bus = Platform.Services.GetRequiredService<InProcessBus>();
        long pending = 0;
        foreach (var subscription in bus.Subscriptions)
        {
            pending += await bus.CountPendingAsync(subscription.Name, CancellationToken.None);
        }

        return pending;
    }
}
