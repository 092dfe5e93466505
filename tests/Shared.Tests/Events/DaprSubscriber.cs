using System.Net;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary>A profile module subscribed to interaction-recorded through Dapr, as the sidecar sees it.</summary>
internal static class DaprSubscriber
{
    public const string AppToken = "sidecar-secret-7f3a";

    public static readonly JourneyModule Module = new("profile", builder =>
    {
        builder.AddServiceStorage("profile");
        builder.Services.AddSingleton<RecordingHandler.Script>();
        builder.Services.AddEventHandler<StringValue, RecordingHandler>("profile", Topics.InteractionRecorded);
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
}
