using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// A host running the touchpoint and profile modules with events crossing the bus, and one web
/// touchpoint to record views on: what the timeline end-to-end tests share.
/// </summary>
internal sealed class TimelineHost : IAsyncDisposable
{
    private readonly string _touchpoint;

    private TimelineHost(TestPlatform platform, string touchpoint)
    {
        Platform = platform;
        _touchpoint = touchpoint;
        Touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        Profiles = new ProfileService.ProfileServiceClient(platform.Channel);
    }

    public TestPlatform Platform { get; }

    public TouchpointService.TouchpointServiceClient Touchpoints { get; }

    public ProfileService.ProfileServiceClient Profiles { get; }

    public static async Task<TimelineHost> StartAsync(string touchpointId, string displayName, string statement)
    {
        var platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition]);
        var host = new TimelineHost(platform, $"touchpoints/{touchpointId}");
        await host.Touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = touchpointId,
            Touchpoint = WebTouchpoints.Create(displayName, JourneyStage.Consideration, statement),
        });
        return host;
    }

    public static Identifier Identifier(IdentifierKind kind, string value) => new() { Kind = kind, Value = value };

    public static Identifier ProfileId(string name) => Identifier(IdentifierKind.ProfileId, name["profiles/".Length..]);

    /// <summary>Records a view on the host's touchpoint and asserts the service took it as new.</summary>
    public async Task RecordViewAsync(string interactionId, DateTimeOffset occurTime, params Identifier[] identifiers)
    {
        var interaction = new Interaction
        {
            InteractionId = interactionId,
            Touchpoint = _touchpoint,
            OccurTime = Timestamp.FromDateTimeOffset(occurTime),
            Type = InteractionType.View,
        };
        interaction.Identifiers.AddRange(identifiers);
        Assert.False((await Touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction })).Duplicate);
    }

    public async Task<List<RecordedInteraction>> TimelineAsync(Identifier identifier) =>
        [.. (await Touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(identifier), PageSize = 100 })).Interactions];

    public Task DrainAsync() => Platform.DrainAsync();

    public ValueTask DisposeAsync() => Platform.DisposeAsync();
}
