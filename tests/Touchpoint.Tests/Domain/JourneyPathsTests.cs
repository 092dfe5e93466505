using Journey.Shared.Errors;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

public sealed class JourneyPathsTests
{
    private static readonly IReadOnlyList<IReadOnlyList<string>> Sequences =
    [
        ["ad", "web", "dealer"],
        ["ad", "web", "dealer"],
        ["review", "web", "dealer"],
        ["web", "dealer"],
        ["dealer"],
        [],
    ];

    [Fact]
    public void Summarise_CountsPeoplePerPathAndPerLinkFromTheEnd()
    {
        var (paths, links) = JourneyPaths.Summarise(Sequences, maxSteps: 3, pathLimit: 10, linkLimit: 10);

        // Six people: the three-step path twice, the others once each; shares of six.
        Assert.Equal(
            [("ad>web>dealer", false, 2L, 2 / 6.0), ("", false, 1, 1 / 6.0), ("dealer", false, 1, 1 / 6.0), ("review>web>dealer", false, 1, 1 / 6.0), ("web>dealer", false, 1, 1 / 6.0)],
            paths.Select(p => (string.Join('>', p.Steps), p.EarlierSteps, p.People, p.Share)));
        // dealer -> end: everyone with a step (5); web -> dealer two steps out: 4; three steps out: ad 2, review 1.
        Assert.Equal(
            [(1, "dealer", "", 5L), (2, "web", "dealer", 4), (3, "ad", "web", 2), (3, "review", "web", 1)],
            links.Select(l => (l.StepsBeforeEnd, l.From, l.To, l.People)));
    }

    [Fact]
    public void Summarise_WithFewerStepsThanTaken_FoldsTheEarlierOnesIntoOnePath()
    {
        var (paths, links) = JourneyPaths.Summarise(Sequences, maxSteps: 2, pathLimit: 2, linkLimit: 2);

        // web>dealer: three people had earlier steps, one did not; the two are different paths.
        Assert.Equal([("web>dealer", true, 3L), ("", false, 1)], paths.Select(p => (string.Join('>', p.Steps), p.EarlierSteps, p.People)));
        Assert.Equal([(1, "dealer", "", 5L), (2, "web", "dealer", 4)], links.Select(l => (l.StepsBeforeEnd, l.From, l.To, l.People)));
    }

    [Fact]
    public void Summarise_WithNobody_IsEmpty()
    {
        var (paths, links) = JourneyPaths.Summarise([], 4, 10, 10);

        Assert.Empty(paths);
        Assert.Empty(links);
    }

    [Theory]
    [InlineData(PathEnd.Unspecified, 0, 0, 0, "end")]
    [InlineData(PathEnd.Purchase, 11, 0, 0, "max_steps")]
    [InlineData(PathEnd.DropOff, 0, 101, 0, "path_limit")]
    [InlineData(PathEnd.DropOff, 0, 0, 101, "link_limit")]
    public void Resolve_WithAFigureOutOfRange_NamesIt(PathEnd end, int maxSteps, int pathLimit, int linkLimit, string field)
    {
        var validation = new Validation();

        JourneyPaths.Resolve(end, maxSteps, pathLimit, linkLimit, validation);

        var error = Assert.Throws<InvalidArgumentException>(validation.ThrowIfInvalid);
        Assert.Equal(field, Assert.Single(error.Violations).Field);
    }

    [Fact]
    public void Resolve_WithZeros_GivesTheDefaults()
    {
        var validation = new Validation();

        var resolved = JourneyPaths.Resolve(PathEnd.Purchase, 0, 0, 0, validation);

        validation.ThrowIfInvalid();
        Assert.Equal((JourneyPaths.DefaultMaxSteps, JourneyPaths.DefaultPathLimit, JourneyPaths.DefaultLinkLimit), resolved);
    }
}
