using Journey.Events.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Events;
using Journey.Touchpoint.Grpc;
using Journey.Touchpoint.Http;
using Journey.Touchpoint.Storage;
using Journey.Touchpoint.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint;

/// <summary>The touchpoint service as the host runs it.</summary>
public static class TouchpointModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = "touchpoint";

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddTouchpoint(), endpoints => endpoints.MapTouchpoint())
    {
        Publishes = TouchpointTopics.Publishes,
        Subscribes = TouchpointTopics.Subscribes,
        Scopes = TouchpointScopes.All,
    };

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddTouchpoint(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<TouchpointOptions, TouchpointOptionsValidator>(TouchpointOptions.Section);

        // Every ingest transaction touches the random-key indexes of event ids and people: a larger
        // writer cache keeps more of them between transactions (StorageOptions.SqliteWriterCacheMiB).
        var storage = builder.AddServiceStorage(Name, sqliteWriterCacheMiB: 32)
            .AddPort<ITouchpointCatalogStore, SqliteTouchpointCatalogStore, MongoTouchpointCatalogStore>()
            .AddPort<IInteractionLog, SqliteInteractionLog, MongoInteractionLog>()
            .AddPort<IJourneyAggregates, SqliteJourneyAggregates, MongoJourneyAggregates>()
            .AddPort<ITrackingSourceStore, SqliteTrackingSourceStore, MongoTrackingSourceStore>()
            .AddSqliteRetention(sp => SqliteTrackingSourceStore.IdentityRetention(sp.GetRequiredService<IOptions<TouchpointOptions>>().Value.TrackingIdentityRetention));
        if (storage.Provider == StorageProvider.Sqlite)
        {
            // MongoDB expires raw interactions with a TTL index instead.
            services.AddHostedService<RetentionSweep>();
        }

        services.AddSingleton<ITouchpointEvents, TouchpointEventMapper>();
        services.AddSingleton<TouchpointCatalog>();
        services.AddSingleton<InteractionRecorder>();
        services.AddSingleton<PersonTimeline>();
        services.AddSingleton<JourneyAnalytics>();
        services.AddSingleton<TouchpointGrpcService>();
        services.AddSingleton<TrackingSources>();
        services.AddSingleton<TrackingIngestion>();
        services.AddSingleton<TrackingRateLimiter>();
        services.AddSingleton<TrackingSourceGrpcService>();

        services.AddEventHandler<ProfilesMerged, ProfilesMergedHandler>(Name, TouchpointTopics.Subscription(TouchpointTopics.ProfilesMerged));
        services.AddEventHandler<ProfileSplit, ProfileSplitHandler>(Name, TouchpointTopics.Subscription(TouchpointTopics.ProfileSplit));
        services.AddEventHandler<ProfileUpdated, ProfileUpdatedHandler>(Name, TouchpointTopics.Subscription(TouchpointTopics.ProfileUpdated));
        services.AddEventHandler<ErasureRequested, ErasureRequestedHandler>(Name, TouchpointTopics.Subscription(Topics.ErasureRequested));

        services.AddMethodScopes(TouchpointService.Descriptor, new Dictionary<string, string>
        {
            [nameof(TouchpointService.TouchpointServiceClient.CreateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.GetTouchpoint)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.UpdateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.ListTouchpoints)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.RetireTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.RecordInteraction)] = TouchpointScopes.Write,
            [nameof(TouchpointService.TouchpointServiceClient.RecordInteractions)] = TouchpointScopes.Write,
            [nameof(TouchpointService.TouchpointServiceClient.StreamInteractions)] = TouchpointScopes.Write,
            [nameof(TouchpointService.TouchpointServiceClient.ListInteractions)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.GetTouchpointScorecard)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.GetJourneyFunnel)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.GetJourneyPaths)] = TouchpointScopes.Read,
            [nameof(TouchpointService.TouchpointServiceClient.ListExperienceGaps)] = TouchpointScopes.Read,
        });
        services.AddMethodScopes(TrackingSourceService.Descriptor, new Dictionary<string, string>
        {
            [nameof(TrackingSourceService.TrackingSourceServiceClient.CreateSource)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.GetSource)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.ListSources)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.UpdateSource)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.CreateWriteKey)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.RotateWriteKey)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.RevokeWriteKey)] = TouchpointScopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.ListTrackingIssues)] = TouchpointScopes.Read,
        });
        return builder;
    }

    /// <summary>Maps the service's gRPC services and the tracking API.</summary>
    public static IEndpointRouteBuilder MapTouchpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<TouchpointGrpcService>();
        endpoints.MapGuardedGrpcService<TrackingSourceGrpcService>();
        endpoints.MapTrackingApi();
        return endpoints;
    }
}
