using Journey.Shared.Identity;

namespace Journey.Shared.Tests.Identity;

public sealed class TimeOrderedIdsTests
{
    [Fact]
    public void Next_IsAVersion7IdWithTheGivenMillisecondsFirst()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(0x0192_3456_789A);

        var id = TimeOrderedIds.Next(at).ToString("N");

        Assert.StartsWith("01923456789a", id, StringComparison.Ordinal);
        Assert.Equal('7', id[12]);
        Assert.Contains(id[16], "89ab");
    }

    [Fact]
    public void Next_OrdersByTimeAndNeverRepeats()
    {
        var start = DateTimeOffset.UtcNow;
        // More than one 4 KiB block of randomness, so refills are crossed too.
        var ids = Enumerable.Range(0, 100_000).Select(i => TimeOrderedIds.Next(start.AddMilliseconds(i)).ToString("N")).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Next_InOneMillisecondOnManyThreads_NeverRepeats()
    {
        var at = DateTimeOffset.UtcNow;
        // The time bits are equal, so only the random bits tell these apart, across several refills per thread.
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Enumerable.Range(0, 1_000).Select(_ => TimeOrderedIds.Next(at)).ToList())));

        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public void Next_AgreesWithTheRuntimesVersion7Layout()
    {
        var at = DateTimeOffset.UtcNow;

        var ours = TimeOrderedIds.Next(at);
        var runtime = Guid.CreateVersion7(at);

        Assert.Equal(runtime.Version, ours.Version);
        // The RFC 9562 variant is the top two bits, 10; the two after them are random.
        Assert.Equal(runtime.Variant & 0xC, ours.Variant & 0xC);
        Assert.Equal(0x8, ours.Variant & 0xC);
        Assert.Equal(runtime.ToString("N")[..12], ours.ToString("N")[..12]);
    }

    [Fact]
    public void Next_BeforeTheUnixEpoch_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeOrderedIds.Next(DateTimeOffset.UnixEpoch.AddMilliseconds(-1)));
    }
}
