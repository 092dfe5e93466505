using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Recommendation.Domain;
using Journey.Recommendation.V1;
using Journey.Shared.Errors;

namespace Journey.Recommendation.Grpc;

/// <summary>The gRPC face of the content library.</summary>
internal sealed class RecommendationGrpcService(ContentLibrary library) : RecommendationService.RecommendationServiceBase
{
    public override async Task<UpsertContentResponse> UpsertContent(UpsertContentRequest request, ServerCallContext context) =>
        new() { Content = ContentMapping.ToProto(await library.UpsertAsync(ContentMapping.ToDomain(request.Content), context.CancellationToken)) };

    public override async Task<GetContentResponse> GetContent(GetContentRequest request, ServerCallContext context) =>
        new() { Content = ContentMapping.ToProto(await library.GetAsync(ContentMapping.IdFromName(request.Name, "name"), context.CancellationToken)) };
}

/// <summary>Between the proto contract and the domain.</summary>
internal static class ContentMapping
{
    public static V1.ContentItem ToProto(Domain.ContentItem item)
    {
        var proto = new V1.ContentItem
        {
            Name = $"contents/{item.Id}",
            Title = item.Title,
            Kind = (V1.ContentKind)item.Kind,
            Hardness = item.Hardness,
            Marketing = item.Marketing,
            RequiredPurpose = item.RequiredPurpose,
            ValidFrom = item.ValidFrom is { } from ? Timestamp.FromDateTimeOffset(from) : null,
            ValidUntil = item.ValidUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
            Generic = item.Generic,
            Etag = item.Version.ToString(CultureInfo.InvariantCulture),
        };
        proto.Stages.AddRange(item.StageWeights.OrderBy(s => s.Key).Select(s => new StageWeight { Stage = (Common.V1.JourneyStage)s.Key, Weight = s.Value }));
        proto.Topics.AddRange(item.Topics);
        proto.Channels.AddRange(item.Channels.Select(c => (Common.V1.Channel)c));
        return proto;
    }

    public static Domain.ContentItem ToDomain(V1.ContentItem? proto)
    {
        if (proto is null)
        {
            throw new InvalidArgumentException("content", "is required");
        }

        var validation = new Validation();
        validation.Require(proto.Stages.Select(s => s.Stage).Distinct().Count() == proto.Stages.Count, "content.stages", "must name each stage at most once");
        validation.ThrowIfInvalid();
        return new Domain.ContentItem(
            IdFromName(proto.Name, "content.name"),
            proto.Title,
            (Domain.ContentKind)proto.Kind,
            proto.Stages.ToDictionary(s => (int)s.Stage, s => s.Weight),
            proto.Topics.ToList(),
            proto.Channels.Select(c => (int)c).ToList(),
            proto.Hardness,
            proto.Marketing,
            proto.RequiredPurpose,
            ToTime(proto.ValidFrom, "content.valid_from"),
            ToTime(proto.ValidUntil, "content.valid_until"),
            proto.Generic,
            0);
    }

    public static string IdFromName(string name, string field) =>
        name.StartsWith("contents/", StringComparison.Ordinal) && ContentLibrary.IsValidId(name["contents/".Length..])
            ? name["contents/".Length..]
            : throw new InvalidArgumentException(field, "must be a content name like contents/lease-vs-buy-guide");

    private static DateTimeOffset? ToTime(Timestamp? timestamp, string field) =>
        timestamp is null ? null
        : timestamp.Seconds is >= -62135596800 and <= 253402300799 && timestamp.Nanos is >= 0 and <= 999_999_999 ? timestamp.ToDateTimeOffset()
        : throw new InvalidArgumentException(field, "is not a valid timestamp");
}
