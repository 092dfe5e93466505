using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// No sidecar runs here, so the Dapr transport is tested at its contract: the subscription document
/// the sidecar reads, a CloudEvent POSTed the way the sidecar posts it, and what the publisher sends
/// to the sidecar's gRPC API.
/// </summary>
public sealed class DaprTransportTests
{
    private static readonly JourneyModule Subscriber = new("profile", builder =>
    {
        builder.AddServiceStorage("profile");
        builder.Services.AddSingleton<RecordingHandler.Script>();
        builder.Services.AddEventHandler<StringValue, RecordingHandler>("profile", Topics.InteractionRecorded);
    }, _ => { });

    private static readonly Dictionary<string, string?> DaprSettings = new()
    {
        ["Journey:Events:Transport"] = "Dapr",
        ["Journey:Events:PubSubName"] = "journey-pubsub",
    };

    [Fact]
    public async Task Subscribe_WhenSidecarAsks_ListsEachSubscriptionWithItsRouteAndDeadLetterTopic()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        using var http = Http2Client(platform);

        var document = await http.GetFromJsonAsync<JsonElement>("/dapr/subscribe");

        var subscription = Assert.Single(document.EnumerateArray());
        Assert.Equal("journey-pubsub", subscription.GetProperty("pubsubName").GetString());
        Assert.Equal(Topics.InteractionRecorded, subscription.GetProperty("topic").GetString());
        Assert.Equal("events/profile/interaction-recorded", subscription.GetProperty("route").GetString());
        Assert.Equal("profile.interaction-recorded.dead-letter", subscription.GetProperty("deadLetterTopic").GetString());
    }

    [Fact]
    public async Task Receive_WhenSidecarPostsACloudEvent_HandlesItOnceAndAnswersSuccess()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        RecordingHandler.EnsureSchema(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile"));
        using var http = Http2Client(platform);
        var message = TestPipeline.Event("via-dapr");

        var first = await PostCloudEventAsync(http, message);
        var redelivered = await PostCloudEventAsync(http, message);

        Assert.Equal("SUCCESS", first);
        Assert.Equal("SUCCESS", redelivered);
        Assert.Equal(["via-dapr"], await RecordingHandler.EffectsAsync(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile")));
    }

    [Fact]
    public async Task Receive_WhenDataIsNotAnEnvelope_AnswersDrop()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        using var http = Http2Client(platform);

        var status = await PostAsync(http, new Dictionary<string, object> { ["id"] = "1", ["data_base64"] = Convert.ToBase64String([1, 2, 3]) });

        Assert.Equal("DROP", status);
    }

    [Fact]
    public async Task Receive_WhenHandlerFails_AnswersRetry()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        RecordingHandler.EnsureSchema(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile"));
        platform.Services.GetRequiredService<RecordingHandler.Script>().FailuresLeft["flaky"] = 1;
        using var http = Http2Client(platform);
        var message = TestPipeline.Event("flaky");

        Assert.Equal("RETRY", await PostCloudEventAsync(http, message));
        Assert.Equal("SUCCESS", await PostCloudEventAsync(http, message));
    }

    [Fact]
    public async Task Publish_SendsTheEnvelopeBytesToTheSidecarWithCloudEventMetadata()
    {
        await using var sidecar = await FakeDaprSidecar.StartAsync();
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.Address).Build();
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions { PubSubName = "journey-pubsub" }), NullLogger<DaprEventTransport>.Instance);
        var message = TestPipeline.Event("out");

        var published = await transport.PublishAsync("touchpoint", [message], default);

        Assert.Equal(1, published);
        var request = Assert.Single(sidecar.Received);
        Assert.Equal("journey-pubsub", request.PubsubName);
        Assert.Equal(Topics.InteractionRecorded, request.Topic);
        Assert.Equal("application/x-protobuf", request.DataContentType);
        Assert.Equal(message.Envelope, request.Data.ToByteArray());
        Assert.Equal(message.EventId, request.Metadata["cloudevent.id"]);
        Assert.Equal("google.protobuf.StringValue", request.Metadata["cloudevent.type"]);
        Assert.Equal("touchpoint", request.Metadata["cloudevent.source"]);
    }

    [Fact]
    public async Task Publish_WhenSidecarRefuses_ReportsHowManyWereTaken()
    {
        await using var sidecar = await FakeDaprSidecar.StartAsync(acceptFirst: 1);
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.Address).Build();
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions()), NullLogger<DaprEventTransport>.Instance);

        var published = await transport.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("b"), TestPipeline.Event("c")], default);

        Assert.Equal(1, published);
    }

    private static HttpClient Http2Client(TestPlatform platform) => new()
    {
        BaseAddress = new Uri(platform.Address),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static Task<string?> PostCloudEventAsync(HttpClient http, OutboxMessage message) =>
        PostAsync(http, new Dictionary<string, object>
        {
            ["specversion"] = "1.0",
            ["id"] = message.EventId,
            ["source"] = "touchpoint",
            ["type"] = "google.protobuf.StringValue",
            ["topic"] = message.Topic,
            ["pubsubname"] = "journey-pubsub",
            ["datacontenttype"] = "application/x-protobuf",
            ["data_base64"] = Convert.ToBase64String(message.Envelope),
        });

    private static async Task<string?> PostAsync(HttpClient http, Dictionary<string, object> cloudEvent)
    {
        using var content = JsonContent.Create(cloudEvent, new System.Net.Http.Headers.MediaTypeHeaderValue("application/cloudevents+json"));
        using var response = await http.PostAsync("/events/profile/interaction-recorded", content);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("status").GetString();
    }
}

/// <summary>
/// Answers the sidecar's gRPC PublishEvent method on loopback and records what it was sent. The
/// Dapr SDK ships only the client side of that API, so the call is framed here by hand (five-byte
/// gRPC prefix, protobuf body, status in the trailers).
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private readonly int _acceptFirst;
    private WebApplication? _app;

    private FakeDaprSidecar(int acceptFirst) => _acceptFirst = acceptFirst;

    public List<PublishEventRequest> Received { get; } = [];

    public string Address { get; private set; } = "";

    public static async Task<FakeDaprSidecar> StartAsync(int acceptFirst = int.MaxValue)
    {
        var sidecar = new FakeDaprSidecar(acceptFirst);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapPost("/dapr.proto.runtime.v1.Dapr/PublishEvent", sidecar.PublishEventAsync);
        await app.StartAsync();
        sidecar._app = app;
        sidecar.Address = app.Urls.First();
        return sidecar;
    }

    private async Task PublishEventAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var frame = body.ToArray();
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1, 4));
        var request = PublishEventRequest.Parser.ParseFrom(frame, 5, length);
        context.Response.ContentType = "application/grpc";
        bool accepted;
        lock (Received)
        {
            accepted = Received.Count < _acceptFirst;
            if (accepted)
            {
                Received.Add(request);
            }
        }

        if (accepted)
        {
            await context.Response.Body.WriteAsync(new byte[5]);
            context.Response.AppendTrailer("grpc-status", "0");
        }
        else
        {
            await context.Response.StartAsync();
            context.Response.AppendTrailer("grpc-status", ((int)StatusCode.Unavailable).ToString(System.Globalization.CultureInfo.InvariantCulture));
            context.Response.AppendTrailer("grpc-message", "broker down");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
