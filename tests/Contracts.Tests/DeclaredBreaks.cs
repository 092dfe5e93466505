using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Contracts.Tests;

/// <summary>
/// The deliberate contract breaks declared in <c>protos/BREAKING</c>: one line per break,
/// <c>&lt;commit&gt; &lt;ADR-NNNN&gt;</c>, naming the last commit whose contract the break supersedes
/// and the decision record that explains it. A declaration excuses only the range of history that
/// adds it: once the baseline holds the line, every later change is compared again, so a break
/// declared once cannot hide the next one.
/// </summary>
internal static partial class DeclaredBreaks
{
    /// <summary>The declarations file, relative to the repository root.</summary>
    public const string FileName = "protos/BREAKING";

    /// <summary>One declared break.</summary>
    public sealed record Declaration(string Commit, string Adr);

    /// <summary>Parses the file's text: blank lines and lines starting with '#' are ignored; any other malformed line throws.</summary>
    public static IReadOnlyList<Declaration> Parse(string text)
    {
        var declarations = new List<Declaration>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = LinePattern().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"{FileName}: '{line}' is not '<commit hash, 7 to 40 hex digits> ADR-NNNN'");
            }

            declarations.Add(new Declaration(match.Groups[1].Value.ToLowerInvariant(), match.Groups[2].Value));
        }

        return declarations;
    }

    /// <summary>
    /// The declaration that excuses the changes from <paramref name="baseline"/> to the working tree of
    /// <paramref name="repository"/>, or null when the contract must be compared. A declaration counts when
    /// the baseline's own file lacks it (this range adds it) and its commit lies on the baseline's line of
    /// history (the baseline is that commit, an ancestor or a descendant of it), so a stale or foreign hash
    /// excuses nothing.
    /// </summary>
    public static async Task<Declaration?> ExcusingAsync(string repository, string baseline)
    {
        var path = Path.Combine(repository, FileName);
        var current = File.Exists(path) ? Parse(await File.ReadAllTextAsync(path)) : [];
        if (current.Count == 0)
        {
            return null;
        }

        var (found, before) = await Git(repository, "show", $"{baseline}:{FileName}");
        var declaredBefore = found == 0 ? Parse(before) : [];
        foreach (var declaration in current)
        {
            if (declaredBefore.Any(d => d.Commit == declaration.Commit))
            {
                continue;
            }

            var (exists, _) = await Git(repository, "cat-file", "-e", $"{declaration.Commit}^{{commit}}");
            if (exists != 0)
            {
                throw new InvalidOperationException($"{FileName} names {declaration.Commit}, which is not a commit of this repository");
            }

            if (await IsAncestorAsync(repository, declaration.Commit, baseline) || await IsAncestorAsync(repository, baseline, declaration.Commit))
            {
                return declaration;
            }
        }

        return null;
    }

    private static async Task<bool> IsAncestorAsync(string repository, string ancestor, string descendant) =>
        (await Git(repository, "merge-base", "--is-ancestor", ancestor, descendant)).ExitCode == 0;

    private static Task<(int ExitCode, string Output)> Git(string directory, params string[] arguments) =>
        Command.RunAsync("git", directory, arguments);

    [GeneratedRegex(@"^([0-9a-fA-F]{7,40})\s+(ADR-[0-9]{4})\b")]
    private static partial Regex LinePattern();
}
