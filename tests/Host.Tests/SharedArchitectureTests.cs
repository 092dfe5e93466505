using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Host.Tests;

/// <summary>
/// Shared holds only plumbing: its code names no service, so adding one never means editing Shared.
/// What counts is code and string literals (identifiers such as <c>TouchpointRetired</c>, strings
/// such as <c>"profile-updated"</c>); comments may use a service as an example of why. The services
/// are the folders under services/ with a Domain folder.
/// </summary>
public sealed partial class SharedArchitectureTests
{
    /// <summary>
    /// The exceptions, each a file and the service names it may say, and why:
    /// <list type="bullet">
    /// <item>PersonRefs.cs and ErasureTombstones.cs read journey.common.v1's person reference, whose
    /// one arm is a profile name (<c>profiles/{profile}</c>) and one identifier kind <c>PROFILE_ID</c>:
    /// every service addresses a person that way, so the shared parsing of it says "profile".</item>
    /// <item>ErrorReasons.cs is the API's one catalog of ErrorInfo reasons (docs/api.md lists them
    /// all and a test holds the two together); a reason such as <c>TOUCHPOINT_RETIRED</c> is part of
    /// the public contract, kept in one place so no two services coin the same reason differently.</item>
    /// </list>
    /// </summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Identity/PersonRefs.cs"] = ["profile"],
        ["Privacy/ErasureTombstones.cs"] = ["profile"],
        ["Errors/ErrorReasons.cs"] = ["touchpoint", "profile", "consent", "recommendation"],
    };

    private static readonly string[] ServiceNames =
        [.. Directory.EnumerateDirectories(Path.Combine(Repository.Root, "services"))
            .Where(d => Directory.Exists(Path.Combine(d, "Domain")))
            .Select(d => Path.GetFileName(d).ToLowerInvariant())
            .Order(StringComparer.Ordinal)];

    [Fact]
    public void SharedSources_NameNoService()
    {
        var shared = Path.Combine(Repository.Root, "services", "Shared");
        var violations = Directory.EnumerateFiles(shared, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f =>
            {
                var relative = Path.GetRelativePath(shared, f).Replace(Path.DirectorySeparatorChar, '/');
                var allowed = Allowed.GetValueOrDefault(relative, []);
                return Mentions(File.ReadAllText(f)).Where(m => !allowed.Contains(m.Service)).Select(m => $"services/Shared/{relative}:{m.Line}: {m.Text}");
            })
            .ToList();

        Assert.Equal(["consent", "profile", "recommendation", "touchpoint"], ServiceNames);
        Assert.True(violations.Count == 0, "Shared names a service; move the knowledge into the service's module:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void Mentions_WhenCodeOrAStringNamesAService_AreFoundButCommentsAreNot()
    {
        // The checker itself must be able to fail.
        const string source = "/// <summary>The touchpoint store.</summary>\n" +
            "public const string ProfileUpdated = \"profile-updated\"; // profile\n" +
            "var url = \"http://x\"; /* consent */ var s = Scopes.RecommendationsRead;\n";

        Assert.Equal(
            [(2, "profile", "ProfileUpdated"), (2, "profile", "profile-updated"), (3, "recommendation", "RecommendationsRead")],
            Mentions(source).Select(m => (m.Line, m.Service, m.Text)).ToList());
    }

    private static IEnumerable<(int Line, string Service, string Text)> Mentions(string source)
    {
        // Comments become blanks of the same shape, so line numbers still match; strings are kept.
        var code = CommentOrString().Replace(source, m => m.Groups["comment"].Success ? Regex.Replace(m.Value, @"[^\n]", " ") : m.Value);
        foreach (Match word in Word().Matches(code))
        {
            foreach (var service in ServiceNames.Where(s => word.Value.Contains(s, StringComparison.OrdinalIgnoreCase)))
            {
                yield return (code[..word.Index].Count(c => c == '\n') + 1, service, word.Value);
            }
        }
    }

    [GeneratedRegex(@"(?<comment>//[^\n]*|/\*[\s\S]*?\*/)|(?<string>""""""[\s\S]*?""""""|@""(?:[^""]|"""")*""|""(?:\\.|[^""\\\n])*"")")]
    private static partial Regex CommentOrString();

    [GeneratedRegex(@"[A-Za-z][A-Za-z0-9_:/{}-]*")]
    private static partial Regex Word();
}
