using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Tests.Domain;

public sealed class ExperimentMathTests
{
    [Fact]
    public void Wilson_When10Of100_MatchesHandComputedInterval()
    {
        // p = 0.1, z² = 3.841459; centre = (0.1 + 0.019207) / 1.038415 = 0.114800;
        // half = 1.959964 / 1.038415 * sqrt(0.0009 + 0.000096036) = 0.059568.
        var rate = ExperimentMath.Wilson(10, 100);

        Assert.Equal(0.1, rate.Value, 12);
        Assert.Equal(0.055229, rate.Lower, 5);
        Assert.Equal(0.174368, rate.Upper, 5);
    }

    [Fact]
    public void Wilson_WhenNoTrials_IsTheWholeRange()
    {
        Assert.Equal(new RateEstimate(0, 0, 1), ExperimentMath.Wilson(0, 0));
    }

    [Fact]
    public void ProbabilityBBeatsA_WhenUniformAgainstBeta21_IsTwoThirds()
    {
        // P(X_B > X_A) with A ~ Beta(1,1), B ~ Beta(2,1): ∫ 2x · x dx over [0,1] = 2/3.
        Assert.Equal(2.0 / 3.0, ExperimentMath.ProbabilityBBeatsA(1, 1, 2, 1), 12);
    }

    [Fact]
    public void ProbabilityBBeatsA_AgreesWithNumericalIntegration()
    {
        var exact = ExperimentMath.ProbabilityBBeatsA(1 + 20, 1 + 180, 1 + 30, 1 + 170);

        Assert.Equal(Integrate(21, 181, 31, 171), exact, 6);
        Assert.InRange(exact, 0.9, 0.97);
    }

    [Fact]
    public void ProbabilityBBeatsA_WhenSameCounts_IsOneHalf()
    {
        Assert.Equal(0.5, ExperimentMath.ProbabilityBBeatsA(11, 91, 11, 91), 9);
    }

    [Fact]
    public void Results_ControlFirst_ComputesEveryVariant()
    {
        var results = ExperimentMath.Results([new VariantCounts("control", 5, 100, 10, 2), new VariantCounts("learned", 5, 100, 20, 4)]);

        Assert.Equal(0.5, results[0].ProbabilityToBeatControl);
        Assert.Equal(0.2, results[1].ClickThrough.Value, 12);
        Assert.Equal(0.04, results[1].Conversion.Value, 12);
        Assert.True(results[1].ProbabilityToBeatControl > 0.95);
    }

    [Fact]
    public void Assign_IsDeterministicPerPersonAndFollowsTheSplit()
    {
        var experiment = new Experiment
        {
            Id = "exp-1",
            DisplayName = "rules vs learned",
            Variants = [new ExperimentVariant("control", Strategy.StageRules, 0.3), new ExperimentVariant("learned", Strategy.Learned, 0.7)],
        };

        var first = Enumerable.Range(0, 10_000).Select(i => experiment.Assign($"1:person-{i}").Name).ToList();
        var second = Enumerable.Range(0, 10_000).Select(i => experiment.Assign($"1:person-{i}").Name).ToList();

        Assert.Equal(first, second);
        Assert.InRange(first.Count(n => n == "control"), 2800, 3200);
    }

    private static double Integrate(double aA, double bA, double aB, double bB)
    {
        // P(B > A) = ∫ f_B(x) F_A(x) dx with a midpoint rule on 200,000 cells.
        const int n = 200_000;
        var h = 1.0 / n;
        var cdfA = 0.0;
        var total = 0.0;
        var logBA = ExperimentMath.LogBeta(aA, bA);
        var logBB = ExperimentMath.LogBeta(aB, bB);
        for (var i = 0; i < n; i++)
        {
            var x = (i + 0.5) * h;
            var fA = Math.Exp(((aA - 1) * Math.Log(x)) + ((bA - 1) * Math.Log(1 - x)) - logBA);
            var fB = Math.Exp(((aB - 1) * Math.Log(x)) + ((bB - 1) * Math.Log(1 - x)) - logBB);
            var cdfMid = cdfA + (fA * h / 2);
            total += fB * cdfMid * h;
            cdfA += fA * h;
        }

        return total;
    }
}
