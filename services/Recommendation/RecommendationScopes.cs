using Journey.Shared.Security;

namespace Journey.Recommendation;

/// <summary>The scopes the recommendation service defines; content and experiments need the platform's <see cref="Scopes.Admin"/>.</summary>
public static class RecommendationScopes
{
    /// <summary>Ask for recommendations and read the content library.</summary>
    public const string Read = "recommendations:read";

    /// <summary>Report what was shown, clicked or bought: feedback changes what the platform learns.</summary>
    public const string Write = "recommendations:write";

    /// <summary>Every scope the service defines.</summary>
    public static IReadOnlyList<ScopeDefinition> All { get; } =
    [
        new(Read, "Ask for recommendations and read the content library."),
        new(Write, "Report what was shown, clicked or bought.", Writes: true),
    ];
}
