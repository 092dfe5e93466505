using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Shared.Tests.Storage;

public sealed class KeyFileTests
{
    [Fact]
    public void ReadOrCreate_WhenSeveralCreateInAFreshFolderAtOnce_AllReadTheOneSecretOnDisk()
    {
        // Hosts, `journey token` or tests opening a new data folder together; the race is narrow, so run it many times.
        for (var round = 0; round < 200; round++)
        {
            using var folder = new ScratchDirectory("journey-key-");
            var path = Path.Combine(folder.Path, "secret.key");
            using var start = new Barrier(4);
            var secrets = new string[4];
            var openers = Enumerable.Range(0, secrets.Length).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                secrets[i] = KeyFile.ReadOrCreate(path, () => $"secret-{i}", IsWhole, "restore it");
            })).ToList();
            openers.ForEach(t => t.Start());
            openers.ForEach(t => t.Join());

            var onDisk = File.ReadAllText(path);
            Assert.All(secrets, secret => Assert.Equal(onDisk, secret));
        }
    }

    [Fact]
    public void ReadOrCreate_CreatesTheFileReadableByTheOwnerOnlyAndThenReadsIt()
    {
        using var folder = new ScratchDirectory("journey-key-");
        var path = Path.Combine(folder.Path, "nested", "secret.key");

        var created = KeyFile.ReadOrCreate(path, () => "secret-1", IsWhole, "restore it");
        var read = KeyFile.ReadOrCreate(path, () => "secret-2", IsWhole, "restore it");

        Assert.Equal("secret-1", created);
        Assert.Equal("secret-1", read);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void ReadOrCreate_WhenTheFileNeverBecomesWhole_NamesItWithTheAdvice()
    {
        using var folder = new ScratchDirectory("journey-key-");
        var path = Path.Combine(folder.Path, "secret.key");
        File.WriteAllText(path, "secr");

        var error = Assert.Throws<KeyFileException>(() => KeyFile.ReadOrCreate(path, () => "secret-1", IsWhole, "Restore it from the backup."));

        Assert.Contains(path, error.Message);
        Assert.EndsWith("Restore it from the backup.", error.Message);
        Assert.Equal("secr", File.ReadAllText(path));
    }

    private static bool IsWhole(string text) => text.StartsWith("secret-", StringComparison.Ordinal);
}
