using Google.Protobuf.Reflection;

namespace Journey.Shared.Security;

/// <summary>
/// Which scope each gRPC method needs. Every service registers one table for its proto service;
/// registration fails when a method of the service has no entry, so no method is ever born open.
/// Only health and reflection are open.
/// </summary>
public sealed class MethodScopes
{
    private static readonly string[] OpenServices = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

    private readonly Dictionary<string, string> _scopeByMethod = new(StringComparer.Ordinal);

    /// <summary>A table whose scopes must be among <paramref name="catalog"/>'s.</summary>
    public MethodScopes(ScopeCatalog catalog) => Catalog = catalog;

    /// <summary>The scopes tables may name.</summary>
    public ScopeCatalog Catalog { get; }

    /// <summary>Adds the table of one proto service; throws when a method is missing or unknown.</summary>
    public void Add(ServiceDescriptor service, IReadOnlyDictionary<string, string> scopeByMethodName)
    {
        var missing = service.Methods.Where(m => !scopeByMethodName.ContainsKey(m.Name)).Select(m => m.Name).ToList();
        var unknown = scopeByMethodName.Keys.Where(name => service.FindMethodByName(name) is null).ToList();
        var badScopes = scopeByMethodName.Values.Where(s => s != Scopes.AnyCaller && !Catalog.Contains(s)).Distinct().ToList();
        if (missing.Count > 0 || unknown.Count > 0 || badScopes.Count > 0)
        {
            throw new InvalidOperationException(
                $"Scope table of {service.FullName} is incomplete: no scope for [{string.Join(", ", missing)}], " +
                $"unknown methods [{string.Join(", ", unknown)}], unknown scopes [{string.Join(", ", badScopes)}].");
        }

        foreach (var method in service.Methods)
        {
            _scopeByMethod[$"/{service.FullName}/{method.Name}"] = scopeByMethodName[method.Name];
        }
    }

    /// <summary>The scope <paramref name="method"/> (<c>/package.Service/Method</c>) needs; null when it is open or unknown.</summary>
    public string? ScopeFor(string method) => _scopeByMethod.GetValueOrDefault(method);

    /// <summary>Whether <paramref name="method"/> needs no token (health and reflection).</summary>
    public static bool IsOpen(string method) =>
        OpenServices.Any(service => method.StartsWith($"/{service}/", StringComparison.Ordinal));

    /// <summary>Every method with its scope.</summary>
    public IReadOnlyDictionary<string, string> All => _scopeByMethod;
}
