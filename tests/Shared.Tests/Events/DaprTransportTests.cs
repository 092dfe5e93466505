using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Grpc.Core;

using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
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
    private const string AppToken = DaprSubscriber.AppToken;

    private static readonly JourneyModule Subscriber = DaprSubscriber.Module;

    private static readonly Dictionary<string, string?> DaprSettings = DaprSubscriber.Settings;

    [Fact]
    public async Task Subscribe_WhenSidecarAsks_ListsEachSubscriptionWithItsRouteAndDeadLetterTopic()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        using var http = Http2Client(platform);

        var document = await http.GetFromJsonAsync<JsonElement>("/dapr/subscribe");

        var subscription = Assert.Single(document.EnumerateArray());
        Assert.Equal("journey-pubsub", subscription.GetProperty("pubsubName").GetString());
        Assert.Equal(TestTopics.InteractionRecorded, subscription.GetProperty("topic").GetString());
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
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions { PubSubName = "journey-pubsub" }), Options.Create(new LimitsOptions()), NullLogger<DaprEventTransport>.Instance);
        var message = TestPipeline.Event("out");

        var published = await transport.PublishAsync("touchpoint", [message], default);

        Assert.Equal(1, published);
        var request = Assert.Single(sidecar.Received);
        Assert.Equal("journey-pubsub", request.PubsubName);
        Assert.Equal(TestTopics.InteractionRecorded, request.Topic);
        Assert.Equal("application/octet-stream", request.DataContentType);
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
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions()), Options.Create(new LimitsOptions()), NullLogger<DaprEventTransport>.Instance);

        var published = await transport.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("b"), TestPipeline.Event("c")], default);

        Assert.Equal(1, published);
    }

    [Fact]
    public async Task Publish_WhenSidecarDoesNotAnswerWithinTheOutgoingDeadline_GivesUpAndReportsNothingTaken()
    {
        await using var sidecar = await FakeDaprSidecar.StartAsync(delay: TimeSpan.FromSeconds(30));
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.Address).Build();
        var limits = Options.Create(new LimitsOptions { OutgoingCallDeadline = TimeSpan.FromMilliseconds(300) });
        var transport = new DaprEventTransport(dapr, Options.Create(new EventsOptions()), limits, NullLogger<DaprEventTransport>.Instance);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var published = await transport.PublishAsync("touchpoint", [TestPipeline.Event("slow")], default);

        Assert.Equal(0, published);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sidecar-secret-7f3b")]
    [InlineData("sidecar-secret-7f3a-and-more")]
    public async Task Receive_WhenAppApiTokenMissingOrWrong_Answers401AndHandlesNothing(string? token)
    {
        var logs = new CapturedLogs();
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings, services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        RecordingHandler.EnsureSchema(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile"));
        using var http = Http2Client(platform, token);
        using var content = new ByteArrayContent(await DaprSubscriber.CarriedByDaprAsync(TestPipeline.Event("forged")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/cloudevents+json");

        using var response = await http.PostAsync("/events/profile/interaction-recorded", content);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await RecordingHandler.EffectsAsync(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile")));
        Assert.Contains(logs.Lines, line => line.Contains("Refused a request to /events/profile/interaction-recorded", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains("sidecar-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Subscribe_WhenAppApiTokenMissing_Answers401()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], DaprSettings);
        using var http = Http2Client(platform, token: null);

        using var response = await http.GetAsync("/dapr/subscribe");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Receive_WhenTokenComesFromAppApiTokenVariable_AcceptsTheSidecar()
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], new Dictionary<string, string?>
        {
            ["Journey:Events:Transport"] = "Dapr",
            ["APP_API_TOKEN"] = "from-the-environment",
        });
        RecordingHandler.EnsureSchema(platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile"));
        using var accepted = Http2Client(platform, "from-the-environment");
        using var refused = Http2Client(platform, AppToken);

        Assert.Equal("SUCCESS", await PostCloudEventAsync(accepted, TestPipeline.Event("env")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await refused.GetAsync("/dapr/subscribe")).StatusCode);
    }

    [Fact]
    public async Task Startup_WhenDaprWithoutAppApiToken_FailsWithOneLineNamingTheSetting()
    {
        using var scratch = new ScratchDirectory("journey-test-");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Journey:Events:Transport"] = "Dapr",
            ["Journey:Storage:DataDirectory"] = scratch.Path,
        });
        builder.AddJourneyDefaults();
        await using var app = builder.Build();

        var error = JourneyHosting.ConfigurationError(app.Services);
        var exitCode = await app.RunJourneyAsync();

        Assert.Equal(2, exitCode);
        Assert.NotNull(error);
        Assert.Contains("Journey:Events:AppApiToken", error);
        Assert.Contains("APP_API_TOKEN", error);
        Assert.Contains("Journey:Events:AllowMissingAppApiToken", error);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("Journey:Events:AllowMissingAppApiToken", "true")]
    [InlineData("Journey:Auth:Enabled", "false")]
    public async Task Startup_WhenDaprWithoutTokenButExplicitlyWaived_Starts(string setting, string value)
    {
        await using var platform = await TestPlatform.StartAsync([Subscriber], new Dictionary<string, string?>
        {
            ["Journey:Events:Transport"] = "Dapr",
            [setting] = value,
        });
        using var http = Http2Client(platform, token: null);

        Assert.Null(JourneyHosting.ConfigurationError(platform.Services));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dapr/subscribe")).StatusCode);
    }

    private static HttpClient Http2Client(TestPlatform platform, string? token = AppToken) => DaprSubscriber.Http2Client(platform, token);

    /// <summary>Delivers <paramref name="message"/> as the sidecar would after our transport published it.</summary>
    private static async Task<string?> PostCloudEventAsync(HttpClient http, OutboxMessage message)
    {
        var (code, status) = await DaprPubSubRules.DeliverAsync(http, "/events/profile/interaction-recorded", await DaprSubscriber.CarriedByDaprAsync(message));
        Assert.Equal(HttpStatusCode.OK, code);
        return status;
    }

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
    private readonly TimeSpan _delay;
    private WebApplication? _app;

    private FakeDaprSidecar(int acceptFirst, TimeSpan delay) => (_acceptFirst, _delay) = (acceptFirst, delay);

    public List<PublishEventRequest> Received { get; } = [];

    public string Address { get; private set; } = "";

    public static async Task<FakeDaprSidecar> StartAsync(int acceptFirst = int.MaxValue, TimeSpan delay = default)
    {
        var sidecar = new FakeDaprSidecar(acceptFirst, delay);
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
        if (_delay > TimeSpan.Zero)
        {
            await Task.Delay(_delay, context.RequestAborted);
        }

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
