using System.Net;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Events;

/// <summary>A profile module subscribed to interaction-recorded through Dapr, as the sidecar sees it.</summary>
internal static class DaprSubscriber
{
    public const string AppToken = "sidecar-secret-7f3a";

    public static readonly JourneyModule Module = new("profile", builder =>
    {
        builder.AddServiceStorage("profile");
        builder.Services.AddSingleton<RecordingHandler.Script>();
        builder.Services.AddEventHandler<StringValue, RecordingHandler>("profile", TestTopics.FromTouchpoint);
    }, _ => { });

    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["Journey:Events:Transport"] = "Dapr",
        ["Journey:Events:PubSubName"] = "journey-pubsub",
        ["Journey:Events:AppApiToken"] = AppToken,
    };

    /// <summary>An HTTP/2 client to the host (the sidecar speaks h2c to the app), sending <paramref name="token"/> as the sidecar does.</summary>
    public static HttpClient Http2Client(TestPlatform platform, string? token = AppToken)
    {
        var http = new HttpClient
        {
            BaseAddress = new Uri(platform.Address),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Add(DaprSubscriptionEndpoints.AppApiTokenHeader, token);
        }

        return http;
    }

    /// <summary>
    /// Publishes <paramref name="message"/> with the real transport to a fake sidecar and returns the
    /// CloudEvent a Dapr 1.16.9 sidecar would make of that call and deliver to subscribers.
    /// </summary>
    public static async Task<byte[]> CarriedByDaprAsync(OutboxMessage message)
    {
        await using var sidecar = await FakeDaprSidecar.StartAsync();
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.Address).Build();
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions { PubSubName = "journey-pubsub" }), Options.Create(new LimitsOptions()), NullLogger<DaprEventTransport>.Instance);
        if (await transport.PublishAsync(message.Topic == TestTopics.InteractionRecorded ? "touchpoint" : "profile", [message], default) != 1)
        {
            throw new InvalidOperationException("The fake sidecar did not take the event.");
        }

        return DaprPubSubRules.CloudEventFor(sidecar.Received.Single(), "touchpoint", DateTimeOffset.UtcNow);
    }
}
