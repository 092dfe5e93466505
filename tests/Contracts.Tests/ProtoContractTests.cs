using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Contracts.Tests;

/// <summary>The proto contracts are the public API: lint-clean, versioned, and never broken in place.</summary>
public sealed partial class ProtoContractTests
{
    private static readonly string Protos = Path.Combine(Repository.Root, "protos");

    [Fact]
    public async Task Lint_WithStandardRules_IsClean()
    {
        var (exitCode, output) = await Buf.RunAsync(Protos, "lint");

        Assert.True(exitCode == 0, $"buf lint found problems:\n{output}");
    }

    [Fact]
    public async Task Breaking_AgainstTheMainline_FindsNoBreakingChange()
    {
        var baseline = await BaselineAsync();
        if (baseline is null)
        {
            // First contract on this history: nothing earlier exists to break.
            Assert.False(await HasCommittedProtosAsync("HEAD~1"));
            return;
        }

        if (await DeclaredBreaks.ExcusingAsync(Repository.Root, baseline) is { } declared)
        {
            // A deliberate break, declared in protos/BREAKING with its decision record, is excused for
            // the one range that declares it; the next change is compared with the new contract.
            Assert.Matches(@"^ADR-\d{4}$", declared.Adr);
            Assert.True(AdrExists(declared.Adr), $"{DeclaredBreaks.FileName} names {declared.Adr}, which has no page under docs/adr");
            return;
        }

        var (exitCode, output) = await Buf.RunAsync(Repository.Root, "breaking", "protos", "--against", $".git#ref={baseline},subdir=protos");

        Assert.True(exitCode == 0, $"buf breaking against {baseline} found breaking changes (put them in a new v2 package, or declare a deliberate break in {DeclaredBreaks.FileName} with its ADR):\n{output}");
    }

    [Fact]
    public async Task DeclaredBreak_ExcusesOnlyTheRangeThatDeclaresIt()
    {
        // Proves the declaration cannot hide a later break: a scratch history where v1 is broken once
        // with a declaration (excused), then broken again without a new one (detected).
        var scratch = Directory.CreateTempSubdirectory("journey-buf-").FullName;
        try
        {
            await Git(scratch, "init", "-q", "-b", "main");
            Directory.CreateDirectory(Path.Combine(scratch, "protos"));
            await File.WriteAllTextAsync(Path.Combine(scratch, "protos", "buf.yaml"), "version: v2\nbreaking:\n  use: [FILE]\n");
            var proto = Path.Combine(scratch, "protos", "thing.proto");
            await File.WriteAllTextAsync(proto, "syntax = \"proto3\";\npackage scratch.v1;\nmessage Thing {\n  string id = 1;\n  string name = 2;\n  string note = 3;\n}\n");
            await Commit(scratch, "v1");
            var superseded = (await Git(scratch, "rev-parse", "HEAD")).Output.Trim();

            await File.WriteAllTextAsync(proto, "syntax = \"proto3\";\npackage scratch.v1;\nmessage Thing {\n  string id = 1;\n  string note = 3;\n}\n");
            await File.WriteAllTextAsync(Path.Combine(scratch, DeclaredBreaks.FileName), $"# deliberate breaks\n{superseded} ADR-0001 name removed\n");
            Assert.NotNull(await DeclaredBreaks.ExcusingAsync(scratch, superseded));
            await Commit(scratch, "the declared break");
            var declaredAt = (await Git(scratch, "rev-parse", "HEAD")).Output.Trim();

            await File.WriteAllTextAsync(proto, "syntax = \"proto3\";\npackage scratch.v1;\nmessage Thing {\n  string id = 1;\n}\n");

            Assert.Null(await DeclaredBreaks.ExcusingAsync(scratch, declaredAt));
            var (exitCode, output) = await Buf.RunAsync(scratch, "breaking", "protos", "--against", $".git#ref={declaredAt},subdir=protos");
            Assert.NotEqual(0, exitCode);
            Assert.Contains("note", output);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void DeclaredBreaks_WhenALineIsMalformed_Throws()
    {
        Assert.Empty(DeclaredBreaks.Parse("# none yet\n\n"));
        Assert.Equal(new DeclaredBreaks.Declaration("255ee15", "ADR-0024"), Assert.Single(DeclaredBreaks.Parse("255EE15 ADR-0024 one API style\n")));
        Assert.Throws<FormatException>(() => DeclaredBreaks.Parse("main ADR-0024\n"));
        Assert.Throws<FormatException>(() => DeclaredBreaks.Parse("255ee15 the API break\n"));
    }

    private static bool AdrExists(string adr) =>
        Directory.GetFiles(Path.Combine(Repository.Root, "docs", "adr"), $"{adr[4..]}-*.md").Length == 1;

    private static async Task Commit(string directory, string message)
    {
        await Git(directory, "add", ".");
        await Git(directory, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", message);
    }

    [Fact]
    public async Task Breaking_WhenAFieldIsRemoved_IsDetected()
    {
        // Proves the check above can fail: a scratch history where a field disappears.
        var scratch = Directory.CreateTempSubdirectory("journey-buf-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(scratch, "buf.yaml"), "version: v2\nbreaking:\n  use: [FILE]\n");
            var proto = Path.Combine(scratch, "thing.proto");
            await File.WriteAllTextAsync(proto, "syntax = \"proto3\";\npackage scratch.v1;\nmessage Thing {\n  string id = 1;\n  string name = 2;\n}\n");
            await Git(scratch, "init", "-q", "-b", "main");
            await Git(scratch, "add", ".");
            await Git(scratch, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "v1");
            await File.WriteAllTextAsync(proto, "syntax = \"proto3\";\npackage scratch.v1;\nmessage Thing {\n  string id = 1;\n}\n");

            var (exitCode, output) = await Buf.RunAsync(scratch, "breaking", "--against", ".git#branch=main");

            Assert.NotEqual(0, exitCode);
            Assert.Contains("name", output);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void EveryProto_HasVersionedJourneyPackageAndCSharpNamespace()
    {
        // protos/google holds the google.api annotation protos, vendored unchanged.
        var files = Directory.GetFiles(Path.Combine(Protos, "journey"), "*.proto", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var relative = Path.GetRelativePath(Protos, file).Replace('\\', '/');
            var package = PackagePattern().Match(text);
            Assert.True(package.Success, $"{relative}: no package statement");
            Assert.Matches(@"^journey\.[a-z]+\.v[0-9]+$", package.Groups[1].Value);
            Assert.Equal(Path.GetDirectoryName(relative)!.Replace('/', '.').Replace('\\', '.'), package.Groups[1].Value);
            Assert.True(NamespacePattern().IsMatch(text), $"{relative}: csharp_namespace is not set");
        }
    }

    [Fact]
    public void EveryProto_MarksRequiredAndOutputOnlyFieldsWithFieldBehavior_NotInProse()
    {
        var prose = new List<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Protos, "journey"), "*.proto", SearchOption.AllDirectories))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (FieldBehaviorProse().IsMatch(lines[i]))
                {
                    prose.Add($"{Path.GetRelativePath(Protos, file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(prose.Count == 0, "use [(google.api.field_behavior) = REQUIRED / OUTPUT_ONLY] instead of saying it in a comment:\n" + string.Join('\n', prose));
    }

    /// <summary>The contract to compare with: where this branch left main, or main's previous commit when on main.</summary>
    private static async Task<string?> BaselineAsync()
    {
        if (Environment.GetEnvironmentVariable("JOURNEY_BUF_AGAINST") is { Length: > 0 } configured)
        {
            return configured;
        }

        var (_, branch) = await Git(Repository.Root, "rev-parse", "--abbrev-ref", "HEAD");
        string candidate;
        if (branch.Trim() != "main" && (await Git(Repository.Root, "rev-parse", "--verify", "-q", "main")).ExitCode == 0)
        {
            candidate = (await Git(Repository.Root, "merge-base", "HEAD", "main")).Output.Trim();
        }
        else
        {
            var (exitCode, parent) = await Git(Repository.Root, "rev-parse", "--verify", "-q", "HEAD~1");
            if (exitCode != 0)
            {
                return null;
            }

            candidate = parent.Trim();
        }

        return await HasCommittedProtosAsync(candidate) ? candidate : null;
    }

    private static async Task<bool> HasCommittedProtosAsync(string commit) =>
        (await Git(Repository.Root, "cat-file", "-e", $"{commit}:protos/buf.yaml")).ExitCode == 0;

    private static Task<(int ExitCode, string Output)> Git(string directory, params string[] arguments) =>
        Command.RunAsync("git", directory, arguments);

    [GeneratedRegex(@"^\s*//.*\b(Required\.|Output only)")]
    private static partial Regex FieldBehaviorProse();

    [GeneratedRegex(@"^package\s+([a-z0-9_.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex PackagePattern();

    [GeneratedRegex(@"option\s+csharp_namespace\s*=\s*""Journey\.[A-Za-z]+\.V[0-9]+""\s*;")]
    private static partial Regex NamespacePattern();
}
