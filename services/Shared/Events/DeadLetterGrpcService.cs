using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Errors;

namespace Journey.Shared.Events;

/// <summary>gRPC face of the in-process bus's dead letters.</summary>
internal sealed class DeadLetterGrpcService(InProcessBus bus) : DeadLetterService.DeadLetterServiceBase
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 500;

    public override async Task<ListDeadLettersResponse> ListDeadLetters(ListDeadLettersRequest request, ServerCallContext context)
    {
        var validation = new Validation()
            .Require(request.PageSize >= 0, "page_size", "must not be negative");
        long after = 0;
        validation.Require(request.PageToken.Length == 0 || long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after),
            "page_token", "must be a next_page_token returned by a previous call");
        validation.ThrowIfInvalid();
        var size = request.PageSize == 0 ? DefaultPageSize : Math.Min(request.PageSize, MaxPageSize);
        var letters = await bus.ListDeadLettersAsync(request.Subscription.Length == 0 ? null : request.Subscription, size, after, context.CancellationToken);
        var response = new ListDeadLettersResponse
        {
            NextPageToken = letters.Count == size ? letters[^1].Id.ToString(CultureInfo.InvariantCulture) : "",
        };
        response.DeadLetters.AddRange(letters.Select(l => new Platform.V1.DeadLetter
        {
            Name = $"deadLetters/{l.Id.ToString(CultureInfo.InvariantCulture)}",
            Subscription = l.Subscription,
            EventId = l.EventId,
            Attempts = l.Attempts,
            Reason = l.Reason,
            ParkTime = Timestamp.FromDateTimeOffset(l.DeadAt),
        }));
        return response;
    }

    public override async Task<ReplayDeadLettersResponse> ReplayDeadLetters(ReplayDeadLettersRequest request, ServerCallContext context)
    {
        var validation = new Validation()
            .Require(request.Names.Count is > 0 and <= 1000, "names", "must hold 1 to 1000 dead-letter names");
        var ids = new List<long>(request.Names.Count);
        for (var i = 0; i < request.Names.Count; i++)
        {
            var name = request.Names[i];
            if (name.StartsWith("deadLetters/", StringComparison.Ordinal)
                && long.TryParse(name.AsSpan("deadLetters/".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
            else
            {
                validation.Add($"names[{i}]", "must look like deadLetters/{number}");
            }
        }

        validation.ThrowIfInvalid();
        return new ReplayDeadLettersResponse { ReplayedCount = await bus.ReplayAsync(ids, context.CancellationToken) };
    }
}
