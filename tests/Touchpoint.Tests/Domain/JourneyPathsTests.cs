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

    [Fact]
    public void SummariseFrom_CountsOnlyThoseWhoMetTheStart_FromIt()
    {
        // Through web: four people. Kept two steps from web: web>dealer for all four (the end follows);
        // through ad: two, whose three steps are cut to two with later steps.
        var (fromWeb, webLinks, throughWeb) = JourneyPaths.SummariseFrom("web", Sequences, maxSteps: 2, pathLimit: 10, linkLimit: 10);
        var (fromAd, adLinks, throughAd) = JourneyPaths.SummariseFrom("ad", Sequences, maxSteps: 2, pathLimit: 10, linkLimit: 10);

        Assert.Equal(4, throughWeb);
        Assert.Equal([("web>dealer", false, 4L, 1.0)], fromWeb.Select(p => (string.Join('>', p.Steps), p.LaterSteps, p.People, p.Share)));
        Assert.Equal([(1, "web", "dealer", 4L), (2, "dealer", "", 4)], webLinks.Select(l => (l.StepsAfterStart, l.From, l.To, l.People)));
        Assert.All(webLinks, l => Assert.Equal(0, l.StepsBeforeEnd));
        Assert.Equal(2, throughAd);
        Assert.Equal([("ad>web", true, 2L, 1.0)], fromAd.Select(p => (string.Join('>', p.Steps), p.LaterSteps, p.People, p.Share)));
        // A path cut short has no link to the end.
        Assert.Equal([(1, "ad", "web", 2L)], adLinks.Select(l => (l.StepsAfterStart, l.From, l.To, l.People)));
    }

    [Fact]
    public void SummariseFrom_AStartNobodyMet_IsEmpty()
    {
        var (paths, links, through) = JourneyPaths.SummariseFrom("newsletter", Sequences, 4, 10, 10);

        Assert.Equal(0, through);
        Assert.Empty(paths);
        Assert.Empty(links);
    }

    [Theory]
    [InlineData(PathEnd.Touchpoint, "", "", "end_touchpoint")]
    [InlineData(PathEnd.Touchpoint, "touchpoints/Bad Id", "", "end_touchpoint")]
    [InlineData(PathEnd.Purchase, "touchpoints/dealer", "", "end_touchpoint")]
    [InlineData(PathEnd.Purchase, "", "dealer", "start_touchpoint")]
    [InlineData(PathEnd.Touchpoint, "touchpoints/dealer", "touchpoints/dealer", "start_touchpoint")]
    public void Resolve_WithAMisplacedOrMalformedTouchpoint_NamesIt(PathEnd end, string endTouchpoint, string startTouchpoint, string field)
    {
        var validation = new Validation();

        JourneyPaths.Resolve(end, endTouchpoint, startTouchpoint, 0, 0, 0, validation);

        var error = Assert.Throws<InvalidArgumentException>(validation.ThrowIfInvalid);
        Assert.Equal(field, Assert.Single(error.Violations).Field);
    }

    [Fact]
    public void Resolve_WithTouchpoints_GivesTheirIds()
    {
        var validation = new Validation();

        var query = JourneyPaths.Resolve(PathEnd.Touchpoint, "touchpoints/test-drive", "touchpoints/ad", 0, 0, 0, validation);

        validation.ThrowIfInvalid();
        Assert.Equal(("test-drive", "ad"), (query.EndTouchpoint, query.StartTouchpoint));
    }

    [Theory]
    [InlineData(PathEnd.Unspecified, 0, 0, 0, "end")]
    [InlineData(PathEnd.Purchase, 11, 0, 0, "max_steps")]
    [InlineData(PathEnd.DropOff, 0, 101, 0, "path_limit")]
    [InlineData(PathEnd.DropOff, 0, 0, 101, "link_limit")]
    public void Resolve_WithAFigureOutOfRange_NamesIt(PathEnd end, int maxSteps, int pathLimit, int linkLimit, string field)
    {
        var validation = new Validation();

        JourneyPaths.Resolve(end, "", "", maxSteps, pathLimit, linkLimit, validation);

        var error = Assert.Throws<InvalidArgumentException>(validation.ThrowIfInvalid);
        Assert.Equal(field, Assert.Single(error.Violations).Field);
    }

    [Fact]
    public void Resolve_WithZeros_GivesTheDefaults()
    {
        var validation = new Validation();

        var resolved = JourneyPaths.Resolve(PathEnd.Purchase, "", "", 0, 0, 0, validation);

        validation.ThrowIfInvalid();
        Assert.Equal(new PathQuery(PathEnd.Purchase, null, null, JourneyPaths.DefaultMaxSteps, JourneyPaths.DefaultPathLimit, JourneyPaths.DefaultLinkLimit), resolved);
    }
}
