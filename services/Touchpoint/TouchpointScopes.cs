using Journey.Shared.Security;

namespace Journey.Touchpoint;

/// <summary>The scopes the touchpoint service defines; catalog changes need the platform's <see cref="Scopes.Admin"/>.</summary>
public static class TouchpointScopes
{
    /// <summary>Read the touchpoint catalog, timelines and analytics.</summary>
    public const string Read = "touchpoints:read";

    /// <summary>Record interactions.</summary>
    public const string Write = "touchpoints:write";

    /// <summary>Manage tracking sources: their plans and write keys (the keys are secrets, so apart from admin).</summary>
    public const string TrackingAdmin = "tracking:admin";

    /// <summary>Every scope the service defines.</summary>
    public static IReadOnlyList<ScopeDefinition> All { get; } =
    [
        new(Read, "Read the touchpoint catalog, timelines and analytics."),
        new(Write, "Record interactions.", Writes: true),
        new(TrackingAdmin, "Manage tracking sources: their plans and write keys.", Writes: true, Audited: true),
    ];
}
