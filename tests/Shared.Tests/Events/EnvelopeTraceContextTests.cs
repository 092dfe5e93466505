using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;

namespace Journey.Shared.Tests.Events;

public sealed class EnvelopeTraceContextTests
{
    [Fact]
    public void TryReadTraceContext_OfAnEventWrittenInATrace_GivesThatTrace()
    {
        using var activity = new Activity("write").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.TraceStateString = "journey=1";
        var message = EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = new string('x', 2000) }, DateTimeOffset.UtcNow);

        Assert.True(EventEnvelopes.TryReadTraceContext(message.Envelope, out var context));
        Assert.Equal(activity.TraceId, context.TraceId);
        Assert.Equal(activity.SpanId, context.SpanId);
        Assert.Equal("journey=1", context.TraceState);
    }

    [Fact]
    public void TryReadTraceContext_OfAnEventWrittenOutsideATrace_GivesNone()
    {
        Activity.Current = null;
        var message = EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = "a" }, DateTimeOffset.UtcNow);

        Assert.False(EventEnvelopes.TryReadTraceContext(message.Envelope, out _));
    }

    [Fact]
    public void TryReadTraceContext_WithTheTraceFieldAsANumber_GivesNone()
    {
        // Field 6 as a varint (tag 0x30), then a group start (tag 0x33): neither can be a traceparent.
        Assert.False(EventEnvelopes.TryReadTraceContext([0x30, 0x01], out _));
        Assert.False(EventEnvelopes.TryReadTraceContext([0x33, 0x01], out _));
    }

    [Fact]
    public void TryReadTraceContext_WithTheTraceFieldTwice_TakesTheLast()
    {
        var first = new Journey.Events.V1.EventEnvelope { Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }.ToByteArray();
        var second = new Journey.Events.V1.EventEnvelope { Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }.ToByteArray();

        Assert.True(EventEnvelopes.TryReadTraceContext([.. first, .. second], out var context));
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", context.TraceId.ToHexString());
    }

    [Fact]
    public void TryReadTraceContext_OfBytesThatAreNoEnvelope_GivesNone()
    {
        Assert.False(EventEnvelopes.TryReadTraceContext([0x32, 0x7F, 0x01], out _));
    }
}
