using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Touchpoint.Tests.Grpc;

/// <summary>A host running only the touchpoint service on a manual clock, with event delivery held so the outbox can be read.</summary>
public sealed class TouchpointHost : ModuleHost<TouchpointService.TouchpointServiceClient>
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private TouchpointHost(TestPlatform platform, HostClock clock)
        : base(platform, new TouchpointService.TouchpointServiceClient(platform.Channel))
    {
        Clock = clock;
    }

    public HostClock Clock { get; }

    public SqliteDatabase Database => Platform.Services.GetRequiredKeyedService<SqliteDatabase>(TouchpointModule.Name);

    public static async Task<TouchpointHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, DateTimeOffset? now = null)
    {
        var clock = new HostClock(now ?? Start);
        var all = TestPlatform.Overlay(new Dictionary<string, string?> { ["Journey:Events:DeliveryEnabled"] = "false" }, settings);
        var platform = await TestPlatform.StartAsync([TouchpointModule.Definition], all, services => services.AddSingleton<TimeProvider>(clock));
        return new TouchpointHost(platform, clock);
    }

    public static V1.Touchpoint NewTouchpoint(string displayName = "Price page", Channel channel = Channel.Web, Ownership ownership = Ownership.Owned, int criticality = 3, double target = 4.0, params JourneyStage[] stages)
    {
        var touchpoint = new V1.Touchpoint
        {
            DisplayName = displayName,
            Channel = channel,
            Ownership = ownership,
            Criticality = criticality,
            IntendedExperience = new V1.IntendedExperience { TargetRating = target, Statement = "trust in the price" },
            OwningTeam = "web-team",
            Topics = { "pricing" },
        };
        touchpoint.Stages.AddRange(stages.Length == 0 ? [JourneyStage.Evaluation] : stages);
        return touchpoint;
    }

    public async Task<V1.Touchpoint> CreateAsync(string id, V1.Touchpoint? touchpoint = null) =>
        (await Client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = id, Touchpoint = touchpoint ?? NewTouchpoint() })).Touchpoint;

    public static V1.Interaction NewInteraction(string eventId, string touchpoint, DateTimeOffset at, string anonymousId = "cookie-1", InteractionType type = InteractionType.View, int rating = 0) =>
        new()
        {
            InteractionId = eventId,
            Touchpoint = touchpoint,
            OccurTime = Timestamp.FromDateTimeOffset(at),
            Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId } },
            Type = type,
            Rating = rating,
        };

    public Task<List<(string Topic, byte[] Envelope)>> OutboxAsync(string topic) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT topic, envelope FROM outbox WHERE topic = $topic ORDER BY seq";
            command.Parameters.AddWithValue("$topic", topic);
            var rows = new List<(string, byte[])>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
            }

            return rows;
        }, CancellationToken.None);

    public async Task<List<T>> PayloadsAsync<T>(string topic)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        var parser = new Google.Protobuf.MessageParser<T>(() => new T());
        return (await OutboxAsync(topic)).Select(r => parser.ParseFrom(EventEnvelope.Parser.ParseFrom(r.Envelope).Payload)).ToList();
    }

    public Task<long> CountAsync(string table) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM {table}";
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);
}
