using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;

namespace Journey.WebConsole.Components;

/// <summary>A period of whole UTC days ending with today, and the one of the same length before it.</summary>
/// <param name="Days">Its length in days.</param>
/// <param name="End">The first instant after it: the end of today (UTC).</param>
public sealed record PeriodChoice(int Days, DateTimeOffset End)
{
    /// <summary>The lengths the picker offers.</summary>
    public static readonly IReadOnlyList<int> Choices = [7, 30, 90, 365];

    /// <summary>The default length.</summary>
    public const int DefaultDays = 30;

    /// <summary>The first instant in it.</summary>
    public DateTimeOffset Start => End.AddDays(-Days);

    /// <summary>The period of <paramref name="days"/> (one of <see cref="Choices"/>, else the default) ending with today.</summary>
    public static PeriodChoice Of(int? days, DateTimeOffset now) =>
        new(days is { } d && Choices.Contains(d) ? d : DefaultDays, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(1));

    /// <summary>The period the query string's <paramref name="days"/> names; text that is not one of <see cref="Choices"/> gives the default.</summary>
    public static PeriodChoice FromQuery(string? days, DateTimeOffset now) => Of(QueryValue.WholeNumber(days), now);

    /// <summary>The same length just before it.</summary>
    public PeriodChoice Previous => new(Days, Start);

    /// <summary>As the API takes it.</summary>
    public Period ToPeriod() => new() { StartTime = Timestamp.FromDateTimeOffset(Start), EndTime = Timestamp.FromDateTimeOffset(End) };
}
