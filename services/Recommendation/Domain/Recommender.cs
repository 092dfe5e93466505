using System.Diagnostics;
using System.Diagnostics.Metrics;
using Journey.Shared.Errors;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Options;

namespace Journey.Recommendation.Domain;

/// <summary>Why an item was picked, as a machine code (numbered as in the service proto).</summary>
public enum ReasonCode
{
    Unspecified = 0,
    FitsStage = 1,
    Interest = 2,
    PopularAtStage = 3,
    GenericNoConsent = 4,
    ServiceTicketOpen = 5,
    AlsoConsumed = 6,
    Exploration = 7,
    ReadyToBuy = 8,
    FallbackGeneric = 9,
    Anonymous = 10,
    ServiceOnlyNoChannelConsent = 11,
}

/// <summary>A reason in plain words.</summary>
public readonly record struct Reason(ReasonCode Code, string Text);

/// <summary>One identifier of a request: kind as in journey.common.v1.IdentifierKind, value in clear.</summary>
public readonly record struct RequestIdentifier(int Kind, string Value);

/// <summary>A Recommend request; <paramref name="ValidateOnly"/> ranks without recording anything.</summary>
public sealed record RecommendRequest(IReadOnlyList<RequestIdentifier> Identifiers, string Touchpoint, ChannelKind Channel, int Count, IReadOnlyDictionary<string, string> Context, bool ValidateOnly = false);

/// <summary>A ranked item.</summary>
public sealed record RankedItem(ContentItem Item, double Score, IReadOnlyList<Reason> Reasons);

/// <summary>Content held back because the person has not granted <paramref name="Purpose"/> on <paramref name="Channel"/>.</summary>
public sealed record ConsentHold(string Purpose, ChannelKind Channel, string Text);

/// <summary>A Recommend answer; <paramref name="RecommendationId"/> is empty when nothing was recorded (a validate-only request).</summary>
public sealed record RecommendResult(string RecommendationId, IReadOnlyList<RankedItem> Items, string ExperimentId, string Variant, Stage Stage, bool Personalised, IReadOnlyList<ConsentHold> Withheld);

/// <summary>
/// Ranks content for a person at a touchpoint. Everything it needs comes from this service's own read
/// models and in-process indexes; the record of the recommendation goes to the <see cref="RecommendationJournal"/>, which stores it off the caller's path.
/// </summary>
public sealed class Recommender(
    ContentIndex index,
    LearningModel learning,
    ExperimentRegistry experiments,
    IAudienceStore audience,
    RecommendationJournal journal,
    IdentifierHasher hasher,
    RankingRandom random,
    IOptions<RecommendationOptions> options,
    TimeProvider time)
{
    public const string DefaultVariant = "default";
    public const string ContextContentKey = "content";
    private const double KindRepeatPenalty = 0.75;

    public static readonly ActivitySource Source = new("Journey.Recommendation");
    public static readonly Meter Meter = new("Journey.Recommendation");
    private static readonly Counter<long> Recommendations = Meter.CreateCounter<long>("journey.recommendation.recommendations", "{recommendation}", "Recommendations issued.");
    private static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("journey.recommendation.fallbacks", "{recommendation}", "Recommendations answered with the generic fallback.");

    private readonly RecommendationOptions _options = options.Value;

    public async Task<RecommendResult> RecommendAsync(RecommendRequest request, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("Recommend");
        var identifierKeys = Validate(request, out var touchpointId);
        await index.EnsureLoadedAsync(cancellationToken);
        await learning.EnsureLoadedAsync(cancellationToken);
        var now = time.GetUtcNow();
        var context = await audience.ReadContextAsync(touchpointId, identifierKeys, DateOnly.FromDateTime(now.UtcDateTime), cancellationToken);
        if (context.Touchpoint is not { Retired: false } touchpoint)
        {
            throw new InvalidArgumentException("touchpoint", "is not a known, active touchpoint");
        }

        var channel = request.Channel == ChannelKind.Unspecified ? touchpoint.Channel : request.Channel;
        var person = context.Person;
        var grants = person?.AllowedPurposes ?? [];
        var personalised = person is not null && ConsentGrants.Allows(grants, PersonState.PersonalisationPurpose, channel);
        IReadOnlyList<Stage> stages = person is null ? [Stage.Awareness]
            : personalised ? [person.Stage]
            : touchpoint.Stages.Count > 0 ? touchpoint.Stages : [Stage.Awareness];
        var readiness = personalised ? person!.Readiness : 0;
        var ticketOpen = person is { OpenServiceTickets: > 0 };

        // Marketing on a gated channel (e-mail by default) needs the person's grant for that channel;
        // service content is not marketing and stays available.
        var withheld = _options.PurposesGoverning(channel)
            .Where(p => !ConsentGrants.Allows(grants, p, channel))
            .Select(p => new ConsentHold(p, channel, $"marketing withheld: no consent for {p} on {ChannelText(channel)}"))
            .ToList();
        var serviceOnly = ticketOpen || withheld.Count > 0;
        var consumed = person?.Consumed.ToHashSet(StringComparer.Ordinal) ?? [];
        var recommendationId = TimeOrderedIds.Next(now).ToString("N");
        var personKey = person?.Key ?? (identifierKeys.Count > 0 ? identifierKeys[0] : "");

        var experiment = await experiments.RunningAsync(cancellationToken);
        var variant = experiment?.Assign(personKey.Length > 0 ? personKey : recommendationId);
        var strategy = variant?.Strategy ?? Strategy.Learned;

        bool Allowed(ContentItem item) =>
            item.IsValidAt(now)
            && !consumed.Contains(item.Id)
            && context.ImpressionsToday.GetValueOrDefault(item.Id) < _options.FrequencyCapPerDay
            && (!serviceOnly || item.Purpose == ContentPurpose.Service)
            && (item.RequiredConsentPurpose.Length == 0 || ConsentGrants.Allows(grants, item.RequiredConsentPurpose, channel));

        var candidates = index.Candidates(
            channel,
            stages,
            serviceOnly: serviceOnly,
            genericOnly: !personalised,
            item => Allowed(item) && (item.Hardness < _options.HardContentHardness || readiness >= _options.ReadinessThreshold),
            _options.CandidatesPerStage,
            _options.CandidatesPerStage * 20);

        var alsoConsumed = await AlsoConsumedAsync(request, personalised ? person!.Consumed : [], cancellationToken);
        var scored = new List<RankedItem>(candidates.Count);
        foreach (var item in candidates)
        {
            scored.Add(new RankedItem(item, Score(item, person, personalised, stages, readiness, ticketOpen, strategy, alsoConsumed, null), []));
        }

        var picked = Diversify(scored, request.Count);
        for (var i = 0; i < picked.Count; i++)
        {
            var reasons = new List<Reason>(4);
            Score(picked[i].Item, person, personalised, stages, readiness, ticketOpen, strategy, alsoConsumed, reasons);
            picked[i] = picked[i] with { Reasons = reasons };
        }

        if (picked.Count == 0)
        {
            picked = Fallback(channel, serviceOnly, Allowed, now, request.Count);
            if (!request.ValidateOnly)
            {
                Fallbacks.Add(1);
            }
        }

        if (withheld.Count > 0 && !ticketOpen)
        {
            var text = $"service only: no consent for {string.Join(", ", withheld.Select(w => w.Purpose))} on {ChannelText(channel)}";
            for (var i = 0; i < picked.Count; i++)
            {
                picked[i] = picked[i] with { Reasons = [new Reason(ReasonCode.ServiceOnlyNoChannelConsent, text), .. picked[i].Reasons] };
            }
        }

        var experimentId = experiment?.Id ?? "";
        var variantName = variant?.Name ?? DefaultVariant;
        activity?.SetTag("journey.recommendation.items", picked.Count);
        if (request.ValidateOnly)
        {
            return new RecommendResult("", picked, experimentId, variantName, stages[0], personalised, withheld);
        }

        await journal.AddAsync(new RecommendationRecord(recommendationId, personKey, stages[0], experimentId, variantName, picked.Select(p => p.Item.Id).ToList(), now), cancellationToken);
        Recommendations.Add(1);
        return new RecommendResult(recommendationId, picked, experimentId, variantName, stages[0], personalised, withheld);
    }

    private async Task<Dictionary<string, (string SeedTitle, double Strength)>> AlsoConsumedAsync(RecommendRequest request, IReadOnlyList<string> history, CancellationToken cancellationToken)
    {
        var seeds = new List<string>();
        if (request.Context.TryGetValue(ContextContentKey, out var viewing) && ResourceNames.IdOf(viewing, ResourceNames.ContentPrefix) is { } viewed)
        {
            seeds.Add(viewed);
        }

        seeds.AddRange(history.Take(3));
        var result = new Dictionary<string, (string, double)>(StringComparer.Ordinal);
        if (seeds.Count == 0)
        {
            return result;
        }

        var rows = await audience.ReadAlsoConsumedAsync(seeds.Distinct().ToList(), 20, cancellationToken);
        foreach (var group in rows.GroupBy(r => r.SeedId))
        {
            var max = (double)group.Max(r => r.Count);
            var title = index.Find(group.Key)?.Title ?? group.Key;
            foreach (var row in group)
            {
                var strength = row.Count / max;
                if (!result.TryGetValue(row.ContentId, out var existing) || existing.Item2 < strength)
                {
                    result[row.ContentId] = (title, strength);
                }
            }
        }

        return result;
    }

    /// <summary>
    /// The item's score when <paramref name="reasons"/> is null, otherwise only its reasons (added to
    /// <paramref name="reasons"/>, no random draw): reasons are worded for the few items picked, not
    /// for every candidate.
    /// </summary>
    private double Score(
        ContentItem item,
        PersonState? person,
        bool personalised,
        IReadOnlyList<Stage> stages,
        int readiness,
        bool ticketOpen,
        Strategy strategy,
        Dictionary<string, (string SeedTitle, double Strength)> alsoConsumed,
        List<Reason>? reasons)
    {
        if (ticketOpen)
        {
            reasons?.Add(new Reason(ReasonCode.ServiceTicketOpen, "service: help while a service ticket is open"));
        }

        var bestStage = stages[0];
        var fit = 0.0;
        foreach (var stage in stages)
        {
            var weight = item.WeightFor(stage);
            if (weight > fit)
            {
                fit = weight;
                bestStage = stage;
            }
        }

        if (fit > 0)
        {
            reasons?.Add(new Reason(ReasonCode.FitsStage, $"fits stage: {StageText(bestStage)}"));
        }

        var interest = 0.0;
        if (personalised)
        {
            foreach (var candidate in person!.Interests)
            {
                if (candidate.Affinity > interest && item.Topics.Contains(candidate.Topic, StringComparer.OrdinalIgnoreCase))
                {
                    interest = candidate.Affinity;
                    reasons?.RemoveAll(r => r.Code == ReasonCode.Interest);
                    reasons?.Add(new Reason(ReasonCode.Interest, $"interest: {candidate.Topic.Replace('-', ' ').Replace('_', ' ')}"));
                }
            }
        }

        if (item.Hardness >= _options.HardContentHardness)
        {
            reasons?.Add(new Reason(ReasonCode.ReadyToBuy, "ready to buy: sales content for a person close to a decision"));
        }

        var learned = 0.0;
        var also = 0.0;
        if (strategy == Strategy.Learned)
        {
            var (impressions, clicks) = learning.Get(item.Id, bestStage);
            learned = reasons is null ? random.NextBeta(1 + clicks, 1 + Math.Max(0, impressions - clicks)) : 0;
            if (impressions < _options.MinImpressionsForPopularity)
            {
                reasons?.Add(new Reason(ReasonCode.Exploration, "new: getting a chance to show what it can do"));
            }
            else if ((clicks + 1.0) / (impressions + 2.0) >= 0.1)
            {
                reasons?.Add(new Reason(ReasonCode.PopularAtStage, "popular with people at this stage"));
            }

            if (alsoConsumed.TryGetValue(item.Id, out var together))
            {
                also = together.Strength;
                reasons?.Add(new Reason(ReasonCode.AlsoConsumed, $"people who read '{together.SeedTitle}' also read this"));
            }
        }

        if (person is null)
        {
            reasons?.Add(new Reason(ReasonCode.Anonymous, "anonymous: treated as in the awareness stage"));
        }
        else if (!personalised)
        {
            reasons?.Add(new Reason(ReasonCode.GenericNoConsent, "generic: no consent for personalisation"));
        }

        var readinessFit = 1 - Math.Abs(item.Hardness - (readiness / 100.0));
        var score = (0.45 * fit) + (0.25 * interest) + (0.2 * readinessFit) + (0.35 * learned) + (0.2 * also);
        return Math.Round(score, 6);
    }

    /// <summary>Greedy pick by score, each repeat of a kind already picked costing a quarter of the score.</summary>
    private static List<RankedItem> Diversify(List<RankedItem> scored, int count)
    {
        var picked = new List<RankedItem>(count);
        var penalty = new Dictionary<ContentKind, double>();
        scored.Sort(static (a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(a.Item.Id, b.Item.Id);
        });
        var taken = new bool[scored.Count];
        while (picked.Count < count)
        {
            var best = -1;
            var bestValue = double.MinValue;
            for (var i = 0; i < scored.Count; i++)
            {
                if (taken[i])
                {
                    continue;
                }

                var value = scored[i].Score * penalty.GetValueOrDefault(scored[i].Item.Kind, 1.0);
                if (value > bestValue)
                {
                    bestValue = value;
                    best = i;
                }
            }

            if (best < 0)
            {
                break;
            }

            taken[best] = true;
            var item = scored[best];
            penalty[item.Item.Kind] = penalty.GetValueOrDefault(item.Item.Kind, 1.0) * KindRepeatPenalty;
            picked.Add(item);
        }

        return picked;
    }

    /// <summary>
    /// Generic content for the channel when the rules left nothing: first what still passes the person
    /// rules (consumed, cap, ticket, consent), then anything valid that is service content where only
    /// service content may be shown (an open ticket, a channel without marketing consent).
    /// </summary>
    private List<RankedItem> Fallback(ChannelKind channel, bool serviceOnly, Func<ContentItem, bool> allowed, DateTimeOffset now, int count)
    {
        var all = Enum.GetValues<Stage>().Where(s => s != Stage.Unspecified).ToList();
        var items = index.Candidates(channel, all, serviceOnly, genericOnly: true, allowed, count, count * 50);
        if (items.Count == 0)
        {
            items = index.Candidates(channel, all, serviceOnly, genericOnly: true, i => i.IsValidAt(now) && i.RequiredConsentPurpose.Length == 0 && (!serviceOnly || i.Purpose == ContentPurpose.Service), count, count * 50);
        }

        return items.Take(count).Select(i => new RankedItem(i, 0, [new Reason(ReasonCode.FallbackGeneric, "generic brand content: nothing more specific fits right now")])).ToList();
    }

    private List<string> Validate(RecommendRequest request, out string touchpointId)
    {
        var v = new Validation();
        touchpointId = request.Touchpoint.StartsWith(ResourceNames.TouchpointPrefix, StringComparison.Ordinal) ? request.Touchpoint[ResourceNames.TouchpointPrefix.Length..] : "";
        v.Require(touchpointId.Length is > 0 and <= 128 && !touchpointId.Contains('/', StringComparison.Ordinal), "touchpoint", "must be touchpoints/{touchpoint}");
        v.Require(Enum.IsDefined(request.Channel), "channel", "must be a defined Channel (or unspecified for the touchpoint's channel)");
        v.Require(request.Count is >= 1 and <= 100, "count", "must be 1 to 100");
        v.Require(request.Identifiers.Count <= 10, "identifiers", "must hold at most 10 identifiers");
        v.Require(request.Context.Count <= 16, "context", "must hold at most 16 entries");
        foreach (var (key, value) in request.Context)
        {
            v.Require(key.Length is > 0 and <= 64 && value.Length <= 256, $"context[{key[..Math.Min(key.Length, 64)]}]", "keys must be 1 to 64 and values at most 256 characters");
        }

        var keys = new List<string>(request.Identifiers.Count);
        for (var i = 0; i < request.Identifiers.Count; i++)
        {
            var identifier = request.Identifiers[i];
            if (identifier.Kind is < 1 or > 7)
            {
                v.Add($"identifiers[{i}].kind", "must be a defined IdentifierKind");
                continue;
            }

            if (identifier.Value.Length is 0 or > 256)
            {
                v.Add($"identifiers[{i}].value", "must be 1 to 256 characters");
                continue;
            }

            keys.Add(identifier.Kind switch
            {
                IdentifierKeys.Email => IdentifierKeys.Of(IdentifierKeys.Email, hasher.HashEmail(identifier.Value)),
                IdentifierKeys.Phone => IdentifierKeys.Of(IdentifierKeys.Phone, hasher.HashPhone(identifier.Value)),
                IdentifierKeys.ProfileId => IdentifierKeys.ForProfile(identifier.Value),
                _ => IdentifierKeys.Of(identifier.Kind, identifier.Value),
            });
        }

        v.ThrowIfInvalid();
        return keys;
    }

    public static string ChannelText(ChannelKind channel) => channel switch
    {
        ChannelKind.Email => "e-mail",
        ChannelKind.PaidAd => "paid ads",
        ChannelKind.DealerStore => "dealer or store",
        ChannelKind.CallCentre => "call centre",
        ChannelKind.ThirdPartyReview => "third-party review sites",
        ChannelKind.PriceComparison => "price-comparison sites",
        ChannelKind.MobileApp => "mobile app",
        _ => channel.ToString().ToLowerInvariant(),
    };

    public static string StageText(Stage stage) => stage switch
    {
        Stage.Awareness => "awareness",
        Stage.Consideration => "consideration",
        Stage.Evaluation => "evaluation",
        Stage.Purchase => "purchase",
        Stage.Ownership => "ownership",
        Stage.Loyalty => "loyalty",
        _ => "unknown",
    };
}
