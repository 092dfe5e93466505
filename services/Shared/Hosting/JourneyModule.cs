using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Journey.Shared.Hosting;

/// <summary>
/// A service as the host sees it: a name, what it registers and what it maps. The host runs any
/// subset, so the same code runs all services in one process on a laptop or one per Deployment.
/// </summary>
/// <param name="Name">The service name; also its Dapr app id, store name and configuration key.</param>
/// <param name="AddServices">Registers the service's domain, store, handlers and gRPC services.</param>
/// <param name="MapEndpoints">Maps the service's gRPC services.</param>
public sealed record JourneyModule(string Name, Action<WebApplicationBuilder> AddServices, Action<IEndpointRouteBuilder> MapEndpoints);

/// <summary>The services this process runs, after applying <see cref="HostingOptions.Modules"/>.</summary>
/// <param name="Modules">The enabled services.</param>
public sealed record EnabledModules(IReadOnlyList<JourneyModule> Modules);
