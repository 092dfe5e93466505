using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Shared.Errors;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.V1;
using CommonV1 = Journey.Common.V1;

namespace Journey.Touchpoint.Grpc;

/// <summary>The gRPC face of tracking sources: maps, calls one use case, maps back.</summary>
internal sealed class TrackingSourceGrpcService(TrackingSources sources) : TrackingSourceService.TrackingSourceServiceBase
{
    private static readonly Dictionary<string, TrackingSourceFieldMask> MaskPaths = new(StringComparer.Ordinal)
    {
        ["display_name"] = TrackingSourceFieldMask.DisplayName,
        ["allowed_origins"] = TrackingSourceFieldMask.AllowedOrigins,
        ["requests_per_second"] = TrackingSourceFieldMask.RequestsPerSecond,
        ["tracking_plan"] = TrackingSourceFieldMask.Plan,
    };

    public override async Task<CreateSourceResponse> CreateSource(CreateSourceRequest request, ServerCallContext context) =>
        new() { Source = ToProto(await sources.CreateAsync(request.SourceId, ToFields(Required(request.Source)), context.CancellationToken)) };

    public override async Task<GetSourceResponse> GetSource(GetSourceRequest request, ServerCallContext context) =>
        new() { Source = ToProto(await sources.GetAsync(request.Name, context.CancellationToken)) };

    public override async Task<ListSourcesResponse> ListSources(ListSourcesRequest request, ServerCallContext context)
    {
        var (page, next) = await sources.ListAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListSourcesResponse { NextPageToken = next };
        response.Sources.AddRange(page.Select(ToProto));
        return response;
    }

    public override async Task<UpdateSourceResponse> UpdateSource(UpdateSourceRequest request, ServerCallContext context)
    {
        var source = Required(request.Source);
        var mask = UpdateMasks.Parse(request.UpdateMask, MaskPaths, TrackingSourceFieldMask.DisplayName | TrackingSourceFieldMask.AllowedOrigins | TrackingSourceFieldMask.RequestsPerSecond | TrackingSourceFieldMask.Plan);
        return new() { Source = ToProto(await sources.UpdateAsync(source.Name, ToFields(source), mask, source.Etag, context.CancellationToken)) };
    }

    public override async Task<CreateWriteKeyResponse> CreateWriteKey(CreateWriteKeyRequest request, ServerCallContext context)
    {
        var (source, key, secret) = await sources.CreateKeyAsync(request.Parent, "", context.CancellationToken);
        return new() { WriteKey = ToProto(source, key), Secret = secret };
    }

    public override async Task<RotateWriteKeyResponse> RotateWriteKey(RotateWriteKeyRequest request, ServerCallContext context)
    {
        var (sourceName, keyId) = KeyName(request.Name);
        var (source, key, secret) = await sources.CreateKeyAsync(sourceName, keyId, context.CancellationToken);
        return new() { WriteKey = ToProto(source, key), Secret = secret };
    }

    public override async Task<RevokeWriteKeyResponse> RevokeWriteKey(RevokeWriteKeyRequest request, ServerCallContext context)
    {
        var (sourceName, keyId) = KeyName(request.Name);
        var source = await sources.RevokeKeyAsync(sourceName, keyId, context.CancellationToken);
        return new() { WriteKey = ToProto(source, source.WriteKeys.Single(k => k.Id == keyId)) };
    }

    public override async Task<ListTrackingIssuesResponse> ListTrackingIssues(ListTrackingIssuesRequest request, ServerCallContext context)
    {
        var issues = await sources.ListIssuesAsync(request.Parent, request.PageSize, context.CancellationToken);
        var response = new ListTrackingIssuesResponse();
        response.Issues.AddRange(issues.Select(i => new V1.TrackingIssue
        {
            Kind = (V1.TrackingIssueKind)i.Key.Kind,
            Name = i.Key.Name,
            Detail = i.Key.Detail,
            Count = i.Count,
            FirstSeenTime = Timestamp.FromDateTimeOffset(i.FirstSeen),
            LastSeenTime = Timestamp.FromDateTimeOffset(i.LastSeen),
        }));
        return response;
    }

    private static Source Required(Source? source) => source ?? throw new InvalidArgumentException("source", "is required");

    /// <summary><c>sources/{source}/writeKeys/{key}</c> as the source's name and the key id.</summary>
    private static (string Source, string Key) KeyName(string name)
    {
        var marker = name.IndexOf("/writeKeys/", StringComparison.Ordinal);
        if (marker < 0 || TrackingNames.TryParseSource(name[..marker]) is null || name.Length == marker + "/writeKeys/".Length)
        {
            throw new InvalidArgumentException("name", "must be sources/{source}/writeKeys/{key}");
        }

        return (name[..marker], name[(marker + "/writeKeys/".Length)..]);
    }

    private static TrackingSourceFields ToFields(Source source)
    {
        var plan = source.TrackingPlan ?? new V1.TrackingPlan();
        return new TrackingSourceFields(
            source.DisplayName,
            [.. source.AllowedOrigins],
            source.RequestsPerSecond,
            new Domain.TrackingPlan(
                [.. plan.Events.Select(e => new EventMapping(e.Event, TouchpointId(e.Touchpoint), (InteractionType)e.Type, [.. e.RequiredProperties]))],
                [.. plan.Pages.Select(p => new PageMapping(p.Name, p.PathPattern, TouchpointId(p.Touchpoint), (InteractionType)p.Type))],
                plan.Traits.Count == 0 ? Domain.TrackingPlan.DefaultTraits : [.. plan.Traits.Select(t => new TraitMapping(t.Trait, (IdentifierKind)t.Kind))],
                plan.AdTouchpoint.Length == 0 ? "" : TouchpointId(plan.AdTouchpoint))
            {
                ConsentCategories = [.. plan.ConsentCategories.Select(c => new ConsentCategoryMapping(c.Category, PurposeId(c.Purpose)))],
            });
    }

    /// <summary>The id in <c>purposes/{id}</c>; anything else goes on with a '/' no id holds, so the use case refuses it by field.</summary>
    private static string PurposeId(string name) =>
        name.StartsWith(PurposePrefix, StringComparison.Ordinal) && name.IndexOf('/', PurposePrefix.Length) < 0 ? name[PurposePrefix.Length..] : "/" + name;

    private const string PurposePrefix = "purposes/";

    /// <summary>
    /// The id in <c>touchpoints/{id}</c>. Anything else goes on with a '/' no id holds (a bare id
    /// would otherwise pass for one), so the use case refuses it by field with the others.
    /// </summary>
    private static string TouchpointId(string name) => TouchpointNames.TryParse(name) ?? (name.Contains('/', StringComparison.Ordinal) ? name : "/" + name);

    private static Source ToProto(TrackingSource s)
    {
        var source = new Source
        {
            Name = s.Name,
            DisplayName = s.DisplayName,
            RequestsPerSecond = s.RequestsPerSecond,
            Etag = s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CreateTime = Timestamp.FromDateTimeOffset(s.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(s.UpdatedAt),
            TrackingPlan = new V1.TrackingPlan { AdTouchpoint = s.Plan.AdTouchpoint.Length == 0 ? "" : TouchpointNames.Format(s.Plan.AdTouchpoint) },
        };
        source.AllowedOrigins.AddRange(s.AllowedOrigins);
        source.TrackingPlan.Events.AddRange(s.Plan.Events.Select(e => new EventRule
        {
            Event = e.EventName,
            Touchpoint = TouchpointNames.Format(e.Touchpoint),
            Type = (CommonV1.InteractionType)e.Type,
            RequiredProperties = { e.RequiredProperties },
        }));
        source.TrackingPlan.Pages.AddRange(s.Plan.Pages.Select(p => new PageRule
        {
            Name = p.Name,
            PathPattern = p.PathPattern,
            Touchpoint = TouchpointNames.Format(p.Touchpoint),
            Type = (CommonV1.InteractionType)p.Type,
        }));
        source.TrackingPlan.Traits.AddRange(s.Plan.Traits.Select(t => new TraitRule { Trait = t.Trait, Kind = (CommonV1.IdentifierKind)t.Kind }));
        source.TrackingPlan.ConsentCategories.AddRange(s.Plan.ConsentCategories.Select(c => new ConsentCategoryRule { Category = c.Category, Purpose = PurposePrefix + c.PurposeId }));
        source.WriteKeys.AddRange(s.WriteKeys.Select(k => ToProto(s, k)));
        return source;
    }

    private static V1.WriteKey ToProto(TrackingSource source, Domain.WriteKey key) => new()
    {
        Name = $"{source.Name}/writeKeys/{key.Id}",
        Hint = key.Hint,
        CreateTime = Timestamp.FromDateTimeOffset(key.CreatedAt),
        RevokeTime = key.RevokedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
    };
}
