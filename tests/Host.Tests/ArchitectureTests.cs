using System.Reflection;
using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Host.Tests;

/// <summary>
/// Domain code is plain C#: it knows nothing of gRPC, protobuf, MongoDB, Dapr, ASP.NET Core or
/// SQLite. Checked twice: in the sources (usings and qualified names) and in the compiled types'
/// signatures (base types, fields, properties, method parameters and returns).
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string[] Banned = ["Grpc", "Google.Protobuf", "MongoDB", "Dapr", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite"];

    /// <summary>Every service: each folder under services/ with a Domain folder, so a new one is checked without a list to keep.</summary>
    private static readonly string[] Services =
        [.. Directory.EnumerateDirectories(Path.Combine(Repository.Root, "services")).Where(d => Directory.Exists(Path.Combine(d, "Domain"))).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    [Fact]
    public void Services_AreFoundFromTheirDomainFolders()
    {
        Assert.Equal(["Consent", "Profile", "Recommendation", "Touchpoint"], Services);
    }

    [Fact]
    public void WebConsole_UsesOnlyTheServicesPublicContracts()
    {
        // The console is a client like any other: the generated gRPC clients and messages (Journey.<Service>.V1), never a service's domain or stores.
        var folder = Path.Combine(Repository.Root, "services", "WebConsole");
        var sourceViolations = Directory.EnumerateFiles(folder, "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".razor", StringComparison.Ordinal)) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => ServiceInternals(File.ReadAllText(f)).Select(v => $"{Path.GetRelativePath(Repository.Root, f)}: {v}"));
        var typeViolations = Assembly.Load("Journey.WebConsole").GetTypes()
            .SelectMany(t => SignatureTypes(t).Where(IsServiceInternal).Select(u => $"{t.FullName} uses {u.FullName}"));

        var violations = sourceViolations.Concat(typeViolations).Distinct().ToList();
        Assert.True(violations.Count == 0, "The console reaches past the public API:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void ServiceInternals_WhenASourceUsesADomainNamespace_AreFound()
    {
        const string source = "@using Journey.Touchpoint.V1\n@using Journey.Profile.Domain\nusing Journey.Consent.Storage;\nvar x = new Journey.Recommendation.Domain.Thing();\n";

        Assert.Equal(["Journey.Profile.Domain", "Journey.Consent.Storage", "Journey.Recommendation.Domain"], ServiceInternals(source));
    }

    private static IEnumerable<string> ServiceInternals(string source) =>
        new Regex($@"\bJourney\.(?:{string.Join('|', Services)})(?:\.[A-Z][A-Za-z0-9]*)?").Matches(source).Select(m => m.Value).Where(ns => !ns.EndsWith(".V1", StringComparison.Ordinal));

    private static bool IsServiceInternal(Type type) =>
        type.Namespace is { } ns && Services.Any(s => ns == $"Journey.{s}" || ns.StartsWith($"Journey.{s}.", StringComparison.Ordinal)) && !ns.EndsWith(".V1", StringComparison.Ordinal);

    [Fact]
    public void DomainSources_UseNoTransportOrStorageNamespace()
    {
        var violations = Services
            .SelectMany(service => DomainSources(service))
            .SelectMany(file => Violations(File.ReadAllText(file)).Select(v => $"{Path.GetRelativePath(Repository.Root, file)}: {v}"))
            .ToList();

        Assert.True(violations.Count == 0, "Domain code reaches into adapters:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void DomainTypes_ExposeNoTransportOrStorageType()
    {
        var violations = new List<string>();
        foreach (var service in Services)
        {
            var assembly = Assembly.Load($"Journey.{service}");
            foreach (var type in assembly.GetTypes().Where(t => t.Namespace?.StartsWith($"Journey.{service}.Domain", StringComparison.Ordinal) == true))
            {
                violations.AddRange(SignatureTypes(type).Where(IsBanned).Select(t => $"{type.FullName} uses {t.FullName}"));
            }
        }

        Assert.True(violations.Count == 0, "Domain types expose adapter types:\n" + string.Join('\n', violations.Distinct()));
    }

    [Fact]
    public void Violations_WhenDomainSourceImportsGrpc_AreFound()
    {
        // The checker itself must be able to fail.
        const string source = "using Grpc.Core;\nusing System.Text;\nnamespace Journey.Profile.Domain;\nsealed class X { MongoDB.Driver.IMongoClient? c; }\n";

        Assert.Equal(["using Grpc.Core", "MongoDB.Driver"], Violations(source));
    }

    private static IEnumerable<string> DomainSources(string service)
    {
        var folder = Path.Combine(Repository.Root, "services", service, "Domain");
        return Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories) : [];
    }

    private static List<string> Violations(string source)
    {
        var found = new List<string>();
        foreach (Match match in UsingPattern().Matches(source))
        {
            if (Banned.Any(b => match.Groups[1].Value == b || match.Groups[1].Value.StartsWith(b + ".", StringComparison.Ordinal)))
            {
                found.Add($"using {match.Groups[1].Value}");
            }
        }

        foreach (Match match in QualifiedPattern().Matches(UsingPattern().Replace(source, "")))
        {
            found.Add(match.Value);
        }

        return found;
    }

    private static IEnumerable<Type> SignatureTypes(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var types = new List<Type?> { type.BaseType };
        types.AddRange(type.GetInterfaces());
        types.AddRange(type.GetFields(all).Select(f => f.FieldType));
        types.AddRange(type.GetProperties(all).Select(p => p.PropertyType));
        foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
        {
            types.AddRange(method.GetParameters().Select(p => p.ParameterType));
            if (method is MethodInfo info)
            {
                types.Add(info.ReturnType);
            }
        }

        return types.OfType<Type>().SelectMany(Expand);
    }

    private static IEnumerable<Type> Expand(Type type)
    {
        yield return type;
        if (type.HasElementType)
        {
            foreach (var inner in Expand(type.GetElementType()!))
            {
                yield return inner;
            }
        }

        if (type.IsGenericType)
        {
            foreach (var inner in type.GetGenericArguments().SelectMany(Expand))
            {
                yield return inner;
            }
        }
    }

    private static bool IsBanned(Type type) =>
        type.Namespace is { } ns && Banned.Any(b => ns == b || ns.StartsWith(b + ".", StringComparison.Ordinal));

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?(?:\w+\s*=\s*)?([A-Za-z0-9_.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();

    [GeneratedRegex(@"\b(?:Grpc\.[A-Z]\w*|Google\.Protobuf|MongoDB\.\w+|Dapr\.\w+|Microsoft\.AspNetCore\.\w+|Microsoft\.Data\.Sqlite)\b(?=[^;\n]*[;{)\s])")]
    private static partial Regex QualifiedPattern();
}
