using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Journey.Events.V1;
using Journey.Shared.Identity;

namespace Journey.Shared.Events;

/// <summary>
/// An integration event on its way out: the serialized <see cref="EventEnvelope"/> plus the two fields
/// the relay needs without parsing it. Plain data, so domain code can pass it to its store port
/// without knowing protobuf.
/// </summary>
/// <param name="EventId">The envelope's unique id (UUIDv7 text, so ids sort by time).</param>
/// <param name="Topic">The topic, one of <see cref="Topics"/>.</param>
/// <param name="Envelope">The serialized envelope.</param>
public sealed record OutboxMessage(string EventId, string Topic, byte[] Envelope);

/// <summary>Builds envelopes. The trace context of the current activity goes in, so the consumer continues the caller's trace.</summary>
public static class EventEnvelopes
{
    /// <summary>Wraps <paramref name="payload"/> for <paramref name="topic"/>, published by <paramref name="source"/>.</summary>
    public static OutboxMessage Create(string topic, string source, IMessage payload, DateTimeOffset occurredAt)
    {
        var eventId = TimeOrderedIds.Next(occurredAt).ToString();
        var envelope = new EventEnvelope
        {
            EventId = eventId,
            Topic = topic,
            Type = payload.Descriptor.FullName,
            Source = source,
            OccurTime = Timestamp.FromDateTimeOffset(occurredAt),
            Payload = payload.ToByteString(),
        };
        var activity = Activity.Current;
        if (activity is not null && activity.IdFormat == ActivityIdFormat.W3C)
        {
            envelope.Traceparent = activity.Id ?? "";
            envelope.Tracestate = activity.TraceStateString ?? "";
        }

        return new OutboxMessage(eventId, topic, envelope.ToByteArray());
    }

    /// <summary>
    /// The <see cref="Topics.ErasureCompleted"/> event <paramref name="service"/> publishes once it has erased
    /// what it held of <paramref name="erasure"/> (the erasure's resource name): the same for every service.
    /// </summary>
    public static OutboxMessage ErasureCompleted(string service, string erasure, long recordsErased, DateTimeOffset at) =>
        Create(Topics.ErasureCompleted, service, new Journey.Events.V1.ErasureCompleted
        {
            Erasure = erasure,
            Service = service,
            CompleteTime = Timestamp.FromDateTimeOffset(at),
            RecordsErased = recordsErased,
        }, at);

    /// <summary>
    /// The trace context an envelope carries, read without parsing the rest: the relay links every event
    /// of a batch to its trace, and copying each payload only for that was about a fifth of its work.
    /// </summary>
    public static bool TryReadTraceContext(byte[] envelope, out ActivityContext context)
    {
        string? traceparent = null, tracestate = null;
        try
        {
            var input = new CodedInputStream(envelope);
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case EventEnvelope.TraceparentFieldNumber when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        traceparent = input.ReadString();
                        break;
                    case EventEnvelope.TracestateFieldNumber when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                        tracestate = input.ReadString();
                        break;
                    default:
                        // Groups and undefined wire types never occur in an envelope: these are not envelope bytes.
                        if (WireFormat.GetTagWireType(tag) is not (WireFormat.WireType.Varint or WireFormat.WireType.Fixed64 or WireFormat.WireType.LengthDelimited or WireFormat.WireType.Fixed32))
                        {
                            return Fail(out context);
                        }

                        input.SkipLastField();
                        break;
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
            return Fail(out context);
        }

        context = default;
        return traceparent is not null && ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out context);

        static bool Fail(out ActivityContext none)
        {
            none = default;
            return false;
        }
    }
}
