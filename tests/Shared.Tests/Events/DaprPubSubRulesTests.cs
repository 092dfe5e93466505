using System.Net;
using System.Text;
using System.Text.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// Our publisher and our subscriber joined by the rules a Dapr 1.16.9 sidecar applies in between
/// (<see cref="DaprPubSubRules"/>): what the transport really sends over gRPC is wrapped as the
/// sidecar wraps it and delivered as the sidecar delivers it. Then the rules themselves, pinned on
/// inputs whose outcome the Dapr sources decide.
/// </summary>
public sealed class DaprPubSubRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Publish_WhenCarriedByDaprRules_IsHandledOnceBySubscriber()
    {
        await using var platform = await TestPlatform.StartAsync([DaprSubscriber.Module], DaprSubscriber.Settings);
        var database = platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile");
        RecordingHandler.EnsureSchema(database);
        using var http = DaprSubscriber.Http2Client(platform);
        var message = TestPipeline.Event("through-dapr");

        var cloudEvent = await DaprSubscriber.CarriedByDaprAsync(message);
        var first = await DaprPubSubRules.DeliverAsync(http, "/events/profile/interaction-recorded", cloudEvent);
        var redelivered = await DaprPubSubRules.DeliverAsync(http, "/events/profile/interaction-recorded", cloudEvent);

        Assert.Equal((HttpStatusCode.OK, "SUCCESS"), first);
        Assert.Equal((HttpStatusCode.OK, "SUCCESS"), redelivered);
        Assert.Equal(["through-dapr"], await RecordingHandler.EffectsAsync(database));
    }

    [Fact]
    public async Task Publish_WhenCarriedByDaprRules_KeepsTheEnvelopeBytesAndCloudEventAttributes()
    {
        var message = TestPipeline.Event("exact");

        using var cloudEvent = JsonDocument.Parse(await DaprSubscriber.CarriedByDaprAsync(message));

        var root = cloudEvent.RootElement;
        Assert.Equal(message.Envelope, root.GetProperty("data_base64").GetBytesFromBase64());
        Assert.False(root.TryGetProperty("data", out _));
        Assert.Equal(DaprEventTransport.ContentType, root.GetProperty("datacontenttype").GetString());
        Assert.Equal(message.EventId, root.GetProperty("id").GetString());
        Assert.Equal("touchpoint", root.GetProperty("source").GetString());
        Assert.Equal("google.protobuf.StringValue", root.GetProperty("type").GetString());
        Assert.Equal(TestTopics.InteractionRecorded, root.GetProperty("topic").GetString());
    }

    [Fact]
    public void CloudEventFor_WhenBinaryIsSentAsXProtobuf_PutsItInDataAsAStringThatLosesBytes()
    {
        var envelope = TestPipeline.Event("lost").Envelope;

        var json = DaprPubSubRules.CloudEventFor(Request("application/x-protobuf", envelope), "touchpoint", Now);

        using var cloudEvent = JsonDocument.Parse(json);
        Assert.False(cloudEvent.RootElement.TryGetProperty("data_base64", out _));
        Assert.Contains(@"\ufffd", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        var data = cloudEvent.RootElement.GetProperty("data").GetString()!;
        Assert.NotEqual(envelope, Encoding.UTF8.GetBytes(data));
    }

    [Fact]
    public void CloudEventFor_WhenOctetStream_WritesGoJsonWithSortedKeysAndDataBase64()
    {
        var request = Request("application/octet-stream", [0xFF, 0x00, 0x3C]);
        request.Metadata["cloudevent.id"] = "e-1";
        request.Metadata["CloudEvent.Type"] = "t<1>";
        request.Metadata["cloudevent.source"] = "touchpoint";
        request.Metadata["cloudevent.traceparent"] = "00-11111111111111111111111111111111-2222222222222222-01";

        var json = Encoding.UTF8.GetString(DaprPubSubRules.CloudEventFor(request, "ignored-app-id", Now));

        Assert.Equal(
            """{"data_base64":"/wA8","datacontenttype":"application/octet-stream","id":"e-1","pubsubname":"journey-pubsub","source":"touchpoint","specversion":"1.0","time":"2026-03-01T09:00:00Z","topic":"interaction-recorded","traceid":"00-11111111111111111111111111111111-2222222222222222-01","traceparent":"00-11111111111111111111111111111111-2222222222222222-01","tracestate":"","type":"t\u003c1\u003e"}""",
            json);
    }

    [Fact]
    public void CloudEventFor_WhenNoOverrides_UsesTheSidecarDefaults()
    {
        var json = DaprPubSubRules.CloudEventFor(Request("", "hi"u8.ToArray()), "touchpoint", Now);

        using var cloudEvent = JsonDocument.Parse(json);
        var root = cloudEvent.RootElement;
        Assert.Equal("text/plain", root.GetProperty("datacontenttype").GetString());
        Assert.Equal("hi", root.GetProperty("data").GetString());
        Assert.Equal("touchpoint", root.GetProperty("source").GetString());
        Assert.Equal("com.dapr.event.sent", root.GetProperty("type").GetString());
        Assert.Equal(DaprPubSubRules.SidecarTraceparent, root.GetProperty("traceparent").GetString());
        Assert.True(Guid.TryParse(root.GetProperty("id").GetString(), out _));
    }

    [Fact]
    public void CloudEventFor_WhenText_EscapesAsGoDoesAndReplacesEachInvalidByte()
    {
        byte[] data = [(byte)'A', 0xE2, 0x82, (byte)'A', 0x08, 0x0C, 0x01, 0x7F, (byte)'<', (byte)'&', 0xE2, 0x80, 0xA8, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xFF];

        var json = Encoding.UTF8.GetString(DaprPubSubRules.CloudEventFor(Request("text/plain; charset=utf-8", data), "touchpoint", Now));

        Assert.Contains("\"data\":\"A\\ufffd\\ufffdA\\b\\f\\u0001\u007F\\u003c\\u0026\\u2028\u00E9\\ufffd\\ufffd\\ufffd\\ufffd\"", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("APPLICATION/JSON; charset=utf-8")]
    public void CloudEventFor_WhenJson_PutsTheParsedValueInDataWithSortedKeys(string contentType)
    {
        var json = Encoding.UTF8.GetString(DaprPubSubRules.CloudEventFor(Request(contentType, """{"b": 1.50, "a": "<x>", "b": 2} trailing"""u8.ToArray()), "touchpoint", Now));

        Assert.StartsWith("""{"data":{"a":"\u003cx\u003e","b":2},""", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json ;charset=utf-8")]
    [InlineData("application/jsonx")]
    public void CloudEventFor_WhenContentTypeOnlyLooksLikeJson_PutsTheTextInData(string contentType)
    {
        var json = Encoding.UTF8.GetString(DaprPubSubRules.CloudEventFor(Request(contentType, """{"a":1}"""u8.ToArray()), "touchpoint", Now));

        Assert.StartsWith("""{"data":"{\"a\":1}",""", json, StringComparison.Ordinal);
    }

    [Fact]
    public void IsCloudEventProtobuf_WhenBytesAreACloudEventProtobuf_IsTrue()
    {
        var cloudEvent = ProtobufCloudEvent(includeAttribute: true, unsetAttribute: false);

        Assert.True(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", cloudEvent));
        Assert.True(DaprPubSubRules.IsCloudEventProtobuf("application/cloudevents+protobuf", [0xFF]));
        Assert.False(DaprPubSubRules.IsCloudEventProtobuf("application/protobuf", cloudEvent));
    }

    [Fact]
    public void IsCloudEventProtobuf_WhenAnAttributeHasNoValue_IsFalse()
    {
        Assert.False(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", ProtobufCloudEvent(includeAttribute: true, unsetAttribute: true)));
    }

    [Fact]
    public void IsCloudEventProtobuf_WhenOurEnvelope_IsFalseBecauseOccurredAtReadsAsAnAttributeWithoutValue()
    {
        var envelope = TestPipeline.Event("x").Envelope;

        Assert.False(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", envelope));
        var withoutOccurredAt = Journey.Events.V1.EventEnvelope.Parser.ParseFrom(envelope);
        withoutOccurredAt.OccurTime = null;
        Assert.True(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", withoutOccurredAt.ToByteArray()));
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x02, 0xC3, 0x28 })]
    [InlineData(new byte[] { 0x0A, 0x05, 0x41 })]
    [InlineData(new byte[] { 0x0C })]
    [InlineData(new byte[] { 0x0E, 0x00 })]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 })]
    public void IsCloudEventProtobuf_WhenBytesDoNotParse_IsFalse(byte[] bytes)
    {
        Assert.False(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", bytes));
    }

    [Fact]
    public void IsCloudEventProtobuf_WhenFieldsHaveOtherWireTypes_SkipsThemAsUnknown()
    {
        // Field 1 as a varint and field 5 as fixed32: unknown fields to protobuf-go, not errors.
        Assert.True(DaprPubSubRules.IsCloudEventProtobuf("application/x-protobuf", [0x08, 0x96, 0x01, 0x2D, 1, 2, 3, 4, 0x0B, 0x08, 0x01, 0x0C]));
    }

    private static PublishEventRequest Request(string contentType, byte[] data) => new()
    {
        PubsubName = "journey-pubsub",
        Topic = TestTopics.InteractionRecorded,
        DataContentType = contentType,
        Data = ByteString.CopyFrom(data),
    };

    /// <summary>An <c>io.cloudevents.v1.CloudEvent</c> written field by field.</summary>
    private static byte[] ProtobufCloudEvent(bool includeAttribute, bool unsetAttribute)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteString("id-1");
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString("touchpoint");
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteString("1.0");
        output.WriteTag(4, WireFormat.WireType.LengthDelimited);
        output.WriteString("t");
        if (includeAttribute)
        {
            var value = new MemoryStream();
            var valueOutput = new CodedOutputStream(value);
            if (!unsetAttribute)
            {
                valueOutput.WriteTag(3, WireFormat.WireType.LengthDelimited);
                valueOutput.WriteString("application/octet-stream");
            }

            valueOutput.Flush();
            var entry = new MemoryStream();
            var entryOutput = new CodedOutputStream(entry);
            entryOutput.WriteTag(1, WireFormat.WireType.LengthDelimited);
            entryOutput.WriteString("datacontenttype");
            entryOutput.WriteTag(2, WireFormat.WireType.LengthDelimited);
            entryOutput.WriteBytes(ByteString.CopyFrom(value.ToArray()));
            entryOutput.Flush();
            output.WriteTag(5, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(entry.ToArray()));
        }

        output.WriteTag(6, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(0xFF, 0x00));
        output.Flush();
        return buffer.ToArray();
    }
}
