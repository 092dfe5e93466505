using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Benchmarks;

/// <summary>Touchpoints the scenarios need, created once through the catalog API (an existing one is fine).</summary>
public static class Touchpoints
{
    public static async Task EnsureAsync(GrpcChannel channel, string id, Channel kind, Ownership ownership, params JourneyStage[] stages)
    {
        var client = new TouchpointService.TouchpointServiceClient(channel);
        try
        {
            await client.CreateTouchpointAsync(new CreateTouchpointRequest
            {
                TouchpointId = id,
                Touchpoint = new Touchpoint.V1.Touchpoint
                {
                    DisplayName = id,
                    Channel = kind,
                    Ownership = ownership,
                    Stages = { stages },
                    Criticality = 3,
                    IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "trust in the price" },
                },
            });
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
        }
    }

    /// <summary>
    /// Streams <paramref name="count"/> views of <c>touchpoints/bench-web</c>, 500 a message, interaction
    /// <c>i</c> by the anonymous id <paramref name="person"/>(i) at <paramref name="at"/>(i); returns the summary.
    /// </summary>
    public static async Task<StreamInteractionsResponse> StreamViewsAsync(GrpcChannel channel, int count, Func<int, string> person, Func<int, DateTimeOffset> at)
    {
        const int perMessage = 500;
        using var call = new TouchpointService.TouchpointServiceClient(channel).StreamInteractions();
        for (var sent = 0; sent < count; sent += perMessage)
        {
            var message = new StreamInteractionsRequest();
            for (var i = sent; i < Math.Min(count, sent + perMessage); i++)
            {
                message.Interactions.Add(new Interaction
                {
                    InteractionId = Guid.NewGuid().ToString(),
                    Touchpoint = "touchpoints/bench-web",
                    OccurTime = Timestamp.FromDateTimeOffset(at(i)),
                    Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = person(i) } },
                    Type = InteractionType.View,
                });
            }

            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        return await call;
    }
}
