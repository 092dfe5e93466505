using System.Reflection;
using Journey.Testing;

namespace Journey.Host.Tests;

/// <summary>
/// Every setting an options class binds is documented in docs/configuration.md, so a new setting
/// cannot ship without its row.
/// </summary>
public sealed class DocumentationTests
{
    /// <summary>The host and every Journey assembly it runs, so a new module's settings are checked without a list to keep.</summary>
    private static readonly string[] Assemblies =
        ["Journey.Host", .. Assembly.Load("Journey.Host").GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Journey.", StringComparison.Ordinal))];

    [Fact]
    public void ConfigurationPage_NamesEverySettingOfEveryOptionsClass()
    {
        var page = File.ReadAllText(Path.Combine(Repository.Root, "docs", "configuration.md"));

        var missing = Settings().Where(key => !page.Contains($"`{key}`", StringComparison.Ordinal)).ToList();

        Assert.True(missing.Count == 0, "docs/configuration.md lacks these settings:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void Settings_FindTheOptionsClasses()
    {
        // Proves the check above reads the options classes: well-known settings are among those it checks.
        var settings = Settings().ToList();

        Assert.Contains("Journey:Hosting:Port", settings);
        Assert.Contains("Journey:Storage:Mongo:ConnectionString", settings);
        Assert.Contains("Journey:Touchpoint:RetentionDays", settings);
        Assert.Contains("Journey:Demo:People", settings);
        Assert.Contains("Journey:Console:ApiAddress", settings);
    }

    /// <summary>Every bound setting: the public settable properties of each class with a <c>Section</c> constant, nested option classes walked.</summary>
    private static IEnumerable<string> Settings() =>
        Assemblies.Select(Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(x => x.Section is not null)
            .SelectMany(x => Keys(x.Type, x.Section!))
            .Distinct()
            .Order(StringComparer.Ordinal);

    private static IEnumerable<string> Keys(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var key = $"{prefix}:{property.Name}";
            var kind = property.PropertyType;
            if (kind.IsClass && kind != typeof(string) && !kind.IsArray && kind.Namespace?.StartsWith("Journey", StringComparison.Ordinal) == true)
            {
                foreach (var nested in Keys(kind, key))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return key;
            }
        }
    }
}
