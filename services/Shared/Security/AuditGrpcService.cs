using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Errors;

namespace Journey.Shared.Security;

/// <summary>gRPC face of the services' audit trails.</summary>
internal sealed class AuditGrpcService(AuditTrail trail) : AuditService.AuditServiceBase
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public override async Task<ListAuditEntriesResponse> ListAuditEntries(ListAuditEntriesRequest request, ServerCallContext context)
    {
        long after = 0;
        new Validation()
            .Require(request.Service.Length > 0, "service", "must name a service, as Journey:Hosting:Modules does")
            .Require(request.PageSize >= 0, "page_size", "must not be negative")
            .Require(request.PageToken.Length == 0 || long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after),
                "page_token", "must be a next_page_token returned by a previous call")
            .ThrowIfInvalid();
        var store = trail.For(request.Service) ?? throw new NotFoundException("Service", request.Service);
        var size = request.PageSize == 0 ? DefaultPageSize : Math.Min(request.PageSize, MaxPageSize);
        var entries = await store.ListAsync(after, size, context.CancellationToken);
        var response = new ListAuditEntriesResponse
        {
            NextPageToken = entries.Count == size ? entries[^1].Sequence.ToString(CultureInfo.InvariantCulture) : "",
        };
        response.Entries.AddRange(entries.Select(e => new Platform.V1.AuditEntry
        {
            Time = Timestamp.FromDateTimeOffset(e.At),
            Method = e.Method,
            Caller = e.Caller,
            Target = e.Target,
            Outcome = e.Outcome,
        }));
        return response;
    }
}
