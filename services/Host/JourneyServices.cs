using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Touchpoint;

namespace Journey.Host;

/// <summary>
/// The services this executable carries, in a stable order. Every process knows them all, whichever
/// it runs (<c>Journey:Hosting:Modules</c>), so a service alone in its Deployment still accepts the
/// others' events and tokens name the others' scopes.
/// </summary>
public static class JourneyServices
{
    /// <summary>Every service's module.</summary>
    public static IReadOnlyList<JourneyModule> All { get; } =
        [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition];

    /// <summary>Their declarations, aggregated and checked.</summary>
    public static KnownModules Known { get; } = new(All);
}
