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
        ["intended_experience.target_rating"] = TouchpointFieldMask.TargetSatisfaction,
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
        t.IntendedExperience is null ? null : new Domain.IntendedExperience(t.IntendedExperience.TargetRating, t.IntendedExperience.Statement),
        t.OwningTeam,
        t.Topics.ToList());

    public static TouchpointFieldMask ToMask(FieldMask? mask) => UpdateMasks.Parse(mask, MaskPaths, TouchpointFieldMask.All);

    public static V1.Touchpoint ToProto(TouchpointDefinition t)
    {
        var proto = new V1.Touchpoint
        {
            Name = t.Name,
            DisplayName = t.DisplayName,
            Channel = (CommonV1.Channel)t.Channel,
            Ownership = (CommonV1.Ownership)t.Ownership,
            Criticality = t.Criticality,
            IntendedExperience = new V1.IntendedExperience { TargetRating = t.IntendedExperience.TargetSatisfaction, Statement = t.IntendedExperience.Statement },
            OwningTeam = t.OwningTeam,
            Retired = t.Retired,
            Etag = t.Etag,
            CreateTime = Timestamp.FromDateTimeOffset(t.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(t.UpdatedAt),
        };
        proto.Stages.AddRange(t.Stages.Select(s => (CommonV1.JourneyStage)s));
        proto.Topics.AddRange(t.Topics);
        return proto;
    }

    public static TouchpointFilter ToFilter(ListTouchpointsRequest r) =>
        new((Domain.Channel)r.Channel, (Domain.Ownership)r.Ownership, (Domain.JourneyStage)r.Stage, r.MinCriticality, r.IncludeRetired);

    public static InteractionInput ToInput(V1.Interaction? i)
    {
        i ??= new V1.Interaction();
        return new InteractionInput(
            i.InteractionId,
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

    public static RecordedInteraction ToProto(TimelineEntry entry)
    {
        var i = entry.Interaction;
        var proto = new V1.Interaction
        {
            InteractionId = i.EventId,
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

        var recorded = new RecordedInteraction
        {
            Interaction = proto,
            RecordTime = Timestamp.FromDateTimeOffset(i.RecordedAt),
            Profile = entry.ProfileId is { } profile ? "profiles/" + profile : "",
        };
        recorded.ConflictingProfiles.AddRange(entry.ConflictingProfiles.Select(p => "profiles/" + p));
        return recorded;
    }

    public static RejectedInteraction ToProto(Rejection r, int indexOffset = 0) =>
        new() { InteractionId = r.EventId, Index = r.Index + indexOffset, Field = r.Field, Reason = r.Reason };

    public static (DateTimeOffset? Start, DateTimeOffset? End) ToPeriod(CommonV1.Period? period) =>
        (RequestFields.Time(period?.StartTime, "period.start_time"), RequestFields.EndTime(period?.EndTime, "period.end_time"));

    public static CommonV1.Period ToProto(DayPeriod period) =>
        new() { StartTime = Timestamp.FromDateTimeOffset(period.Start), EndTime = Timestamp.FromDateTimeOffset(period.End) };

    public static TouchpointScorecard ToProto(Scorecard s) => new()
    {
        Touchpoint = s.Touchpoint.Name,
        DisplayName = s.Touchpoint.DisplayName,
        Criticality = s.Touchpoint.Criticality,
        Period = ToProto(s.Period),
        Interactions = s.Interactions,
        UniquePeople = s.UniquePeople,
        RatedInteractions = s.RatingCount,
        AverageRating = s.AverageRating,
        TargetRating = s.Touchpoint.IntendedExperience.TargetSatisfaction,
        ExperienceGap = s.ExperienceGap,
        Purchasers = s.Purchasers,
        PurchaseRate = s.PurchaseRate,
        PurchaseWindow = Duration.FromTimeSpan(s.PurchaseWindow),
    };

    public static GetJourneyFunnelResponse ToProto(Funnel f)
    {
        var response = new GetJourneyFunnelResponse
        {
            Period = ToProto(f.Period),
            TouchpointsBeforePurchase = new V1.TouchpointsBeforePurchase
            {
                Purchases = f.BeforePurchase.Purchases,
                Median = f.BeforePurchase.Median,
                P90 = f.BeforePurchase.P90,
                Mean = f.BeforePurchase.Mean,
                Distribution = { f.BeforePurchase.Distribution.Select(d => new PurchaseCount { Touchpoints = d.Touchpoints, Purchases = d.Purchases }) },
            },
            SilenceAfter = Duration.FromTimeSpan(f.SilenceAfter),
            ComputeTime = Timestamp.FromDateTimeOffset(f.ComputedAt),
        };
        response.Stages.AddRange(f.Stages.Select(s => new FunnelStage
        {
            Stage = (CommonV1.JourneyStage)s.Stage,
            People = s.People,
            ConvertedToNext = s.ConvertedToNext,
            ConversionToNext = s.ConversionToNext,
        }));
        response.DropOffPoints.AddRange(f.DropOffs.Select(d => new V1.DropOffPoint
        {
            Touchpoint = TouchpointNames.Format(d.TouchpointId),
            DisplayName = d.DisplayName,
            People = d.People,
            Share = d.Share,
        }));
        return response;
    }

    public static GetJourneyPathsResponse ToProto(JourneyPathsReport r)
    {
        var response = new GetJourneyPathsResponse
        {
            Period = ToProto(r.Period),
            End = (V1.PathEnd)r.Query.End,
            EndTouchpoint = r.Query.EndTouchpoint is { } endId ? TouchpointNames.Format(endId) : "",
            StartTouchpoint = r.Query.StartTouchpoint is { } startId ? TouchpointNames.Format(startId) : "",
            People = r.People,
            PeopleConsidered = r.PeopleConsidered,
            PeopleThroughStart = r.PeopleThroughStart,
            SilenceAfter = Duration.FromTimeSpan(r.SilenceAfter),
        };
        response.Paths.AddRange(r.Paths.Select(p =>
        {
            var path = new JourneyPath { EarlierSteps = p.EarlierSteps, LaterSteps = p.LaterSteps, People = p.People, Share = p.Share };
            path.Steps.AddRange(p.Steps.Select(id => new JourneyPathStep { Touchpoint = TouchpointNames.Format(id), DisplayName = r.DisplayNames.GetValueOrDefault(id, "") }));
            return path;
        }));
        response.Links.AddRange(r.Links.Select(l => new JourneyPathLink
        {
            StepsBeforeEnd = l.StepsBeforeEnd,
            StepsAfterStart = l.StepsAfterStart,
            FromTouchpoint = TouchpointNames.Format(l.From),
            ToTouchpoint = l.To.Length == 0 ? "" : TouchpointNames.Format(l.To),
            People = l.People,
        }));
        foreach (var (id, name) in r.DisplayNames)
        {
            response.DisplayNames[TouchpointNames.Format(id)] = name;
        }

        return response;
    }

    public static V1.ExperienceGap ToProto(Gap g) => new()
    {
        Touchpoint = g.Touchpoint.Name,
        DisplayName = g.Touchpoint.DisplayName,
        Criticality = g.Touchpoint.Criticality,
        TargetRating = g.Touchpoint.IntendedExperience.TargetSatisfaction,
        AverageRating = g.AverageRating,
        RatedInteractions = g.RatingCount,
        Gap = g.GapValue,
        Priority = g.Priority,
        OwningTeam = g.Touchpoint.OwningTeam,
    };

    /// <summary>
    /// An interaction's time outside what a DateTimeOffset holds is treated like a missing one, so the
    /// recorder rejects that one interaction (a batch keeps its good ones) instead of the whole call.
    /// </summary>
    private static DateTimeOffset? ToTime(Timestamp? timestamp)
    {
        if (timestamp is null || timestamp.Seconds is < -62135596800 or > 253402300799 || timestamp.Nanos is < 0 or > 999_999_999)
        {
            return null;
        }

        return timestamp.ToDateTimeOffset();
    }
}
