using Journey.Shared.Events;
using Journey.Shared.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Journey.Shared.Hosting;

/// <summary>
/// A service as the host sees it: a name, what it registers and what it maps, and what it declares
/// to the rest of the platform (its topics and scopes). The host runs any subset, so the same code
/// runs all services in one process on a laptop or one per Deployment.
/// </summary>
/// <param name="Name">The service name; also its Dapr app id, store name and configuration key.</param>
/// <param name="AddServices">Registers the service's domain, store, handlers and gRPC services.</param>
/// <param name="MapEndpoints">Maps the service's gRPC services.</param>
public sealed record JourneyModule(string Name, Action<WebApplicationBuilder> AddServices, Action<IEndpointRouteBuilder> MapEndpoints)
{
    /// <summary>The topics the service publishes.</summary>
    public IReadOnlyList<string> Publishes { get; init; } = [];

    /// <summary>The topics the service handles, each with the services it accepts them from; each needs a handler (AddEventHandler).</summary>
    public IReadOnlyList<TopicSubscription> Subscribes { get; init; } = [];

    /// <summary>The scopes the service defines for its methods, besides the platform's (<see cref="Security.Scopes.Platform"/>).</summary>
    public IReadOnlyList<ScopeDefinition> Scopes { get; init; } = [];
}

/// <summary>The services this process runs, after applying <see cref="HostingOptions.Modules"/>.</summary>
/// <param name="Modules">The enabled services.</param>
public sealed record EnabledModules(IReadOnlyList<JourneyModule> Modules);

/// <summary>
/// Every service the host knows, whether it runs it or not: a service alone in its Deployment still
/// accepts events from the others, and tokens carry scopes of them all.
/// </summary>
public sealed class KnownModules
{
    /// <summary>Aggregates <paramref name="modules"/>' declarations.</summary>
    public KnownModules(IReadOnlyList<JourneyModule> modules)
    {
        Modules = modules;
        Topics = new TopicMap(modules);
        Scopes = new ScopeCatalog(modules);
    }

    /// <summary>The services, in the order the host lists them.</summary>
    public IReadOnlyList<JourneyModule> Modules { get; }

    /// <summary>Who publishes and subscribes to each topic.</summary>
    public TopicMap Topics { get; }

    /// <summary>Every scope.</summary>
    public ScopeCatalog Scopes { get; }

    /// <summary>What is inconsistent in the declarations, as one line; null when they agree.</summary>
    public string? Problems => Topics.Problems.Concat(Scopes.Problems).ToList() is { Count: > 0 } problems ? string.Join(" ", problems) : null;
}
