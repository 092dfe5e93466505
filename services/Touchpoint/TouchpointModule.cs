using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Journey.Touchpoint;

/// <summary>The Touchpoint service as the host runs it.</summary>
public static class TouchpointModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = Topics.Apps.Touchpoint;

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddTouchpoint(), endpoints => endpoints.MapTouchpoint());

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddTouchpoint(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(Name);
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapTouchpoint(this IEndpointRouteBuilder endpoints) => endpoints;
}
