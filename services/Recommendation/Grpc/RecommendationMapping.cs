using Google.Protobuf.WellKnownTypes;
using Journey.Recommendation.V1;
using Journey.Shared.Errors;
using Journey.Shared.Identity;
using D = Journey.Recommendation.Domain;

namespace Journey.Recommendation.Grpc;

/// <summary>Proto to domain and back.</summary>
internal static class RecommendationMapping
{
    private static readonly Dictionary<string, D.ContentFieldMask> MaskPaths = new(StringComparer.Ordinal)
    {
        ["title"] = D.ContentFieldMask.Title,
        ["kind"] = D.ContentFieldMask.Kind,
        ["stages"] = D.ContentFieldMask.Stages,
        ["topics"] = D.ContentFieldMask.Topics,
        ["channels"] = D.ContentFieldMask.Channels,
        ["hardness"] = D.ContentFieldMask.Hardness,
        ["purpose"] = D.ContentFieldMask.Purpose,
        ["required_consent_purpose"] = D.ContentFieldMask.RequiredConsentPurpose,
        ["valid_start_time"] = D.ContentFieldMask.ValidFrom,
        ["valid_end_time"] = D.ContentFieldMask.ValidUntil,
        ["generic"] = D.ContentFieldMask.Generic,
    };

    public static D.ContentFieldMask ToMask(FieldMask? mask) => UpdateMasks.Parse(mask, MaskPaths, D.ContentFieldMask.All);

    public static D.ContentItem? ToDomain(ContentItem? content) => content is null ? null : new D.ContentItem
    {
        Id = D.ResourceNames.IdOf(content.Name, D.ResourceNames.ContentPrefix) ?? "",
        Title = content.Title,
        Kind = (D.ContentKind)(int)content.Kind,
        Stages = content.Stages.Select(s => new D.StageWeight((D.Stage)(int)s.Stage, s.Weight)).ToList(),
        Topics = [.. content.Topics],
        Channels = content.Channels.Select(c => (D.ChannelKind)(int)c).ToList(),
        Hardness = content.Hardness,
        Purpose = (D.ContentPurpose)(int)content.Purpose,
        RequiredConsentPurpose = content.RequiredConsentPurpose,
        ValidFrom = RequestFields.Time(content.ValidStartTime, "content.valid_start_time"),
        ValidUntil = RequestFields.Time(content.ValidEndTime, "content.valid_end_time"),
        Generic = content.Generic,
    };

    public static ContentItem ToProto(D.ContentItem item)
    {
        var proto = new ContentItem
        {
            Name = item.Name,
            Title = item.Title,
            Kind = (ContentKind)(int)item.Kind,
            Hardness = item.Hardness,
            Purpose = (ContentPurpose)(int)item.Purpose,
            RequiredConsentPurpose = item.RequiredConsentPurpose,
            ValidStartTime = item.ValidFrom is { } from ? Timestamp.FromDateTimeOffset(from) : null,
            ValidEndTime = item.ValidUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
            Generic = item.Generic,
            Retired = item.Retired,
            Etag = item.Etag,
            UpdateTime = Timestamp.FromDateTimeOffset(item.UpdatedAt),
        };
        proto.Stages.AddRange(item.Stages.Select(s => new StageWeight { Stage = (Common.V1.JourneyStage)(int)s.Stage, Weight = s.Weight }));
        proto.Topics.AddRange(item.Topics);
        proto.Channels.AddRange(item.Channels.Select(c => (Common.V1.Channel)(int)c));
        return proto;
    }

    public static SummarizeContentsResponse ToProto(D.ContentSummary summary)
    {
        var proto = new SummarizeContentsResponse { LiveCount = summary.LiveCount };
        proto.Topics.AddRange(summary.Topics);
        proto.Coverage.AddRange(summary.Coverage.Select(c => new TopicStageCount { Topic = c.Topic, Stage = (Common.V1.JourneyStage)(int)c.Stage, Count = c.Count }));
        proto.Hardness.AddRange(summary.Hardness.Select(h => new StageHardness { Stage = (Common.V1.JourneyStage)(int)h.Stage, SoftCount = h.Soft, MediumCount = h.Medium, HardCount = h.Hard }));
        proto.MostShown.AddRange(summary.MostShown.Select(s => new ShownContent { Content = D.ResourceNames.ContentPrefix + s.ContentId, Title = s.Title, Performance = ToProto(s.Performance) }));
        return proto;
    }

    public static StagePerformance ToProto(D.StagePerformance p) => new()
    {
        Stage = (Common.V1.JourneyStage)(int)p.Stage,
        Impressions = p.Impressions,
        Clicks = p.Clicks,
        Conversions = p.Conversions,
        ClickRate = p.ClickRate,
        ConversionRate = p.ConversionRate,
        LearnedClickRate = p.LearnedClickRate,
    };

    public static D.RecommendRequest ToDomain(RecommendRequest request) => new(
        PersonRefs.Identifiers(request.Person, "person", required: false).Select(i => new D.RequestIdentifier((int)i.Kind, i.Value)).ToList(),
        request.Touchpoint,
        (D.ChannelKind)(int)request.Channel,
        request.Count,
        request.Context,
        request.ValidateOnly);

    public static RecommendResponse ToProto(D.RecommendResult result)
    {
        var response = new RecommendResponse
        {
            Recommendation = result.RecommendationId.Length == 0 ? "" : D.ResourceNames.Recommendation(result.RecommendationId),
            Variant = result.Variant,
            Experiment = result.ExperimentId.Length > 0 ? D.ResourceNames.Experiment(result.ExperimentId) : "",
            Stage = (Common.V1.JourneyStage)(int)result.Stage,
            Personalised = result.Personalised,
        };
        foreach (var ranked in result.Items)
        {
            var item = new RecommendedItem
            {
                Content = ranked.Item.Name,
                Title = ranked.Item.Title,
                Kind = (ContentKind)(int)ranked.Item.Kind,
                Score = ranked.Score,
            };
            item.Reasons.AddRange(ranked.Reasons.Select(r => new Reason { Code = (ReasonCode)(int)r.Code, Text = r.Text }));
            response.Items.Add(item);
        }

        response.Withheld.AddRange(result.Withheld.Select(w => new ConsentHold { Purpose = w.Purpose, Channel = (Common.V1.Channel)(int)w.Channel, Text = w.Text }));
        return response;
    }

    public static D.Experiment? ToDomain(Experiment? experiment) => experiment is null ? null : new D.Experiment
    {
        Id = "",
        DisplayName = experiment.DisplayName,
        Variants = experiment.Variants.Select(v => new D.ExperimentVariant(v.Name, (D.Strategy)(int)v.Strategy, v.TrafficShare)).ToList(),
    };

    public static Experiment ToProto(D.Experiment experiment)
    {
        var proto = new Experiment
        {
            Name = experiment.Name,
            DisplayName = experiment.DisplayName,
            State = experiment.Running ? ExperimentState.Running : ExperimentState.Stopped,
            CreateTime = Timestamp.FromDateTimeOffset(experiment.CreatedAt),
            StopTime = experiment.StoppedAt is { } stopped ? Timestamp.FromDateTimeOffset(stopped) : null,
        };
        proto.Variants.AddRange(experiment.Variants.Select(v => new Variant { Name = v.Name, Strategy = (Strategy)(int)v.Strategy, TrafficShare = v.TrafficShare }));
        return proto;
    }

    public static VariantResults ToProto(D.VariantResult result) => new()
    {
        Variant = result.Counts.Variant,
        Recommendations = result.Counts.Recommendations,
        Impressions = result.Counts.Impressions,
        Clicks = result.Counts.Clicks,
        Conversions = result.Counts.Conversions,
        ClickThrough = new Rate { Value = result.ClickThrough.Value, Lower = result.ClickThrough.Lower, Upper = result.ClickThrough.Upper },
        Conversion = new Rate { Value = result.Conversion.Value, Lower = result.Conversion.Lower, Upper = result.Conversion.Upper },
        ProbabilityToBeatControl = result.ProbabilityToBeatControl,
    };
}
