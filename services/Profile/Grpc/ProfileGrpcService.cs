using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Profile.Domain;
using Journey.Profile.V1;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Microsoft.Extensions.Logging;
using DomainStage = Journey.Profile.Domain.JourneyStage;

namespace Journey.Profile.Grpc;

/// <summary>The gRPC face of the profile service: maps, calls one use case, maps back.</summary>
internal sealed partial class ProfileGrpcService(IdentityUseCases identity, LookupUseCases lookup, ErasureUseCases erasure, SegmentUseCases segments, SplitUseCases splits, ILogger<ProfileGrpcService> logger) : ProfileService.ProfileServiceBase
{
    /// <summary>How often a watch re-reads a profile when no local change woke it (changes by other replicas).</summary>
    private static readonly TimeSpan WatchPoll = TimeSpan.FromSeconds(1);

    public override async Task<IdentifyResponse> Identify(IdentifyRequest request, ServerCallContext context)
    {
        var result = await identity.IdentifyAsync(ProfileMapping.ToDomain(request.Identifiers), request.Traits, context.CancellationToken);
        var response = new IdentifyResponse { Profile = ProfileMapping.ToProto(result.Profile), Created = result.Created };
        response.MergedProfiles.AddRange(result.MergedIds.Select(Events.Names.Profile));
        response.ConflictingProfiles.AddRange(result.ConflictIds.Select(Events.Names.Profile));
        return response;
    }

    public override async Task<GetProfileResponse> GetProfile(GetProfileRequest request, ServerCallContext context) =>
        new() { Profile = ProfileMapping.ToProto(await lookup.GetAsync(ProfileMapping.ProfileId(request.Name, "name"), context.CancellationToken)) };

    public override async Task<BatchGetProfilesResponse> BatchGetProfiles(BatchGetProfilesRequest request, ServerCallContext context)
    {
        var ids = request.Names.Select((name, i) => ProfileMapping.ProfileId(name, $"names[{i}]")).ToList();
        var response = new BatchGetProfilesResponse();
        response.Profiles.AddRange((await lookup.GetManyAsync(ids, "names", context.CancellationToken)).Select(read => ProfileMapping.ToProto(read)));
        return response;
    }

    public override async Task<LookupProfileResponse> LookupProfile(LookupProfileRequest request, ServerCallContext context) =>
        new() { Profile = ProfileMapping.ToProto(await lookup.LookupAsync(ProfileMapping.ToDomain(request.Person, "person"), "person", context.CancellationToken)) };

    public override async Task WatchProfile(WatchProfileRequest request, IServerStreamWriter<WatchProfileResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var current = await lookup.GetAsync(ProfileMapping.ProfileId(request.Name, "name"), ct);
        var sent = (current.Profile.Id, current.Profile.Version);
        await responseStream.WriteAsync(new WatchProfileResponse { Profile = ProfileMapping.ToProto(current) }, ct);
        while (!ct.IsCancellationRequested)
        {
            await lookup.WaitForChangeAsync(sent.Id, WatchPoll, ct);
            ProfileRead next;
            try
            {
                // A merged-away id answers with the survivor, so the watch follows the merge.
                next = await lookup.GetAsync(sent.Id, ct);
            }
            catch (NotFoundException)
            {
                return;
            }

            if ((next.Profile.Id, next.Profile.Version) != sent)
            {
                sent = (next.Profile.Id, next.Profile.Version);
                await responseStream.WriteAsync(new WatchProfileResponse { Profile = ProfileMapping.ToProto(next) }, ct);
            }
        }
    }

    public override async Task<ListProfileMergesResponse> ListProfileMerges(ListProfileMergesRequest request, ServerCallContext context)
    {
        var id = ProfileMapping.ProfileId(request.Parent, "parent");
        var page = await lookup.ListMergesAsync(id, PageTokens.Size(request.PageSize), request.PageToken, context.CancellationToken);
        var response = new ListProfileMergesResponse { NextPageToken = page.NextPageToken };
        response.Merges.AddRange(page.Items.Select(ProfileMapping.ToProto));
        return response;
    }

    public override async Task<MergeProfilesResponse> MergeProfiles(MergeProfilesRequest request, ServerCallContext context)
    {
        var survivor = ProfileMapping.ProfileId(request.Survivor, "survivor");
        var merged = ProfileMapping.ProfileId(request.Merged, "merged");
        var read = await identity.MergeByOperatorAsync(survivor, merged, request.Reason, Caller(context), context.CancellationToken);
        return new MergeProfilesResponse { Profile = ProfileMapping.ToProto(read) };
    }

    public override async Task<SplitProfileResponse> SplitProfile(SplitProfileRequest request, ServerCallContext context)
    {
        var survivor = ProfileMapping.ProfileId(request.Name, "name");
        var merged = ProfileMapping.ProfileId(request.Merged, "merged");
        var (kept, restored) = await splits.SplitAsync(survivor, merged, request.Etag, request.Reason, Caller(context), context.CancellationToken);
        return new SplitProfileResponse { Profile = ProfileMapping.ToProto(kept), Restored = ProfileMapping.ToProto(restored) };
    }

    public override async Task<CreateSegmentResponse> CreateSegment(CreateSegmentRequest request, ServerCallContext context)
    {
        if (request.Segment is null)
        {
            throw new InvalidArgumentException("segment", "is required");
        }

        var segment = await segments.CreateAsync(request.SegmentId, request.Segment.DisplayName, ProfileMapping.ToDomain(request.Segment.Rule), context.CancellationToken);
        return new CreateSegmentResponse { Segment = ProfileMapping.ToProto(segment) };
    }

    public override async Task<GetSegmentResponse> GetSegment(GetSegmentRequest request, ServerCallContext context) =>
        new() { Segment = ProfileMapping.ToProto(await segments.GetAsync(ProfileMapping.SegmentId(request.Name, "name"), context.CancellationToken)) };

    public override async Task<ListSegmentsResponse> ListSegments(ListSegmentsRequest request, ServerCallContext context)
    {
        var page = await segments.ListAsync(request.PageSize, request.PageToken, context.CancellationToken);
        var response = new ListSegmentsResponse { NextPageToken = page.NextPageToken };
        response.Segments.AddRange(page.Items.Select(ProfileMapping.ToProto));
        return response;
    }

    public override async Task<DeleteSegmentResponse> DeleteSegment(DeleteSegmentRequest request, ServerCallContext context)
    {
        await segments.DeleteAsync(ProfileMapping.SegmentId(request.Name, "name"), context.CancellationToken);
        return new DeleteSegmentResponse();
    }

    public override async Task<ListSegmentMembersResponse> ListSegmentMembers(ListSegmentMembersRequest request, ServerCallContext context)
    {
        var page = await segments.ListMembersAsync(ProfileMapping.SegmentId(request.Parent, "parent"), request.PageSize, request.PageToken, ProfileMapping.Channel(request.Channel, "channel"), context.CancellationToken);
        var response = new ListSegmentMembersResponse { NextPageToken = page.Members.NextPageToken, WithheldCount = page.Withheld };
        response.Profiles.AddRange(page.Members.Items.Select(Events.Names.Profile));
        return response;
    }

    public override async Task<DescribeAudienceResponse> DescribeAudience(DescribeAudienceRequest request, ServerCallContext context)
    {
        var description = request.AudienceCase switch
        {
            DescribeAudienceRequest.AudienceOneofCase.Segment => await segments.DescribeAsync(ProfileMapping.SegmentId(request.Segment, "segment"), DomainStage.Unspecified, context.CancellationToken),
            DescribeAudienceRequest.AudienceOneofCase.Stage when System.Enum.IsDefined((DomainStage)request.Stage) && request.Stage != Common.V1.JourneyStage.Unspecified =>
                await segments.DescribeAsync(null, (DomainStage)request.Stage, context.CancellationToken),
            DescribeAudienceRequest.AudienceOneofCase.Stage => throw new InvalidArgumentException("stage", "must be a journey stage, not unspecified"),
            DescribeAudienceRequest.AudienceOneofCase.Everyone when request.Everyone => await segments.DescribeAsync(null, DomainStage.Unspecified, context.CancellationToken),
            DescribeAudienceRequest.AudienceOneofCase.Everyone => throw new InvalidArgumentException("everyone", "must be true when set"),
            _ => throw new InvalidArgumentException("audience", "set segment, stage or everyone"),
        };
        return ProfileMapping.ToProto(description);
    }

    public override async Task<ExportProfileResponse> ExportProfile(ExportProfileRequest request, ServerCallContext context)
    {
        var export = await lookup.ExportAsync(ProfileMapping.ToDomain(request.Person, "person"), context.CancellationToken);
        var document = new V1.ProfileExport
        {
            Profile = ProfileMapping.ToProto(export.Profile, export.ClearTraits),
            ExportTime = Timestamp.FromDateTimeOffset(export.ExportedAt),
        };
        document.Merges.AddRange(export.Merges.Select(ProfileMapping.ToProto));
        document.MergedProfileNames.AddRange(export.Aliases.Select(Events.Names.Profile));
        document.ChannelConsents.AddRange(ProfileMapping.ToProto(export.Profile.Profile.Consents));
        var caller = Caller(context);
        LogAudit(logger, "ExportProfile", caller, document.Profile.Name);
        return new ExportProfileResponse { Export = document };
    }

    public override async Task<EraseProfileResponse> EraseProfile(EraseProfileRequest request, ServerCallContext context)
    {
        var erased = await erasure.EraseAsync(ProfileMapping.ToDomain(request.Person, "person"), request.Erasure, context.CancellationToken);
        var caller = Caller(context);
        var target = request.Erasure.Length > 0 ? request.Erasure : "direct erasure";
        LogAudit(logger, "EraseProfile", caller, target);
        return new EraseProfileResponse { RecordsErased = erased };
    }

    private static string Caller(ServerCallContext context) => context.GetHttpContext().User.FindFirst("sub")?.Value ?? "unknown";

    // The target is a pseudonymous profile or erasure name: the audit trail never holds the identifier asked for.
    [LoggerMessage(EventId = 100, EventName = "Audit", Level = LogLevel.Information, Message = "Audit: {Operation} by {Caller} on {Target}")]
    private static partial void LogAudit(ILogger logger, string operation, string caller, string target);
}
