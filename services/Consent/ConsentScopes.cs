using Journey.Shared.Security;

namespace Journey.Consent;

/// <summary>The scopes the consent service defines; purposes and policies need the platform's <see cref="Scopes.Admin"/>, erasure its <see cref="Scopes.PrivacyErase"/>.</summary>
public static class ConsentScopes
{
    /// <summary>Check consent and read its history.</summary>
    public const string Read = "consent:read";

    /// <summary>Record and withdraw consent.</summary>
    public const string Write = "consent:write";

    /// <summary>Every scope the service defines.</summary>
    public static IReadOnlyList<ScopeDefinition> All { get; } =
    [
        new(Read, "Check consent and read its history."),
        new(Write, "Record and withdraw consent.", Writes: true, Audited: true),
    ];
}
