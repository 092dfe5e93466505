using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Events;
using Journey.Touchpoint.Grpc;
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
        services.AddOptions<TouchpointOptions>().BindConfiguration(TouchpointOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TouchpointOptions>, TouchpointOptionsValidator>();
        builder.AddServiceStorage(Name)
            .AddPort<ITouchpointStore, SqliteTouchpointStore, MongoTouchpointStore>()
            .AddPort<IInteractionStore, SqliteInteractionStore, MongoInteractionStore>();
        services.AddSingleton<ITouchpointEvents, TouchpointEvents>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TouchpointOptions>>().Value;
            return new IngestRules(TimeSpan.FromDays(options.RetentionDays), options.MaxClockSkew);
        });
        services.AddSingleton<TouchpointCatalog>();
        services.AddSingleton<RetentionSweep>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweep>());
        services.AddSingleton<InteractionRecorder>();
        services.AddSingleton<TouchpointGrpcService>();
        services.AddMethodScopes(TouchpointService.Descriptor, new Dictionary<string, string>
        {
            [nameof(TouchpointGrpcService.CreateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointGrpcService.GetTouchpoint)] = Scopes.TouchpointsRead,
            [nameof(TouchpointGrpcService.ListTouchpoints)] = Scopes.TouchpointsRead,
            [nameof(TouchpointGrpcService.RetireTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointGrpcService.RecordInteraction)] = Scopes.TouchpointsWrite,
            [nameof(TouchpointGrpcService.RecordInteractions)] = Scopes.TouchpointsWrite,
            [nameof(TouchpointGrpcService.StreamInteractions)] = Scopes.TouchpointsWrite,
            // Sketched in the contract; the service answers UNIMPLEMENTED until the touchpoint issue fills them in.
            [nameof(TouchpointService.TouchpointServiceClient.UpdateTouchpoint)] = Scopes.Admin,
            [nameof(TouchpointService.TouchpointServiceClient.ListInteractions)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.GetTouchpointScorecard)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.GetJourneyFunnel)] = Scopes.TouchpointsRead,
            [nameof(TouchpointService.TouchpointServiceClient.ListExperienceGaps)] = Scopes.TouchpointsRead,
        });
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapTouchpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<TouchpointGrpcService>(TouchpointService.BindService);
        return endpoints;
    }
}
