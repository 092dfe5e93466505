using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class JourneyRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ProfileOptions Options = new();

    [Fact]
    public void DecayingScore_WhenObservationIsLate_DecaysItToTheScoreTime()
    {
        var score = new DecayingScore(1, Now).Add(1, Now.AddDays(-7), TimeSpan.FromDays(7));

        Assert.Equal(1.5, score.Value, 9);
        Assert.Equal(Now, score.AsOf);
        Assert.Equal(0.75, score.At(Now.AddDays(7), TimeSpan.FromDays(7)), 9);
    }

    [Fact]
    public void Apply_WhenStageWouldGoBack_KeepsTheFurthestStage()
    {
        var profile = new CustomerProfile("p", Now);
        JourneyRules.Apply(profile, Interaction(InteractionType.TestDriveBooked, Now), Options);

        JourneyRules.Apply(profile, Interaction(InteractionType.View, Now.AddDays(1), JourneyStage.Awareness), Options);

        Assert.Equal(JourneyStage.Evaluation, profile.Stage);
        Assert.Equal([JourneyStage.Evaluation], profile.StageHistory.Select(s => s.Stage));
    }

    [Fact]
    public void Combine_WhenEitherWithdrewProfiling_SurvivorStopsProfiling()
    {
        var survivor = new CustomerProfile("s", Now);
        JourneyRules.Apply(survivor, Interaction(InteractionType.ContentConsumed, Now, topics: ["suv"]), Options);
        var merged = new CustomerProfile("m", Now);
        JourneyRules.SetProfilingAllowed(merged, false);

        JourneyRules.Combine(survivor, merged, Options);

        Assert.False(survivor.ProfilingAllowed);
        Assert.Empty(JourneyRules.View(survivor, Options, Now).Interests);
    }

    [Fact]
    public void View_AtEqualCounts_OrdersTestDriveAboveNewsletterOpensAbovePageViews()
    {
        var booker = ReadinessAfter(InteractionType.TestDriveBooked, 4);
        var opener = ReadinessAfter(InteractionType.EmailOpen, 4);
        var browser = ReadinessAfter(InteractionType.View, 4);

        Assert.True(booker > opener, $"test-drive booker {booker} should be readier than newsletter opener {opener}");
        Assert.True(opener > browser, $"newsletter opener {opener} should be readier than page browser {browser}");
    }

    [Theory]
    [InlineData(InteractionType.TestDriveBooked)]
    [InlineData(InteractionType.ConfigurationBuilt)]
    [InlineData(InteractionType.QuoteRequested)]
    [InlineData(InteractionType.CartAbandoned)]
    public void View_WhenOneStrongIntentSignal_OutweighsFiveOpensAndFiveViews(InteractionType strong)
    {
        var profile = new CustomerProfile("weak", Now);
        for (var i = 0; i < 5; i++)
        {
            JourneyRules.Apply(profile, Interaction(InteractionType.EmailOpen, Now), Options);
            JourneyRules.Apply(profile, Interaction(InteractionType.View, Now), Options);
        }

        Assert.True(ReadinessAfter(strong, 1) > JourneyRules.View(profile, Options, Now).Readiness);
    }

    [Fact]
    public void View_WhenIntentIsOld_DecaysBelowFreshBrowsing()
    {
        var profile = new CustomerProfile("old", Now);
        JourneyRules.Apply(profile, Interaction(InteractionType.TestDriveBooked, Now.AddDays(-70)), Options);

        Assert.True(JourneyRules.View(profile, Options, Now).Readiness < ReadinessAfter(InteractionType.View, 4));
    }

    private static int ReadinessAfter(InteractionType type, int count)
    {
        var profile = new CustomerProfile(type.ToString(), Now);
        for (var i = 0; i < count; i++)
        {
            JourneyRules.Apply(profile, Interaction(type, Now), Options);
        }

        return JourneyRules.View(profile, Options, Now).Readiness;
    }

    [Fact]
    public void Options_Defaults_AreDocumentedValues()
    {
        Assert.Equal(50, Options.MaxAnonymousIdentifiers);
        Assert.Equal(TimeSpan.FromDays(30), Options.InterestHalfLife);
        Assert.Equal(TimeSpan.FromDays(7), Options.ReadinessHalfLife);
        Assert.Equal(10, Options.AudienceMinimumSize);
    }

    [Fact]
    public void Options_WhenAudienceMinimumIsZero_FailValidation()
    {
        var result = new ProfileOptionsValidator().Validate(null, new ProfileOptions { AudienceMinimumSize = 0 });

        Assert.True(result.Failed);
        Assert.Contains("AudienceMinimumSize", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_WhenAudienceReachesTheFloor_HidesOnlySmallBuckets()
    {
        var members = Enumerable.Range(0, 10).Select(i =>
        {
            var profile = new CustomerProfile($"p{i}", Now) { Stage = i < 9 ? JourneyStage.Evaluation : JourneyStage.Loyalty };
            profile.Channels[1] = 1;
            return profile;
        }).ToList();

        var audience = SegmentUseCases.Describe(members, Options, new AudienceNoise(new byte[32], 1000), Now);

        Assert.False(audience.BelowMinimum);
        Assert.Equal(10, audience.Size);
        Assert.Empty(audience.Stages);
        Assert.Equal([(1, 10L)], audience.Channels);
    }

    private static Interaction Interaction(InteractionType type, DateTimeOffset at, JourneyStage stage = JourneyStage.Awareness, string[]? topics = null) =>
        new("e", [new IdentifierKey(IdentifierKind.AnonymousId, "c")], type, [stage], 1, at, "", topics ?? []);
}

public sealed class ArchitectureTests
{
    private static readonly string[] Banned = ["Grpc.", "Google.Protobuf", "MongoDB.", "Dapr", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite"];

    [Fact]
    public void Domain_UsesNoTransportOrStorageNamespace()
    {
        var folder = Path.Combine(Journey.Testing.Repository.Root, "services", "Profile", "Domain");
        var offending = Directory.EnumerateFiles(folder, "*.cs")
            .SelectMany(file => File.ReadLines(file).Select(line => (File: Path.GetFileName(file), Line: line.Trim())))
            .Where(l => l.Line.StartsWith("using ", StringComparison.Ordinal) && Banned.Any(b => l.Line.Contains(b, StringComparison.Ordinal)))
            .Select(l => $"{l.File}: {l.Line}")
            .ToList();

        Assert.True(Directory.EnumerateFiles(folder, "*.cs").Any());
        Assert.Empty(offending);
    }

    [Fact]
    public void Domain_TypesReferenceNoBannedAssembly()
    {
        var domainTypes = typeof(CustomerProfile).Assembly.GetTypes().Where(t => t.Namespace == typeof(CustomerProfile).Namespace).ToList();
        var referenced = domainTypes
            .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic).Select(f => f.FieldType)
                .Concat(t.GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType))))
            .Select(t => t.Assembly.GetName().Name ?? "")
            .Distinct()
            .Where(name => Banned.Any(b => name.StartsWith(b.TrimEnd('.'), StringComparison.Ordinal)))
            .ToList();

        Assert.NotEmpty(domainTypes);
        Assert.Empty(referenced);
    }
}
