using Google.Protobuf.WellKnownTypes;

namespace Journey.Shared.Errors;

/// <summary>Conversions of request fields that can be out of range, reported as INVALID_ARGUMENT naming the field.</summary>
public static class RequestFields
{
    private const long MinSeconds = -62_135_596_800;
    private const long MaxSeconds = 253_402_300_799;

    /// <summary>The time a timestamp names; null when it is absent; INVALID_ARGUMENT when .NET cannot represent it (before year 1, after 9999, nanos outside 0..999,999,999).</summary>
    public static DateTimeOffset? Time(Timestamp? timestamp, string field) =>
        timestamp is null ? null
        : timestamp.Seconds is >= MinSeconds and <= MaxSeconds && timestamp.Nanos is >= 0 and <= 999_999_999 ? timestamp.ToDateTimeOffset()
        : throw new InvalidArgumentException(field, "must be a timestamp between the years 1 and 9999 with nanos from 0 to 999,999,999");

    /// <summary>
    /// The end of a half-open span [start, end) as <see cref="Time"/> reads it, but rounded up to the next
    /// tick (100 ns, what a DateTimeOffset holds) when the timestamp falls between two: the instants just
    /// before the end stay inside the span. The last tick of the year 9999 stays as it is.
    /// </summary>
    public static DateTimeOffset? EndTime(Timestamp? timestamp, string field)
    {
        var time = Time(timestamp, field);
        return time is { } t && timestamp!.Nanos % 100 != 0 && t < DateTimeOffset.MaxValue ? t.AddTicks(1) : time;
    }
}
