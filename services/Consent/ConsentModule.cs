using Journey.Consent.Domain;
using Journey.Consent.Events;
using Journey.Consent.Grpc;
using Journey.Consent.Storage;
using Journey.Consent.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Consent;

/// <summary>The consent service as the host runs it.</summary>
public static class ConsentModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = Topics.Apps.Consent;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddConsent(), endpoints => endpoints.MapConsent());

    /// <summary>Registers the service's domain, store and gRPC services.</summary>
    public static WebApplicationBuilder AddConsent(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddServiceStorage(Name).AddPort<IConsentLedger, SqliteConsentLedger, MongoConsentLedger>();
        services.AddSingleton<IConsentEvents, ConsentEvents>();
        services.AddSingleton<ConsentDecisions>();
        services.AddSingleton<ConsentGrpcService>();
        services.AddMethodScopes(ConsentService.Descriptor, new Dictionary<string, string>
        {
            [nameof(ConsentGrpcService.CreatePurpose)] = Scopes.Admin,
            [nameof(ConsentGrpcService.GetPurpose)] = Scopes.ConsentRead,
            [nameof(ConsentGrpcService.RecordConsent)] = Scopes.ConsentWrite,
            [nameof(ConsentGrpcService.CheckConsent)] = Scopes.ConsentRead,
        });
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapConsent(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<ConsentGrpcService>(ConsentService.BindService);
        return endpoints;
    }
}
