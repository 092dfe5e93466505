using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Profile.Events;
using Journey.Profile.Grpc;
using Journey.Profile.Storage;
using Journey.Profile.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Profile;

/// <summary>The profile service as the host runs it.</summary>
public static class ProfileModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = Topics.Apps.Profile;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddProfile(), endpoints => endpoints.MapProfile());

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddProfile(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddServiceStorage(Name).AddPort<IProfileStore, SqliteProfileStore, MongoProfileStore>();
        services.AddSingleton<IProfileEvents, ProfileEvents>();
        services.AddSingleton<ProfileJourney>();
        services.AddEventHandler<InteractionRecorded, InteractionRecordedHandler>(Name, Topics.InteractionRecorded);
        services.AddSingleton<ProfileGrpcService>();
        services.AddMethodScopes(ProfileService.Descriptor, new Dictionary<string, string>
        {
            [nameof(ProfileGrpcService.GetProfile)] = Scopes.ProfilesRead,
            [nameof(ProfileGrpcService.LookupProfile)] = Scopes.ProfilesRead,
        });
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapProfile(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<ProfileGrpcService>(ProfileService.BindService);
        return endpoints;
    }
}
