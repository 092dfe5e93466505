using Journey.Shared.Security;

namespace Journey.Profile;

/// <summary>The scopes the profile service defines; export and erasure need the platform's <see cref="Scopes.PrivacyErase"/>.</summary>
public static class ProfileScopes
{
    /// <summary>Read profiles, segments' members and audiences.</summary>
    public const string Read = "profiles:read";

    /// <summary>Identify people (create, link and merge profiles).</summary>
    public const string Write = "profiles:write";

    /// <summary>Merge two profiles an operator has found to be one person, known customers included.</summary>
    public const string Merge = "profiles:merge";

    /// <summary>Every scope the service defines.</summary>
    public static IReadOnlyList<ScopeDefinition> All { get; } =
    [
        new(Read, "Read profiles, segments' members and audiences."),
        new(Write, "Identify people (create, link and merge profiles).", Writes: true),
        new(Merge, "Merge or split profiles an operator has found to be one person, known customers included.", Writes: true, Audited: true),
    ];
}
