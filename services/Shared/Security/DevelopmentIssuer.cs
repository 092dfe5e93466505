using System.Security.Claims;
using System.Security.Cryptography;
using Journey.Shared.Storage;
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
        var ecdsa = ECDsa.Create();
        var pem = KeyFile.ReadOrCreate(
            Path.Combine(dataDirectory, KeyFileName),
            () =>
            {
                ecdsa.GenerateKey(ECCurve.NamedCurves.nistP256);
                return ecdsa.ExportPkcs8PrivateKeyPem();
            },
            IsKey,
            "Delete the file and a new key is created at the next start; tokens signed with the old key stop working.");
        ecdsa.ImportFromPem(pem);
        return new DevelopmentIssuer(new ECDsaSecurityKey(ecdsa) { KeyId = "journey-development" }, issuer, audience);
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

    private static bool IsKey(string pem)
    {
        try
        {
            using var probe = ECDsa.Create();
            probe.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return false;
        }
    }
}
