using System.Reflection;
using Google.Protobuf.Reflection;

namespace Journey.Host.Tests;

/// <summary>
/// Domain enums are converted to and from the contract's enums by number. A value added, renumbered or
/// renamed on one side only would turn into another value silently; these tests fail first.
/// </summary>
public sealed class EnumMirrorTests
{
    /// <summary>Domain enums whose contract enum has another name: domain type name to contract enum name.</summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["Journey.Profile.Domain.ChannelKind"] = "Channel",
        ["Journey.Recommendation.Domain.ChannelKind"] = "Channel",
        ["Journey.Recommendation.Domain.Stage"] = "JourneyStage",
        ["Journey.Recommendation.Domain.InteractionKind"] = "InteractionType",
    };

    /// <summary>Domain enums that name only the contract values their service reacts to (the others map to zero).</summary>
    private static readonly HashSet<string> Subsets = new(StringComparer.Ordinal) { "Journey.Recommendation.Domain.InteractionKind" };

    public static TheoryData<string, string> Pairs()
    {
        var contracts = ContractEnums();
        var pairs = new TheoryData<string, string>();
        foreach (var domain in DomainEnums())
        {
            var name = Renamed.GetValueOrDefault(domain.FullName!, domain.Name);
            foreach (var contract in contracts.Where(c => c.Name == name))
            {
                pairs.Add(domain.AssemblyQualifiedName!, contract.AssemblyQualifiedName!);
            }
        }

        return pairs;
    }

    [Fact]
    public void EveryRenamedDomainEnum_HasItsContractEnum()
    {
        var pairs = Pairs().Select(row => Type.GetType((string)row[0])!.FullName!).ToHashSet();

        Assert.All(Renamed.Keys, domain => Assert.Contains(domain, pairs));
        Assert.True(pairs.Count >= 8, $"only {pairs.Count} domain enums mirror a contract enum: {string.Join(", ", pairs)}");
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void DomainEnum_HasEveryContractValueUnderItsNumberAndName_AndNoOther(string domainType, string contractType)
    {
        var domain = Type.GetType(domainType, throwOnError: true)!;
        var contract = Type.GetType(contractType, throwOnError: true)!;
        var domainValues = Values(domain);
        var contractValues = Values(contract);

        // Zero is the contract's "unspecified": a domain enum may name it otherwise (None, Other) or
        // leave it out, because requests are validated before they reach the domain.
        foreach (var (number, name) in contractValues.Where(v => v.Key != 0 && !Subsets.Contains(domain.FullName!)))
        {
            Assert.True(domainValues.TryGetValue(number, out var domainName), $"{domain.FullName} has no value {number} ({contract.FullName}.{name})");
            Assert.True(Same(name, domainName), $"{domain.FullName}.{domainName} is {number}, which {contract.FullName} calls {name}");
        }

        foreach (var (number, name) in domainValues.Where(v => v.Key != 0))
        {
            Assert.True(contractValues.TryGetValue(number, out var contractName), $"{domain.FullName}.{name} ({number}) is not in {contract.FullName}");
            Assert.True(Same(contractName, name), $"{domain.FullName}.{name} is {number}, which {contract.FullName} calls {contractName}");
        }
    }

    private static Dictionary<int, string> Values(Type type) =>
        Enum.GetValues(type).Cast<object>().ToDictionary(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture), v => v.ToString()!);

    // The contract's names are generated from SCREAMING_CASE; the domain's may differ in case only.
    private static bool Same(string contract, string domain) =>
        string.Equals(contract.Replace("_", "", StringComparison.Ordinal), domain.Replace("_", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<Type> DomainEnums() =>
        new[] { "Journey.Touchpoint", "Journey.Profile", "Journey.Consent", "Journey.Recommendation" }
            .Select(Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsEnum && t.IsPublic && t.Namespace?.EndsWith(".Domain", StringComparison.Ordinal) == true);

    private static List<Type> ContractEnums() =>
        AppDomain.CurrentDomain.GetAssemblies().Concat(new[] { "Journey.Touchpoint", "Journey.Profile", "Journey.Consent", "Journey.Recommendation", "Journey.Shared" }.Select(Assembly.Load))
            .Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsEnum && t.Namespace?.StartsWith("Journey.", StringComparison.Ordinal) == true && t.Namespace.EndsWith(".V1", StringComparison.Ordinal)
                && t.GetFields().Any(f => f.GetCustomAttribute<OriginalNameAttribute>() is not null))
            .DistinctBy(t => t.FullName)
            .ToList();
}
