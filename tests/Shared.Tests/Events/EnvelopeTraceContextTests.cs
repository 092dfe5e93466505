using System.Diagnostics;
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
        var message = EventEnvelopes.Create(Topics.InteractionRecorded, "touchpoint", new StringValue { Value = new string('x', 2000) }, DateTimeOffset.UtcNow);

        Assert.True(EventEnvelopes.TryReadTraceContext(message.Envelope, out var context));
        Assert.Equal(activity.TraceId, context.TraceId);
        Assert.Equal(activity.SpanId, context.SpanId);
        Assert.Equal("journey=1", context.TraceState);
    }

    [Fact]
    public void TryReadTraceContext_OfAnEventWrittenOutsideATrace_GivesNone()
    {
        Activity.Current = null;
        var message = EventEnvelopes.Create(Topics.InteractionRecorded, "touchpoint", new StringValue { Value = "a" }, DateTimeOffset.UtcNow);

        Assert.False(EventEnvelopes.TryReadTraceContext(message.Envelope, out _));
    }

    [Fact]
    public void TryReadTraceContext_OfBytesThatAreNoEnvelope_GivesNone()
    {
        Assert.False(EventEnvelopes.TryReadTraceContext([0x32, 0x7F, 0x01], out _));
    }
}
