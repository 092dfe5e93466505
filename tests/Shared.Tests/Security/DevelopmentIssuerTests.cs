using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Shared.Tests.Security;

public sealed class DevelopmentIssuerTests
{
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
