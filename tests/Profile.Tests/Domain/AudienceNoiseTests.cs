using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class AudienceNoiseTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ProfileOptions Options = new();
    private static readonly JourneyStage[] Stages = [JourneyStage.Awareness, JourneyStage.Consideration, JourneyStage.Evaluation];
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Describe_WhenTheSameMembershipIsDescribedAgainInAnotherOrder_GivesTheSameFigures()
    {
        var noise = new AudienceNoise(Key, 1);
        var members = People("same", 30, new Random(1));

        var first = SegmentUseCases.Describe(members, Options, noise, Now);
        var again = SegmentUseCases.Describe(members.AsEnumerable().Reverse().ToList(), Options, noise, Now);

        Assert.Equal(first.Size, again.Size);
        Assert.Equal(first.Stages, again.Stages);
        Assert.Equal(first.Channels, again.Channels);
    }

    [Fact]
    public void Describe_WhenTwoAudiencesDifferByOnePerson_TheirDifferenceRarelyNamesThatPersonsStage()
    {
        // Without noise the stage whose count dropped is the person's every time; the same attack
        // is run with near-exact figures to show it.
        Assert.Equal(1.0, StageGuessedRate(new AudienceNoise(Key, 1000)));
        Assert.InRange(StageGuessedRate(new AudienceNoise(Key, Options.AudienceNoiseEpsilon)), 0, 0.7);
    }

    [Fact]
    public void Describe_WithTheDefaultNoise_KeepsCountsWithinTheStatedError()
    {
        var noise = new AudienceNoise(Key, Options.AudienceNoiseEpsilon);
        var random = new Random(7);
        var within = 0;
        const int audiences = 400;
        for (var trial = 0; trial < audiences; trial++)
        {
            var members = People($"e{trial}", 60, random);
            var description = SegmentUseCases.Describe(members, Options, noise, Now);
            within += Math.Abs(description.Size - members.Count) <= noise.CountError95 ? 1 : 0;
        }

        Assert.InRange(within / (double)audiences, 0.9, 1.0);
    }

    private static double StageGuessedRate(AudienceNoise noise)
    {
        var random = new Random(42);
        var guessed = 0;
        const int trials = 300;
        for (var trial = 0; trial < trials; trial++)
        {
            var everyone = People($"t{trial}", 90, random);
            var person = everyone[random.Next(everyone.Count)];
            var withPerson = SegmentUseCases.Describe(everyone, Options, noise, Now);
            var withoutPerson = SegmentUseCases.Describe(everyone.Where(p => p != person).ToList(), Options, noise, Now);
            var guess = Stages.MaxBy(stage =>
                withPerson.Stages.FirstOrDefault(s => s.Stage == stage).Members - withoutPerson.Stages.FirstOrDefault(s => s.Stage == stage).Members);
            guessed += guess == person.Stage ? 1 : 0;
        }

        return guessed / (double)trials;
    }

    private static List<CustomerProfile> People(string prefix, int count, Random random) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var profile = new CustomerProfile($"{prefix}-{i}", Now) { Stage = Stages[random.Next(Stages.Length)] };
            profile.Channels[1] = 1;
            return profile;
        }).ToList();
}
