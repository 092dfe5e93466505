using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Errors;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.V1;
using CommonV1 = Journey.Common.V1;

namespace Journey.Touchpoint.Grpc;

/// <summary>Translation between the proto contract and the domain.</summary>
internal static class TouchpointMapping
{
    private static readonly Dictionary<string, TouchpointFieldMask> MaskPaths = new(StringComparer.Ordinal)
    {
        ["display_name"] = TouchpointFieldMask.DisplayName,
        ["channel"] = TouchpointFieldMask.Channel,
        ["ownership"] = TouchpointFieldMask.Ownership,
        ["stages"] = TouchpointFieldMask.Stages,
        ["criticality"] = TouchpointFieldMask.Criticality,
        ["intended_experience"] = TouchpointFieldMask.TargetSatisfaction | TouchpointFieldMask.Statement,
        ["intended_experience.target_satisfaction"] = TouchpointFieldMask.TargetSatisfaction,
        ["intended_experience.statement"] = TouchpointFieldMask.Statement,
        ["owning_team"] = TouchpointFieldMask.OwningTeam,
        ["topics"] = TouchpointFieldMask.Topics,
    };

    public static V1.Touchpoint Required(V1.Touchpoint? touchpoint) =>
        touchpoint ?? throw new InvalidArgumentException("touchpoint", "is required");

    public static TouchpointFields ToFields(V1.Touchpoint t) => new(
        t.DisplayName,
        (Domain.Channel)t.Channel,
        (Domain.Ownership)t.Ownership,
        t.Stages.Select(s => (Domain.JourneyStage)s).ToList(),
        t.Criticality,
        t.IntendedExperience is null ? null : new Domain.IntendedExperience(t.IntendedExperience.TargetSatisfaction, t.IntendedExperience.Statement),
        t.OwningTeam,
        t.Topics.ToList());

    public static TouchpointFieldMask ToMask(FieldMask? mask)
    {
        if (mask is null || mask.Paths.Count == 0)
        {
            return TouchpointFieldMask.All;
        }

        var result = TouchpointFieldMask.None;
        foreach (var path in mask.Paths)
        {
            result |= MaskPaths.TryGetValue(path, out var flag)
                ? flag
                : throw new InvalidArgumentException("update_mask", $"'{(path.Length > 64 ? path[..64] : path)}' is not an updatable field; use {string.Join(", ", MaskPaths.Keys)}");
        }

        return result;
    }

    public static V1.Touchpoint ToProto(TouchpointDefinition t)
    {
        var proto = new V1.Touchpoint
        {
            Name = t.Name,
            DisplayName = t.DisplayName,
            Channel = (CommonV1.Channel)t.Channel,
            Ownership = (CommonV1.Ownership)t.Ownership,
            Criticality = t.Criticality,
            IntendedExperience = new V1.IntendedExperience { TargetSatisfaction = t.IntendedExperience.TargetSatisfaction, Statement = t.IntendedExperience.Statement },
            OwningTeam = t.OwningTeam,
            Retired = t.Retired,
            Etag = t.Etag,
            Version = t.Version,
            CreateTime = Timestamp.FromDateTimeOffset(t.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(t.UpdatedAt),
            RetireTime = t.RetiredAt is { } retired ? Timestamp.FromDateTimeOffset(retired) : null,
        };
        proto.Stages.AddRange(t.Stages.Select(s => (CommonV1.JourneyStage)s));
        proto.Topics.AddRange(t.Topics);
        return proto;
    }

    public static TouchpointFilter ToFilter(ListTouchpointsRequest r) =>
        new((Domain.Channel)r.Channel, (Domain.Ownership)r.Ownership, (Domain.JourneyStage)r.Stage, r.MinCriticality, r.ShowRetired);

    public static InteractionInput ToInput(V1.Interaction? i)
    {
        i ??= new V1.Interaction();
        return new InteractionInput(
            i.EventId,
            i.Touchpoint,
            ToTime(i.OccurTime),
            i.Identifiers.Select(x => ((Domain.IdentifierKind)x.Kind, x.Value)).ToList(),
            (Domain.InteractionType)i.Type,
            i.Content,
            i.Recommendation,
            i.Rating,
            i.Comment,
            i.Value is null ? null : new MoneyAmount(i.Value.CurrencyCode, i.Value.Units, i.Value.Nanos),
            i.Properties);
    }

    public static IReadOnlyList<InteractionInput> ToInputs(RepeatedField<V1.Interaction> interactions) => interactions.Select(ToInput).ToList();

    public static RecordedInteraction ToProto(Domain.Interaction i)
    {
        var proto = new V1.Interaction
        {
            EventId = i.EventId,
            Touchpoint = TouchpointNames.Format(i.TouchpointId),
            OccurTime = Timestamp.FromDateTimeOffset(i.OccurredAt),
            Type = (CommonV1.InteractionType)i.Type,
            Content = i.Content,
            Recommendation = i.Recommendation,
            Rating = i.Rating,
            Comment = i.Comment,
            Value = i.Value is { } v ? new CommonV1.Money { CurrencyCode = v.CurrencyCode, Units = v.Units, Nanos = v.Nanos } : null,
        };
        proto.Identifiers.AddRange(i.Identifiers.Select(x => new CommonV1.Identifier { Kind = (CommonV1.IdentifierKind)x.Kind, Value = x.Value }));
        foreach (var (key, value) in i.Properties)
        {
            proto.Properties[key] = value;
        }

        return new RecordedInteraction { Interaction = proto, RecordTime = Timestamp.FromDateTimeOffset(i.RecordedAt) };
    }

    public static RejectedInteraction ToProto(Rejection r) => new() { EventId = r.EventId, Index = r.Index, Field = r.Field, Reason = r.Reason };

    public static (DateTimeOffset? Start, DateTimeOffset? End) ToPeriod(Period? period) => (ToTime(period?.StartTime), ToTime(period?.EndTime));

    public static TouchpointScorecard ToProto(Scorecard s) => new()
    {
        Touchpoint = TouchpointNames.Format(s.TouchpointId),
        InteractionCount = s.Interactions,
        UniquePeople = s.UniquePeople,
        RatingCount = s.RatingCount,
        AverageRating = s.AverageRating,
        TargetSatisfaction = s.TargetSatisfaction,
        ExperienceGap = s.ExperienceGap,
        Purchasers = s.Purchasers,
        PurchaseShare = s.PurchaseShare,
        PurchaseWindowDays = s.PurchaseWindowDays,
    };

    public static GetJourneyFunnelResponse ToProto(Funnel f)
    {
        var response = new GetJourneyFunnelResponse
        {
            Purchasers = f.Purchasers,
            MedianTouchpointsBeforePurchase = f.MedianTouchpointsBeforePurchase,
            P90TouchpointsBeforePurchase = f.P90TouchpointsBeforePurchase,
        };
        response.Stages.AddRange(f.Stages.Select(s => new FunnelStage { Stage = (CommonV1.JourneyStage)s.Stage, People = s.People, ConversionFromPrevious = s.ConversionFromPrevious }));
        response.DropOffs.AddRange(f.DropOffs.Select(d => new DropOffPoint { Touchpoint = TouchpointNames.Format(d.TouchpointId), People = d.People }));
        return response;
    }

    public static V1.ExperienceGap ToProto(Gap g) => new()
    {
        Touchpoint = g.Touchpoint.Name,
        DisplayName = g.Touchpoint.DisplayName,
        Criticality = g.Touchpoint.Criticality,
        TargetSatisfaction = g.Touchpoint.IntendedExperience.TargetSatisfaction,
        AverageRating = g.AverageRating,
        RatingCount = g.RatingCount,
        Gap = g.GapValue,
        Priority = g.Priority,
    };

    /// <summary>A timestamp outside what a DateTimeOffset holds is treated like a missing one: bad input, never INTERNAL.</summary>
    private static DateTimeOffset? ToTime(Timestamp? timestamp)
    {
        if (timestamp is null || timestamp.Seconds is < -62135596800 or > 253402300799 || timestamp.Nanos is < 0 or > 999_999_999)
        {
            return null;
        }

        return timestamp.ToDateTimeOffset();
    }
}
