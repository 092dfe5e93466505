using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Journey.Shared.Errors;
using Journey.Shared.Paging;

namespace Journey.Recommendation.Domain;

/// <summary>A ranking strategy.</summary>
public enum Strategy
{
    Unspecified = 0,
    StageRules = 1,
    Learned = 2,
}

/// <summary>One arm of an experiment.</summary>
public sealed record ExperimentVariant(string Name, Strategy Strategy, double TrafficShare);

/// <summary>An A/B experiment between ranking strategies.</summary>
public sealed record Experiment
{
    public required string Id { get; init; }

    public required string DisplayName { get; init; }

    /// <summary>The first is the control.</summary>
    public required IReadOnlyList<ExperimentVariant> Variants { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StoppedAt { get; init; }

    public long Version { get; init; }

    public bool Running => StoppedAt is null;

    public string Name => ResourceNames.Experiment(Id);

    /// <summary>
    /// The variant of <paramref name="personKey"/>: the first 8 bytes of SHA-256 over experiment id and
    /// person key, as a fraction of 2^64, walked through the cumulative shares. The same person always
    /// lands in the same variant, and different experiments split people independently.
    /// </summary>
    public ExperimentVariant Assign(string personKey)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(Id + "\n" + personKey), digest);
        var bucket = BitConverter.ToUInt64(digest[..8]) / 18446744073709551616.0;
        var cumulative = 0.0;
        foreach (var variant in Variants)
        {
            cumulative += variant.TrafficShare;
            if (bucket < cumulative)
            {
                return variant;
            }
        }

        return Variants[^1];
    }

    public bool SameAs(Experiment other) =>
        this with { Variants = [] } == other with { Variants = [] } && Variants.SequenceEqual(other.Variants);
}

/// <summary>A rate with its 95 % Wilson interval.</summary>
public readonly record struct RateEstimate(double Value, double Lower, double Upper);

/// <summary>Results of one variant.</summary>
public sealed record VariantResult(VariantCounts Counts, RateEstimate ClickThrough, RateEstimate Conversion, double ProbabilityToBeatControl);

/// <summary>Statistics of experiment results; exact and deterministic.</summary>
public static class ExperimentMath
{
    /// <summary>The 97.5 % quantile of the standard normal distribution.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>Wilson score interval at 95 %; (0, 0, 1) for no trials.</summary>
    public static RateEstimate Wilson(long successes, long trials)
    {
        if (trials <= 0)
        {
            return new RateEstimate(0, 0, 1);
        }

        double n = trials;
        var p = successes / n;
        var z2 = Z95 * Z95;
        var denominator = 1 + (z2 / n);
        var centre = (p + (z2 / (2 * n))) / denominator;
        var half = Z95 / denominator * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n)));
        return new RateEstimate(p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>
    /// P(X_b &gt; X_a) for X ~ Beta(a, b) with integer parameters, by the exact finite sum
    /// sum_{i=0}^{alphaB-1} B(alphaA+i, betaA+betaB) / ((betaB+i) B(1+i, betaB) B(alphaA, betaA)),
    /// evaluated in log space. Cost grows with alphaB (clicks of the challenger + 1).
    /// </summary>
    public static double ProbabilityBBeatsA(long alphaA, long betaA, long alphaB, long betaB)
    {
        var total = 0.0;
        var logBetaA = LogBeta(alphaA, betaA);
        for (long i = 0; i < alphaB; i++)
        {
            total += Math.Exp(LogBeta(alphaA + i, betaA + betaB) - Math.Log(betaB + i) - LogBeta(1 + i, betaB) - logBetaA);
        }

        return Math.Clamp(total, 0, 1);
    }

    /// <summary>Results of every variant; the first is the control.</summary>
    public static IReadOnlyList<VariantResult> Results(IReadOnlyList<VariantCounts> counts)
    {
        var results = new List<VariantResult>(counts.Count);
        var control = counts[0];
        foreach (var variant in counts)
        {
            var beats = ReferenceEquals(variant, control)
                ? 0.5
                : ProbabilityBBeatsA(1 + control.Clicks, 1 + Math.Max(0, control.Impressions - control.Clicks), 1 + variant.Clicks, 1 + Math.Max(0, variant.Impressions - variant.Clicks));
            results.Add(new VariantResult(variant, Wilson(variant.Clicks, variant.Impressions), Wilson(variant.Conversions, variant.Impressions), beats));
        }

        return results;
    }

    public static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        }

        x -= 1;
        var a = Lanczos[0];
        var t = x + 7.5;
        for (var i = 1; i < 9; i++)
        {
            a += Lanczos[i] / (x + i);
        }

        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(a);
    }

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];
}

/// <summary>Use cases of experiments.</summary>
public sealed class ExperimentService(IExperimentStore store, IAudienceStore audience, RecommendationJournal journal, ExperimentRegistry registry, TimeProvider time)
{
    public async Task<Experiment> CreateAsync(string id, Experiment? draft, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(ResourceNames.IsValidId(id ?? ""), "experiment_id", "must be 1 to 64 characters of a-z, 0-9, '-', '_'");
        if (draft is null)
        {
            validation.Add("experiment", "is required");
            validation.ThrowIfInvalid();
            return null!;
        }

        validation.Require(draft.DisplayName.Length is > 0 and <= 200, "experiment.display_name", "must be 1 to 200 characters");
        validation.Require(draft.Variants.Count is >= 2 and <= 4, "experiment.variants", "must hold 2 to 4 variants (the first is the control)");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < draft.Variants.Count; i++)
        {
            var variant = draft.Variants[i];
            validation.Require(ResourceNames.IsValidId(variant.Name), $"experiment.variants[{i}].name", "must be 1 to 64 characters of a-z, 0-9, '-', '_'");
            validation.Require(names.Add(variant.Name), $"experiment.variants[{i}].name", "must be unique within the experiment");
            validation.Require(variant.Strategy is Strategy.StageRules or Strategy.Learned, $"experiment.variants[{i}].strategy", "must be STRATEGY_STAGE_RULES or STRATEGY_LEARNED");
            validation.Require(variant.TrafficShare is > 0 and <= 1, $"experiment.variants[{i}].traffic_share", "must be above 0 and at most 1");
        }

        validation.Require(draft.Variants.Count < 2 || Math.Abs(draft.Variants.Sum(v => v.TrafficShare) - 1) <= 1e-4, "experiment.variants", "traffic shares must sum to 1");
        validation.ThrowIfInvalid();

        if ((await store.ListRunningAsync(cancellationToken)).Count > 0)
        {
            throw new FailedPreconditionException(ErrorReasons.ExperimentAlreadyRunning, "Another experiment is running; stop it first (one experiment at a time keeps assignments unambiguous).");
        }

        var experiment = draft with { Id = id!, CreatedAt = time.GetUtcNow(), StoppedAt = null, Version = 1 };
        await store.CreateAsync(experiment, cancellationToken);
        registry.Set(experiment);
        return experiment;
    }

    public async Task<Experiment> GetAsync(string name, CancellationToken cancellationToken)
    {
        var id = ResourceNames.IdOf(name, ResourceNames.ExperimentPrefix) ?? throw new InvalidArgumentException("name", "must be experiments/{experiment}");
        return await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Experiment", name);
    }

    public async Task<Page<Experiment>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        (DateTimeOffset, string)? cursor = null;
        if (pageToken.Length > 0)
        {
            var parts = pageToken.Split('|');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ResourceNames.IsValidId(parts[1]))
            {
                cursor = (DateTimeOffset.FromUnixTimeMilliseconds(ticks), parts[1]);
            }
            else
            {
                validation.Add("page_token", "is not a token this service issued");
            }
        }

        validation.ThrowIfInvalid();
        var size = PageTokens.Size(pageSize);
        var items = await store.ListAsync(cursor, size + 1, cancellationToken);
        var page = items.Take(size).ToList();
        var token = items.Count > size ? $"{page[^1].CreatedAt.ToUnixTimeMilliseconds()}|{page[^1].Id}" : "";
        return new Page<Experiment>(page, token);
    }

    public async Task<Experiment> StopAsync(string name, CancellationToken cancellationToken)
    {
        var experiment = await GetAsync(name, cancellationToken);
        if (!experiment.Running)
        {
            return experiment;
        }

        var stopped = experiment with { StoppedAt = time.GetUtcNow(), Version = experiment.Version + 1 };
        await store.UpdateAsync(stopped, experiment.Version, cancellationToken);
        registry.Set(stopped);
        return stopped;
    }

    public async Task<(Experiment Experiment, IReadOnlyList<VariantResult> Results)> ResultsAsync(string name, CancellationToken cancellationToken)
    {
        var experiment = await GetAsync(name, cancellationToken);

        // The recommendations already answered count, including those still on their way to the store.
        await journal.FlushAsync(cancellationToken);
        var stored = (await audience.ReadVariantCountsAsync(experiment.Id, cancellationToken)).ToDictionary(c => c.Variant, StringComparer.Ordinal);
        var counts = experiment.Variants.Select(v => stored.GetValueOrDefault(v.Name) ?? new VariantCounts(v.Name, 0, 0, 0, 0)).ToList();
        return (experiment, ExperimentMath.Results(counts));
    }
}

/// <summary>
/// The running experiment, held in memory so Recommend needs no store read for it. Loaded once from
/// the store and kept current by this process's create and stop calls.
/// </summary>
public sealed class ExperimentRegistry(IExperimentStore store) : IDisposable
{
    private readonly SemaphoreSlim _load = new(1, 1);
    private volatile bool _loaded;
    private volatile Experiment? _running;

    public async ValueTask<Experiment?> RunningAsync(CancellationToken cancellationToken)
    {
        if (!_loaded)
        {
            await _load.WaitAsync(cancellationToken);
            try
            {
                if (!_loaded)
                {
                    var running = await store.ListRunningAsync(cancellationToken);
                    _running = running.Count > 0 ? running[0] : null;
                    _loaded = true;
                }
            }
            finally
            {
                _load.Release();
            }
        }

        return _running;
    }

    public void Dispose() => _load.Dispose();

    public void Set(Experiment experiment)
    {
        if (experiment.Running)
        {
            _running = experiment;
        }
        else if (_running?.Id == experiment.Id)
        {
            _running = null;
        }
    }
}
