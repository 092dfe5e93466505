using Journey.Testing;
using Journey.Touchpoint.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>The MongoDB interaction keys break ties on time in the timeline, so they must be unique.</summary>
public sealed class InteractionKeysTests
{
    [Fact]
    public void Next_ManyAtOneInstant_AreUniqueAndRise()
    {
        var keys = new InteractionKeys(TestClocks.Create(), 77);

        var taken = Enumerable.Range(0, 5000).Select(_ => keys.Next()).ToList();

        Assert.Equal(taken.Count, taken.Distinct().Count());
        Assert.Equal(taken.Order(), taken);
    }

    [Fact]
    public void Next_OfTwoProcessesAtOneInstant_NeverClash()
    {
        var clock = TestClocks.Create();
        var first = new InteractionKeys(clock, 1);
        var second = new InteractionKeys(clock, 2);

        var taken = Enumerable.Range(0, 2000).SelectMany(_ => new[] { first.Next(), second.Next() }).ToList();

        Assert.Equal(taken.Count, taken.Distinct().Count());
    }

    [Fact]
    public void Next_AsTheClockMoves_RisesAndStaysPositiveUntil2089()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2089, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var keys = new InteractionKeys(clock, InteractionKeys.Processes - 1);

        var before = keys.Next();
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var after = keys.Next();

        Assert.True(before > 0);
        Assert.True(after > before);
    }

    [Fact]
    public void Next_FromTwoThreads_IsUnique()
    {
        var keys = new InteractionKeys(TimeProvider.System, 5);
        var taken = new System.Collections.Concurrent.ConcurrentBag<long>();

        Parallel.For(0, 20_000, _ => taken.Add(keys.Next()));

        Assert.Equal(20_000, taken.Distinct().Count());
    }
}
