using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

/// <summary>Which stream messages share a transaction: never more than the settings and the store allow, and never part of a message.</summary>
public sealed class StreamGroupTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void Fits_PastTheInteractionLimit_IsFalseSoTheGroupIsStoredFirst()
    {
        var group = new StreamGroup(1000, 4 * MiB);
        group.Add(Message(600), 1000);

        Assert.True(group.Fits(400, 1000));
        Assert.False(group.Fits(401, 1000));
        Assert.False(group.IsFull);
    }

    [Fact]
    public void Fits_PastTheByteLimit_IsFalse()
    {
        var group = new StreamGroup(1000, 4 * MiB);
        group.Add(Message(10), 3 * MiB);

        Assert.True(group.Fits(10, MiB));
        Assert.False(group.Fits(10, MiB + 1));
    }

    [Fact]
    public void Fits_WhenEmpty_TakesAMessageLargerThanTheLimits_WhichIsNeverSplit()
    {
        var group = new StreamGroup(1000, 4 * MiB);

        Assert.True(group.Fits(1000, 5 * MiB));
        group.Add(Message(1000), 5 * MiB);
        Assert.True(group.IsFull);
    }

    [Fact]
    public void Clear_StartsAnEmptyGroup()
    {
        var group = new StreamGroup(1000, 4 * MiB);
        group.Add(Message(1000), MiB);

        group.Clear();

        Assert.Empty(group.Messages);
        Assert.False(group.IsFull);
        Assert.True(group.Fits(1000, 4 * MiB));
    }

    private static List<InteractionInput> Message(int interactions) =>
        Enumerable.Range(0, interactions).Select(i => new InteractionInput(
            $"e-{i}", "touchpoints/web", DateTimeOffset.UnixEpoch, [], InteractionType.View, "", "", 0, "", null, new Dictionary<string, string>())).ToList();
}
