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
}
