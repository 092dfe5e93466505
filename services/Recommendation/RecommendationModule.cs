using Journey.Recommendation.Domain;
using Journey.Recommendation.Grpc;
using Journey.Recommendation.Storage;
using Journey.Recommendation.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Recommendation;

/// <summary>The content-recommendation service as the host runs it.</summary>
public static class RecommendationModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = Topics.Apps.Recommendation;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddRecommendation(), endpoints => endpoints.MapRecommendation());

    /// <summary>Registers the service's domain, store and gRPC services.</summary>
    public static WebApplicationBuilder AddRecommendation(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(Name).AddPort<IContentStore, SqliteContentStore, MongoContentStore>();
        builder.Services.AddSingleton<ContentLibrary>();
        builder.Services.AddSingleton<RecommendationGrpcService>();
        builder.Services.AddMethodScopes(RecommendationService.Descriptor, new Dictionary<string, string>
        {
            [nameof(RecommendationGrpcService.UpsertContent)] = Scopes.Admin,
            [nameof(RecommendationGrpcService.GetContent)] = Scopes.RecommendationsRead,
        });
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapRecommendation(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<RecommendationGrpcService>(RecommendationService.BindService);
        return endpoints;
    }
}
