namespace Journey.Shared.Security;

/// <summary>
/// The OAuth scopes a caller's token carries (claim <c>scope</c>, space separated). Each gRPC method
/// needs exactly one; each service lists its methods' scopes in one table (see
/// <see cref="MethodScopes"/>). Reading and writing are apart, and privacy operations (export,
/// erasure) and administration (catalogs, purposes, experiments) are apart from both, so an app
/// that records interactions can neither export nor erase a person.
/// </summary>
public static class Scopes
{
    /// <summary>Read the touchpoint catalog, timelines and analytics.</summary>
    public const string TouchpointsRead = "touchpoints:read";

    /// <summary>Record interactions.</summary>
    public const string TouchpointsWrite = "touchpoints:write";

    /// <summary>Manage tracking sources: their plans and write keys (the keys are secrets, so apart from admin).</summary>
    public const string TrackingAdmin = "tracking:admin";

    /// <summary>Read profiles, segments' members and audiences.</summary>
    public const string ProfilesRead = "profiles:read";

    /// <summary>Identify people (create, link and merge profiles).</summary>
    public const string ProfilesWrite = "profiles:write";

    /// <summary>Merge two profiles an operator has found to be one person, known customers included.</summary>
    public const string ProfilesMerge = "profiles:merge";

    /// <summary>Check consent and read its history.</summary>
    public const string ConsentRead = "consent:read";

    /// <summary>Record and withdraw consent.</summary>
    public const string ConsentWrite = "consent:write";

    /// <summary>Ask for recommendations and report what was shown, clicked or bought.</summary>
    public const string RecommendationsRead = "recommendations:read";

    /// <summary>Export everything about a person, or erase it.</summary>
    public const string PrivacyErase = "privacy:erase";

    /// <summary>Change catalogs: touchpoints, content, purposes, policies, segments, experiments, dead letters.</summary>
    public const string Admin = "admin";

    /// <summary>Any authenticated caller, whatever its scopes (diagnostics only).</summary>
    public const string AnyCaller = "*";

    /// <summary>Whether calls needing <paramref name="scope"/> change data, and so count against the caller's write rate.</summary>
    public static bool IsWrite(string scope) => scope is TouchpointsWrite or TrackingAdmin or ProfilesWrite or ProfilesMerge or ConsentWrite or PrivacyErase or Admin;

    /// <summary>Whether calls needing <paramref name="scope"/> go to the audit trail: operator merges, privacy, consent and catalog changes.</summary>
    public static bool IsSensitive(string scope) => scope is TrackingAdmin or ProfilesMerge or ConsentWrite or PrivacyErase or Admin;

    /// <summary>Every scope, for development tokens.</summary>
    public static readonly IReadOnlyList<string> All =
        [TouchpointsRead, TouchpointsWrite, TrackingAdmin, ProfilesRead, ProfilesWrite, ProfilesMerge, ConsentRead, ConsentWrite, RecommendationsRead, PrivacyErase, Admin];
}
