using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// Whatever a caller with the sidecar's token POSTs to an event endpoint, the answer is DROP (Dapr's
/// "never deliver this again") and nothing is handled: a body that is not a CloudEvent carrying one of
/// our envelopes must never become a 500, which Dapr would retry and then dead-letter. Sent through
/// the real endpoint on Kestrel loopback.
/// </summary>
public sealed class CloudEventBodyTests(CloudEventBodyTests.Subscriber subscriber) : IClassFixture<CloudEventBodyTests.Subscriber>
{
    private const string Route = "/events/profile/interaction-recorded";

    public static TheoryData<string, string, string> MalformedBodies()
    {
        var envelope = Convert.ToBase64String(TestPipeline.Event("bad").Envelope);
        var otherTopic = Convert.ToBase64String(EventEnvelopes.Create(TestTopics.ProfileUpdated, "profile", new StringValue { Value = "bad" }, DateTimeOffset.UtcNow).Envelope);
        const string Head = """ "specversion": "1.0", "id": "e-1", "source": "touchpoint", "type": "google.protobuf.StringValue", "topic": "interaction-recorded", "pubsubname": "journey-pubsub" """;
        return new TheoryData<string, string, string>
        {
            { "not JSON", "application/cloudevents+json", "this is not json" },
            { "truncated JSON", "application/cloudevents+json", "{\"specversion\": \"1.0\", \"id\": " },
            { "empty body", "application/cloudevents+json", "" },
            { "a JSON array", "application/cloudevents+json", $"[{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}]" },
            { "a JSON string", "application/cloudevents+json", "\"" + envelope + "\"" },
            { "a JSON number", "application/cloudevents+json", "42" },
            { "JSON null", "application/cloudevents+json", "null" },
            { "JSON true", "application/cloudevents+json", "true" },
            { "an object that is no CloudEvent", "application/cloudevents+json", "{\"hello\": \"world\"}" },
            { "an object without data", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\"}}" },
            { "data_base64 of null", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": null}}" },
            { "data_base64 that is not base64", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"not*base64!\"}}" },
            { "data_base64 that is a number", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": 7}}" },
            { "data_base64 that is an array", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": [1, 2]}}" },
            { "wrong datacontenttype (JSON data)", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/json\", \"data\": {{\"value\": \"bad\"}}}}" },
            { "wrong datacontenttype (text data)", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"text/plain\", \"data\": \"{envelope}\"}}" },
            { "wrong datacontenttype (binary data)", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"image/png\", \"data_base64\": \"{envelope}\"}}" },
            { "a datacontenttype that is no media type", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"((\", \"data_base64\": \"{envelope}\"}}" },
            { "no datacontenttype", "application/cloudevents+json", $"{{{Head}, \"data_base64\": \"{envelope}\"}}" },
            { "both data and data_base64", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data\": \"x\", \"data_base64\": \"{envelope}\"}}" },
            { "binary data in a string", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data\": \"{envelope}\"}}" },
            { "no specversion", "application/cloudevents+json", $"{{\"id\": \"e-1\", \"source\": \"touchpoint\", \"type\": \"t\", \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "an unknown specversion", "application/cloudevents+json", $"{{\"specversion\": \"9.9\", \"id\": \"e-1\", \"source\": \"touchpoint\", \"type\": \"t\", \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "an id that is a number", "application/cloudevents+json", $"{{\"specversion\": \"1.0\", \"id\": 1, \"source\": \"touchpoint\", \"type\": \"t\", \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "an extension that is a fraction", "application/cloudevents+json", $"{{{Head}, \"weight\": 0.5, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "an extension that is an object", "application/cloudevents+json", $"{{{Head}, \"extra\": {{}}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "a body in an unknown charset", "application/cloudevents+json; charset=klingon", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{envelope}\"}}" },
            { "bytes that are not an envelope", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"AQID\"}}" },
            { "a valid envelope of the wrong topic", "application/cloudevents+json", $"{{{Head}, \"datacontenttype\": \"application/octet-stream\", \"data_base64\": \"{otherTopic}\"}}" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Receive_WhenBodyIsNotACloudEventWithAnEnvelope_AnswersDropAndHandlesNothing(string what, string contentType, string body)
    {
        var handledBefore = (await RecordingHandler.EffectsAsync(subscriber.Database)).Count;
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await subscriber.Http.PostAsync(Route, content);

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{what}: answered {(int)response.StatusCode}");
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("DROP", reply.GetProperty("status").GetString());
        Assert.Equal(handledBefore, (await RecordingHandler.EffectsAsync(subscriber.Database)).Count);
    }

    /// <summary>One subscriber host for every case: starting a host per body would cost more than the cases.</summary>
    public sealed class Subscriber : IAsyncLifetime
    {
        private TestPlatform? _platform;

        public HttpClient Http { get; private set; } = null!;

        public SqliteDatabase Database => _platform!.Services.GetRequiredKeyedService<SqliteDatabase>("profile");

        public async Task InitializeAsync()
        {
            _platform = await TestPlatform.StartAsync([DaprSubscriber.Module], DaprSubscriber.Settings);
            RecordingHandler.EnsureSchema(Database);
            Http = DaprSubscriber.Http2Client(_platform);
        }

        public async Task DisposeAsync()
        {
            Http.Dispose();
            if (_platform is not null)
            {
                await _platform.DisposeAsync();
            }
        }
    }
}
