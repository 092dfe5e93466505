using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Shared.Tests.Security;

public sealed class DevelopmentIssuerTests
{
    [Fact]
    public void Open_WhenSeveralOpenAFreshFolderAtOnce_AllGetTheOneKeyOnDisk()
    {
        // A host and `journey token` (or a test) opening a new data folder together; the race is narrow, so run it many times.
        for (var round = 0; round < 50; round++)
        {
            using var folder = new ScratchDirectory("journey-issuer-");
            using var start = new Barrier(4);
            var keys = new string[4];
            var openers = Enumerable.Range(0, keys.Length).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                keys[i] = PublicKey(DevelopmentIssuer.Open(folder.Path, "issuer", "audience"));
            })).ToList();
            openers.ForEach(t => t.Start());
            openers.ForEach(t => t.Join());

            var onDisk = PublicKey(DevelopmentIssuer.Open(folder.Path, "issuer", "audience"));
            Assert.All(keys, key => Assert.Equal(onDisk, key));
        }
    }

    [Fact]
    public void Open_WhenTheKeyFileExists_LoadsItAndKeepsItOwnerOnly()
    {
        using var folder = new ScratchDirectory("journey-issuer-");
        var first = DevelopmentIssuer.Open(folder.Path, "issuer", "audience");

        var again = DevelopmentIssuer.Open(folder.Path, "issuer", "audience");

        Assert.Equal(PublicKey(first), PublicKey(again));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder.Path, DevelopmentIssuer.KeyFileName)));
        }
    }

    [Fact]
    public void Open_WhenTheKeyFileIsEmpty_SaysToDeleteIt()
    {
        using var folder = new ScratchDirectory("journey-issuer-");
        File.WriteAllText(Path.Combine(folder.Path, DevelopmentIssuer.KeyFileName), "");

        var error = Assert.Throws<KeyFileException>(() => DevelopmentIssuer.Open(folder.Path, "issuer", "audience"));

        Assert.Contains(DevelopmentIssuer.KeyFileName, error.Message);
        Assert.Contains("Delete the file", error.Message);
    }

    private static string PublicKey(DevelopmentIssuer issuer) => Convert.ToBase64String(issuer.Key.ECDsa.ExportSubjectPublicKeyInfo());
}
