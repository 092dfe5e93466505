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
    public const string Name = Topics.Apps.Touchpoint;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddTouchpoint(), endpoints => endpoints.MapTouchpoint());

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

        services.AddEventHandler<ProfilesMerged, ProfilesMergedHandler>(Name, Topics.ProfilesMerged);
        services.AddEventHandler<ProfileSplit, ProfileSplitHandler>(Name, Topics.ProfileSplit);
        services.AddEventHandler<ProfileUpdated, ProfileUpdatedHandler>(Name, Topics.ProfileUpdated);
        services.AddEventHandler<ErasureRequested, ErasureRequestedHandler>(Name, Topics.ErasureRequested);

        services.AddMethodScopes(TouchpointService.Descriptor, new Dictionary<string, string>
        {
            [nameof(TouchpointService.TouchpointServiceClient.CreateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.GetTouchpoint)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.UpdateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.ListTouchpoints)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.RetireTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.RecordInteraction)] = Scopes.TouchpointsWrite,
            [nameof(TouchpointService.TouchpointServiceClient.RecordInteractions)] = Scopes.TouchpointsWrite,
            [nameof(TouchpointService.TouchpointServiceClient.StreamInteractions)] = Scopes.TouchpointsWrite,
            [nameof(TouchpointService.TouchpointServiceClient.ListInteractions)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.GetTouchpointScorecard)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.GetJourneyFunnel)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.GetJourneyPaths)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.ListExperienceGaps)] = Scopes.TouchpointsRead,
        });
        services.AddMethodScopes(TrackingSourceService.Descriptor, new Dictionary<string, string>
        {
            [nameof(TrackingSourceService.TrackingSourceServiceClient.CreateSource)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.GetSource)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.ListSources)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.UpdateSource)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.CreateWriteKey)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.RotateWriteKey)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.RevokeWriteKey)] = Scopes.TrackingAdmin,
            [nameof(TrackingSourceService.TrackingSourceServiceClient.ListTrackingIssues)] = Scopes.TouchpointsRead,
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
