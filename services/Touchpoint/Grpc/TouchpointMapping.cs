using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Errors;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.V1;
using Proto = Journey.Common.V1;

namespace Journey.Touchpoint.Grpc;

/// <summary>Between the proto contract and the domain.</summary>
internal static class TouchpointMapping
{
    private const string Prefix = "touchpoints/";

    public static V1.Touchpoint ToProto(TouchpointEntry entry)
    {
        var proto = new V1.Touchpoint
        {
            Name = Prefix + entry.Id,
            DisplayName = entry.DisplayName,
            Channel = (Proto.Channel)entry.Channel,
            Ownership = (Proto.Ownership)entry.Ownership,
            Criticality = entry.Criticality,
            IntendedExperience = new V1.IntendedExperience { TargetRating = entry.IntendedExperience.TargetRating, Statement = entry.IntendedExperience.Statement },
            OwningTeam = entry.OwningTeam,
            Retired = entry.Retired,
            Etag = entry.Version.ToString(CultureInfo.InvariantCulture),
            CreateTime = Timestamp.FromDateTimeOffset(entry.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(entry.UpdatedAt),
        };
        proto.Stages.AddRange(entry.Stages.Select(s => (Proto.JourneyStage)s));
        proto.Topics.AddRange(entry.Topics);
        return proto;
    }

    public static TouchpointEntry ToDraft(V1.Touchpoint? proto)
    {
        if (proto is null)
        {
            throw new InvalidArgumentException("touchpoint", "is required");
        }

        return new TouchpointEntry(
            "",
            proto.DisplayName,
            (Domain.Channel)proto.Channel,
            (Domain.Ownership)proto.Ownership,
            proto.Stages.Select(s => (Domain.JourneyStage)s).ToList(),
            proto.Criticality,
            new Domain.IntendedExperience(proto.IntendedExperience?.TargetRating ?? 0, proto.IntendedExperience?.Statement ?? ""),
            proto.OwningTeam,
            proto.Topics.ToList(),
            Retired: false,
            Version: 0,
            default,
            default);
    }

    /// <summary>The id in <c>touchpoints/{id}</c>; INVALID_ARGUMENT naming <paramref name="field"/> otherwise.</summary>
    public static string IdFromName(string name, string field = "name") =>
        name.StartsWith(Prefix, StringComparison.Ordinal) && TouchpointCatalog.IsValidId(name[Prefix.Length..])
            ? name[Prefix.Length..]
            : throw new InvalidArgumentException(field, "must be a touchpoint name like touchpoints/lease-calculator");

    public static long? ParseEtag(string etag) =>
        etag.Length == 0 ? null
        : long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version
        : throw new InvalidArgumentException("etag", "must be an etag returned by a previous call, or empty");

    public static TouchpointFilter ToFilter(ListTouchpointsRequest request) => new(
        request.Channel == Proto.Channel.Unspecified ? null : (Domain.Channel)request.Channel,
        request.Ownership == Proto.Ownership.Unspecified ? null : (Domain.Ownership)request.Ownership,
        request.Stage == Proto.JourneyStage.Unspecified ? null : (Domain.JourneyStage)request.Stage,
        request.MinCriticality,
        request.IncludeRetired);

    public static Domain.Interaction ToDomain(V1.Interaction? proto) => proto is null
        ? new Domain.Interaction("", "", null, [], Domain.InteractionType.Unspecified, "", "", 0, "", null, new Dictionary<string, string>())
        : new Domain.Interaction(
            proto.InteractionId,
            proto.Touchpoint,
            ToTime(proto.OccurTime),
            proto.Identifiers.Select(i => new PersonIdentifier((Domain.IdentifierKind)i.Kind, i.Value)).ToList(),
            (Domain.InteractionType)proto.Type,
            proto.Content,
            proto.Recommendation,
            proto.Rating,
            proto.Comment,
            proto.Value is null ? null : new Domain.Money(proto.Value.CurrencyCode, proto.Value.Units, proto.Value.Nanos),
            proto.Properties);

    public static RecordInteractionsResponse ToProto(RecordResult result)
    {
        var response = new RecordInteractionsResponse { AcceptedCount = result.Accepted, DuplicateCount = result.Duplicates };
        response.Rejected.AddRange(result.Rejected.Select(r => new RejectedInteraction { Index = r.Index, InteractionId = r.InteractionId, Field = r.Field, Reason = r.Reason }));
        return response;
    }

    /// <summary>A timestamp outside what .NET can represent is treated as absent, which validation reports.</summary>
    private static DateTimeOffset? ToTime(Timestamp? timestamp) =>
        timestamp is null || timestamp.Seconds is < -62135596800 or > 253402300799 || timestamp.Nanos is < 0 or > 999_999_999
            ? null
            : timestamp.ToDateTimeOffset();
}
