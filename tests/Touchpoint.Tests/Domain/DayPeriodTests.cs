using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Errors;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

/// <summary>How a requested report period becomes whole UTC days, down to the first and last instants a request can carry.</summary>
public sealed class DayPeriodTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Midnight = new(2026, 2, 20, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The first and last instants a request can carry, and their neighbours.</summary>
    public static TheoryData<DateTimeOffset?, DateTimeOffset?> Edges()
    {
        DateTimeOffset?[] times =
        [
            null,
            DateTimeOffset.MinValue,
            DateTimeOffset.MinValue.AddTicks(1),
            DateTimeOffset.MinValue.AddDays(1),
            Now,
            DayPeriod.LatestEnd.AddTicks(-1),
            DayPeriod.LatestEnd,
            DayPeriod.LatestEnd.AddTicks(1),
            DateTimeOffset.MaxValue,
        ];
        var data = new TheoryData<DateTimeOffset?, DateTimeOffset?>();
        foreach (var start in times)
        {
            foreach (var end in times)
            {
                data.Add(start, end);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Edges))]
    public void Resolve_AtTheEdgesOfTheYears1And9999_ResolvesToTimestampsOrReportsAPeriodField(DateTimeOffset? start, DateTimeOffset? end)
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(start, end, Now, validation);

        if (period is null)
        {
            var violation = Assert.Single(validation.Violations);
            Assert.Contains(violation.Field, new[] { "period", "period.start_time", "period.end_time" });
        }
        else
        {
            Assert.True(validation.IsValid);
            Assert.InRange(period.ToDay - period.FromDay, 0, DayPeriod.MaxDays - 1);
            // Both ends go back to the caller as google.protobuf.Timestamp.
            Assert.Equal(period.Start, Timestamp.FromDateTimeOffset(period.Start).ToDateTimeOffset());
            Assert.Equal(period.End, Timestamp.FromDateTimeOffset(period.End).ToDateTimeOffset());
            Assert.True(start is null || period.Start <= start);
            Assert.True(end is null || period.End >= end);
        }
    }

    [Fact]
    public void Resolve_WhenEndIsTheFirstInstantOfTheYear1_ReportsTheEnd()
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(null, DateTimeOffset.MinValue, Now, validation);

        Assert.Null(period);
        Assert.Equal("period.end_time", Assert.Single(validation.Violations).Field);
    }

    [Fact]
    public void Resolve_WhenEndIsOneTickIntoTheYear1_IsItsFirstDayAlone()
    {
        var period = DayPeriod.Resolve(null, DateTimeOffset.MinValue.AddTicks(1), Now, new Validation());

        Assert.NotNull(period);
        Assert.Equal(DateTimeOffset.MinValue, period.Start);
        Assert.Equal(DateTimeOffset.MinValue.AddDays(1), period.End);
    }

    [Fact]
    public void Resolve_WhenEndIsInTheLastDayOfTheYear9999_ReportsTheEnd()
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(null, DateTimeOffset.MaxValue, Now, validation);

        Assert.Null(period);
        Assert.Equal("period.end_time", Assert.Single(validation.Violations).Field);
    }

    [Fact]
    public void Resolve_WhenEndIsTheLatestEnd_EndsThere()
    {
        var period = DayPeriod.Resolve(null, DayPeriod.LatestEnd, Now, new Validation());

        Assert.NotNull(period);
        Assert.Equal(DayPeriod.LatestEnd, period.End);
        Assert.Equal(DayPeriod.LatestEnd.AddDays(-DayPeriod.DefaultDays), period.Start);
    }

    [Fact]
    public void Resolve_WhenStartIsAfterTodayAndEndIsOpen_ReportsTheStart()
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(DateTimeOffset.MaxValue, null, Now, validation);

        Assert.Null(period);
        Assert.Equal("period.start_time", Assert.Single(validation.Violations).Field);
    }

    [Fact]
    public void Resolve_WhenStartIsTheYear1AndEndIsOpen_ReportsTheSpan()
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(DateTimeOffset.MinValue, null, Now, validation);

        Assert.Null(period);
        Assert.Equal("period", Assert.Single(validation.Violations).Field);
    }

    [Fact]
    public void Resolve_WhenBothEndsAreOpen_IsTheLast30DaysUpToTheEndOfToday()
    {
        var period = DayPeriod.Resolve(null, null, Now, new Validation());

        Assert.Equal(new DayPeriod(JourneyAnalytics.DayOf(Now) - 29, JourneyAnalytics.DayOf(Now)), period);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), period!.End);
    }

    [Fact]
    public void Resolve_WhenEndIsMidnight_LeavesOutTheDayStartingThere()
    {
        var period = DayPeriod.Resolve(Midnight.AddDays(-1), Midnight, Now, new Validation());

        Assert.Equal(new DayPeriod(JourneyAnalytics.DayOf(Midnight) - 1, JourneyAnalytics.DayOf(Midnight) - 1), period);
    }

    [Fact]
    public void Resolve_WhenEndIsOneTickAfterMidnight_TakesInTheDayStartingThere()
    {
        var period = DayPeriod.Resolve(Midnight.AddDays(-1), Midnight.AddTicks(1), Now, new Validation());

        Assert.Equal(new DayPeriod(JourneyAnalytics.DayOf(Midnight) - 1, JourneyAnalytics.DayOf(Midnight)), period);
    }

    [Fact]
    public void Resolve_WhenEndIsNotAfterStart_ReportsTheEnd()
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(Midnight, Midnight, Now, validation);

        Assert.Null(period);
        Assert.Equal("period.end_time", Assert.Single(validation.Violations).Field);
    }

    [Theory]
    [InlineData(366, true)]
    [InlineData(367, false)]
    public void Resolve_WhenSpanningDays_AllowsAtMost366(int days, bool allowed)
    {
        var validation = new Validation();

        var period = DayPeriod.Resolve(Midnight, Midnight.AddDays(days), Now, validation);

        Assert.Equal(allowed, period is not null);
        Assert.Equal(allowed, validation.IsValid);
    }
}
