using Journey.Shared.Hosting;

namespace Journey.Shared.Security;

/// <summary>
/// An OAuth scope a caller's token may carry (claim <c>scope</c>, space separated). Each service
/// declares its own in its module (<see cref="JourneyModule.Scopes"/>); <see cref="ScopeCatalog"/>
/// aggregates them with the platform's.
/// </summary>
/// <param name="Name">The scope string, as tokens carry it.</param>
/// <param name="Description">What it lets a caller do, for people choosing scopes.</param>
/// <param name="Writes">Whether calls needing it change data, and so count against the caller's write rate.</param>
/// <param name="Audited">Whether calls needing it go to the audit trail.</param>
public sealed record ScopeDefinition(string Name, string Description, bool Writes = false, bool Audited = false);

/// <summary>
/// The platform's own scopes. Each gRPC method needs exactly one scope; each service lists its
/// methods' scopes in one table (see <see cref="MethodScopes"/>). Reading and writing are apart, and
/// privacy operations (export, erasure) and administration (catalogs, purposes, experiments) are
/// apart from both, so an app that records interactions can neither export nor erase a person.
/// </summary>
public static class Scopes
{
    /// <summary>Export everything about a person, or erase it.</summary>
    public const string PrivacyErase = "privacy:erase";

    /// <summary>Change the services' catalogs and administer the platform (dead letters, the audit trail).</summary>
    public const string Admin = "admin";

    /// <summary>Any authenticated caller, whatever its scopes (diagnostics only).</summary>
    public const string AnyCaller = "*";

    /// <summary>The platform's scopes, which every service may use; they follow the services' own in <see cref="ScopeCatalog.All"/>.</summary>
    public static readonly IReadOnlyList<ScopeDefinition> Platform =
    [
        new(PrivacyErase, "Export everything about a person, or erase it.", Writes: true, Audited: true),
        new(Admin, "Change catalogs and administer the platform (dead letters, audit).", Writes: true, Audited: true),
    ];
}

/// <summary>Every scope the known services and the platform define, and the checks that keep them apart.</summary>
public sealed class ScopeCatalog
{
    private readonly Dictionary<string, ScopeDefinition> _byName = new(StringComparer.Ordinal);
    private readonly List<string> _problems = [];

    /// <summary>Aggregates <paramref name="modules"/>' scopes, then the platform's.</summary>
    public ScopeCatalog(IEnumerable<JourneyModule> modules)
    {
        var definitions = modules.SelectMany(m => m.Scopes.Select(s => (Owner: m.Name, Scope: s)))
            .Concat(Scopes.Platform.Select(s => (Owner: "the platform", Scope: s)))
            .ToList();
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (owner, scope) in definitions)
        {
            if (scope.Name == Scopes.AnyCaller || string.IsNullOrWhiteSpace(scope.Name) || scope.Name.Contains(' ', StringComparison.Ordinal))
            {
                _problems.Add($"The scope '{scope.Name}' of {owner} is not a scope name: one word, not '{Scopes.AnyCaller}'.");
            }
            else if (!owners.TryAdd(scope.Name, owner))
            {
                _problems.Add($"The scope '{scope.Name}' is defined by both {owners[scope.Name]} and {owner}.");
            }
            else
            {
                _byName[scope.Name] = scope;
            }
        }

        All = [.. _byName.Keys];
        Definitions = [.. _byName.Values];
    }

    /// <summary>Every scope name, the services' in module order and then the platform's (development tokens get them all).</summary>
    public IReadOnlyList<string> All { get; }

    /// <summary>Every scope with its description.</summary>
    public IReadOnlyList<ScopeDefinition> Definitions { get; }

    /// <summary>A scope defined twice or badly named; empty when all is well.</summary>
    public IReadOnlyList<string> Problems => _problems;

    /// <summary>Whether <paramref name="scope"/> is defined.</summary>
    public bool Contains(string scope) => _byName.ContainsKey(scope);

    /// <summary>Whether calls needing <paramref name="scope"/> change data, and so count against the caller's write rate.</summary>
    public bool IsWrite(string scope) => _byName.TryGetValue(scope, out var s) && s.Writes;

    /// <summary>Whether calls needing <paramref name="scope"/> go to the audit trail: operator merges, privacy, consent and catalog changes.</summary>
    public bool IsSensitive(string scope) => _byName.TryGetValue(scope, out var s) && s.Audited;
}
