using Google.Protobuf;
using Journey.Events.V1;

namespace Journey.Distributed.Tests;

public sealed class BrokerTests
{
    [Theory]
    [InlineData("    - name: maxLenApprox\n      value: \"10000\"\n")]
    [InlineData("    - name: maxLenApprox\r\n      value: 10000\r\n")]
    public void MaxLenApprox_WhenTheComponentSetsIt_ReadsTheNumber(string entry)
    {
        var component = "spec:\n  metadata:\n    - name: redisHost\n      value: valkey:6379\n" + entry + "    - name: processingTimeout\n      value: 5m\n";

        Assert.Equal(10_000, Broker.MaxLenApprox(component));
    }

    [Fact]
    public void MaxLenApprox_WhenOnlyACommentMentionsIt_IsNull()
    {
        const string Component = "spec:\n  metadata:\n    # No maxLenApprox: trimming would drop events.\n    - name: processingTimeout\n      value: 5m\n";

        Assert.Null(Broker.MaxLenApprox(Component));
    }

    [Fact]
    public void CloudEventId_WhenTheEntryHoldsADaprCloudEvent_IsThePublishersEventId()
    {
        var entry = new StreamEntry("1700000000000-0", new Dictionary<string, string>
        {
            ["data"] = """{"id":"0190a1b2c3d4","source":"touchpoint","type":"journey.events.v1.InteractionRecorded","specversion":"1.0","datacontenttype":"application/octet-stream","data_base64":"AAE="}""",
        });

        Assert.Equal("0190a1b2c3d4", Broker.CloudEventId(entry));
    }

    [Fact]
    public void CloudEventId_WhenTheEntryHasNoData_FailsNamingTheFieldsItHas()
    {
        var entry = new StreamEntry("1-0", new Dictionary<string, string> { ["metadata"] = "{}" });

        var error = Assert.Throws<InvalidOperationException>(() => Broker.CloudEventId(entry));

        Assert.Contains("metadata", error.Message);
    }

    [Fact]
    public void Envelope_WhenTheCloudEventCarriesDataBase64_IsTheEnvelopeTheServicePublished()
    {
        var sent = new EventEnvelope { EventId = "e-1", Topic = "interaction-recorded", Payload = new InteractionRecorded { InteractionId = "i-1", Touchpoint = "touchpoints/web" }.ToByteString() };
        var entry = new StreamEntry("1-0", new Dictionary<string, string>
        {
            ["data"] = $$"""{"id":"e-1","datacontenttype":"application/octet-stream","data_base64":"{{Convert.ToBase64String(sent.ToByteArray())}}"}""",
        });

        var envelope = Broker.Envelope(entry);

        Assert.Equal(sent, envelope);
        Assert.Equal("touchpoints/web", InteractionRecorded.Parser.ParseFrom(envelope.Payload).Touchpoint);
    }

    [Fact]
    public void Envelope_WhenTheDataIsNotBinary_FailsNamingTheEntryAndContentType()
    {
        // What Dapr makes of bytes published under a content type it does not treat as binary: a JSON string.
        var entry = new StreamEntry("7-0", new Dictionary<string, string>
        {
            ["data"] = """{"id":"e-1","type":"journey.events.v1.InteractionRecorded","datacontenttype":"application/x-protobuf","data":"\n\u0003e-1\ufffd"}""",
        });

        var error = Assert.Throws<InvalidOperationException>(() => Broker.Envelope(entry));

        Assert.Contains("7-0", error.Message);
        Assert.Contains("application/x-protobuf", error.Message);
    }
}
