using System.Text.Json;
using System.Xml.Linq;
using Journey.Testing;

namespace Journey.Contracts.Tests;

/// <summary>
/// The test tooling installs from its lock file without rewriting it, so running the tests on a
/// clean clone leaves the working tree clean on every platform.
/// </summary>
public sealed class ToolingLockTests
{
    private static readonly string Tooling = Path.Combine(Repository.Root, "tests", "tooling");

    [Fact]
    public void Install_UsesNpmCi_SoTheLockFileIsNeverRewritten()
    {
        var commands = XDocument.Load(Path.Combine(Tooling, "Tooling.csproj")).Descendants("Exec")
            .Select(e => (string?)e.Attribute("Command") ?? "").ToList();

        Assert.Contains(commands, c => c.StartsWith("npm ci", StringComparison.Ordinal));
        Assert.DoesNotContain(commands, c => c.StartsWith("npm install", StringComparison.Ordinal) || c.StartsWith("npm i ", StringComparison.Ordinal));
    }

    [Fact]
    public void LockFile_ListsEveryOptionalDependencyOfEveryPlatform()
    {
        Assert.Empty(MissingOptionalDependencies(File.ReadAllText(Path.Combine(Tooling, "package-lock.json"))));
    }

    [Fact]
    public void LockFile_WhenAPlatformBinaryIsMissing_IsReported()
    {
        // Proves the check above can fail: npm 10 and older wrote only the installing platform's binary.
        var lockFile = File.ReadAllText(Path.Combine(Tooling, "package-lock.json"));
        using var document = JsonDocument.Parse(lockFile);
        var optional = document.RootElement.GetProperty("packages").EnumerateObject()
            .SelectMany(p => p.Value.TryGetProperty("optionalDependencies", out var deps) ? deps.EnumerateObject().Select(d => d.Name) : [])
            .First();
        var trimmed = JsonSerializer.Serialize(Without(document.RootElement, $"node_modules/{optional}"));

        Assert.Contains($"node_modules/{optional}", MissingOptionalDependencies(trimmed));
    }

    private static List<string> MissingOptionalDependencies(string lockFile)
    {
        using var document = JsonDocument.Parse(lockFile);
        var packages = document.RootElement.GetProperty("packages");
        var listed = packages.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return packages.EnumerateObject()
            .SelectMany(p => p.Value.TryGetProperty("optionalDependencies", out var deps) ? deps.EnumerateObject().Select(d => d.Name) : [])
            .Select(name => $"node_modules/{name}")
            .Where(path => !listed.Contains(path))
            .Distinct()
            .ToList();
    }

    private static Dictionary<string, object?> Without(JsonElement root, string packagePath)
    {
        var copy = JsonSerializer.Deserialize<Dictionary<string, object?>>(root.GetRawText())!;
        var packages = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(root.GetProperty("packages").GetRawText())!;
        packages.Remove(packagePath);
        copy["packages"] = packages;
        return copy;
    }
}
