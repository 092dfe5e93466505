using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Journey.Consent;

/// <summary>The Consent service as the host runs it.</summary>
public static class ConsentModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = Topics.Apps.Consent;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddConsent(), endpoints => endpoints.MapConsent());

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddConsent(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(Name);
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapConsent(this IEndpointRouteBuilder endpoints) => endpoints;
}
