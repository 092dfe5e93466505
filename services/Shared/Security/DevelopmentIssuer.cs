using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Journey.Shared.Security;

/// <summary>
/// The local stand-in for the organisation's identity provider: an ECDSA P-256 key created once in
/// the data directory, which signs development tokens and validates them. It keeps the secure path
/// the easy one on a laptop; in production <see cref="AuthOptions.Authority"/> replaces it.
/// </summary>
public sealed class DevelopmentIssuer
{
    /// <summary>The key's file name inside the data directory.</summary>
    public const string KeyFileName = "development-signing-key.pem";

    private DevelopmentIssuer(ECDsaSecurityKey key, string issuer, string audience)
    {
        Key = key;
        Issuer = issuer;
        Audience = audience;
    }

    /// <summary>The signing key (also the validation key).</summary>
    public ECDsaSecurityKey Key { get; }

    /// <summary>The issuer tokens name.</summary>
    public string Issuer { get; }

    /// <summary>The audience tokens name.</summary>
    public string Audience { get; }

    /// <summary>Loads the key from <paramref name="dataDirectory"/>, creating it on first use (readable by the owner only).</summary>
    public static DevelopmentIssuer Open(string dataDirectory, string issuer, string audience)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, KeyFileName);
        var ecdsa = ECDsa.Create();
        if (!TryCreate(path, ecdsa))
        {
            ecdsa.ImportFromPem(ReadWhenComplete(path));
        }

        return new DevelopmentIssuer(new ECDsaSecurityKey(ecdsa) { KeyId = "journey-development" }, issuer, audience);
    }

    /// <summary>
    /// Creates the key file exclusively, so a host and a <c>journey token</c> (or two hosts) opening one
    /// folder at once end up with one key: a temporary file moved into place without overwriting is an
    /// existence check followed by a rename on Linux, and both movers won that race.
    /// </summary>
    private static bool TryCreate(string path, ECDsa ecdsa)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        FileStream file;
        try
        {
            file = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }

        using (file)
        {
            ecdsa.GenerateKey(ECCurve.NamedCurves.nistP256);
            file.Write(Encoding.ASCII.GetBytes(ecdsa.ExportPkcs8PrivateKeyPem()));
            file.Flush(flushToDisk: true);
        }

        return true;
    }

    /// <summary>Reads a key file another process may still be writing, waiting a little for it to be whole.</summary>
    private static string ReadWhenComplete(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            try
            {
                var pem = File.ReadAllText(path);
                using var probe = ECDsa.Create();
                probe.ImportFromPem(pem);
                return pem;
            }
            catch (Exception e) when (e is IOException or ArgumentException or CryptographicException && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                throw new DevelopmentKeyException($"The development signing key '{path}' holds no usable key (a process stopped while writing it?). Delete the file and a new key is created at the next start; tokens signed with the old key stop working.", e);
            }
        }
    }

    /// <summary>Signs a token for <paramref name="subject"/> with <paramref name="scopes"/>, valid for <paramref name="lifetime"/>.</summary>
    public string CreateToken(string subject, IEnumerable<string> scopes, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", string.Join(' ', scopes))]),
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.EcdsaSha256),
        });
    }
}

/// <summary>The development key file exists but holds no usable key; the message says how to recover.</summary>
public sealed class DevelopmentKeyException(string message, Exception inner) : Exception(message, inner);
