using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Journey.Shared.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Privacy;

/// <summary>Personal-data settings (section <c>Journey:Privacy</c>).</summary>
public sealed class PrivacyOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Privacy";

    /// <summary>
    /// The HMAC key for personal identifiers, base64, at least 32 bytes, the same for every service
    /// so an address hashes alike everywhere. Empty: a key is created once in the data directory
    /// (fine for one host; a cluster must set it from a Secret).
    /// </summary>
    [MinLength(44, ErrorMessage = "Journey:Privacy:IdentifierHashKey must be base64 of at least 32 bytes.")]
    public string? IdentifierHashKey { get; set; }

    /// <summary>
    /// The AES-256 key (base64, 32 bytes) for personal values kept in clear form at rest. Empty: a
    /// key is created once in the data directory.
    /// </summary>
    [MinLength(44, ErrorMessage = "Journey:Privacy:EncryptionKey must be base64 of 32 bytes.")]
    public string? EncryptionKey { get; set; }

    /// <summary>
    /// How long after an erasure was requested an event carrying one of the person's identifiers is
    /// still dropped by every service (see <see cref="ErasureTombstones"/>). It must exceed the longest
    /// any service may take to handle the erasure, since what a service publishes about the person
    /// until then is stamped after the request. A person who comes back with the same identifiers
    /// within it is recorded by the touchpoint service but not profiled or personalised until it has
    /// passed. Default 1 hour; 0 to 7 days.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan ErasureSettleWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long, after <see cref="ErasureSettleWindow"/>, each service keeps an erasure's tombstones
    /// (keyed hashes of the identifiers). It must exceed the longest an event can wait for delivery:
    /// broker redelivery and retention, and any replay of dead letters. Default 30 days; 1 to 3,650 days.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ErasureTombstoneRetention { get; set; } = TimeSpan.FromDays(30);
}

/// <summary>Start-up validation of <see cref="PrivacyOptions"/>.</summary>
[OptionsValidator]
public sealed partial class PrivacyOptionsValidator : IValidateOptions<PrivacyOptions>;

/// <summary>
/// With MongoDB several replicas serve one service, and every service must hash an address alike:
/// a key created on one pod's disk would differ per pod and be lost with it, so each key this process
/// uses must come from configuration (a Secret). A key is required only where it is used: the
/// identifier hash key when <see cref="IdentifierHasher"/> is registered (every service), the
/// encryption key when <see cref="PersonalDataProtector"/> is (services that call
/// <see cref="PrivacyRegistration.AddPersonalDataProtection"/>), so a Deployment holds no key it
/// does not need. It reads which store is configured straight from the storage section, unvalidated:
/// a wrong storage setting is that section's failure, and reading the validated options here would
/// report it a second time, as this section's, and hide this section's own.
/// </summary>
internal sealed class SharedKeysRule(IConfiguration configuration, IServiceProviderIsService registered) : IValidateOptions<PrivacyOptions>
{
    public ValidateOptionsResult Validate(string? name, PrivacyOptions options)
    {
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        if (storage.EffectiveProvider != StorageProvider.Mongo)
        {
            return ValidateOptionsResult.Success;
        }

        var missing = new[]
        {
            ("Journey:Privacy:IdentifierHashKey", typeof(IdentifierHasher), options.IdentifierHashKey),
            ("Journey:Privacy:EncryptionKey", typeof(PersonalDataProtector), options.EncryptionKey),
        }
            .Where(k => registered.IsService(k.Item2) && string.IsNullOrWhiteSpace(k.Item3)).Select(k => k.Item1).ToList();
        return missing.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{string.Join(" and ", missing)} must be set when Journey:Storage:Provider is Mongo: every replica and service that uses a key must share it (mount it from a Secret).");
    }
}

/// <summary>
/// Turns personal identifiers (e-mail, phone) into keyed hashes: HMAC-SHA256 under the platform key,
/// as 64 lower-case hex characters. The same address gives the same hash in every service, and a
/// store dump without the key reveals nothing.
/// </summary>
public sealed class IdentifierHasher
{
    private readonly byte[] _key;

    /// <summary>Uses <paramref name="key"/> (at least 32 bytes).</summary>
    public IdentifierHasher(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The identifier hash key must be at least 32 bytes.", nameof(key));
        }

        _key = key;
    }

    /// <summary>
    /// This thread's HMAC for the key it last hashed with. The one-shot HMAC sets up the key again on
    /// every call, which is most of the cost of hashing a short identifier (a consent batch hashes
    /// one per check); a kept instance only resets.
    /// </summary>
    [ThreadStatic]
    private static (byte[] Key, IncrementalHash Hmac)? t_hmac;

    /// <summary>The hash of an already normalised value.</summary>
    public string Hash(string normalized)
    {
        if (t_hmac is not { } kept || !ReferenceEquals(kept.Key, _key))
        {
            t_hmac?.Hmac.Dispose();
            kept = (_key, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key));
            t_hmac = kept;
        }

        Span<byte> digest = stackalloc byte[32];
        kept.Hmac.AppendData(Encoding.UTF8.GetBytes(normalized));
        kept.Hmac.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>The hash of an e-mail address after <see cref="NormalizeEmail"/>.</summary>
    public string HashEmail(string email) => Hash(NormalizeEmail(email));

    /// <summary>The hash of a phone number after <see cref="NormalizePhone"/>.</summary>
    public string HashPhone(string phone) => Hash(NormalizePhone(phone));

    /// <summary>Trimmed and lower-cased: addresses differing only in case are one person.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// <summary>Digits with a leading '+' kept: spaces, dashes and brackets do not make another number.</summary>
    public static string NormalizePhone(string phone)
    {
        var builder = new StringBuilder(phone.Length);
        foreach (var c in phone.Trim())
        {
            if (char.IsAsciiDigit(c) || (c == '+' && builder.Length == 0))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="email"/> looks like an address: one '@' with text on both sides and a dot in the domain.</summary>
    public static bool IsPlausibleEmail(string email)
    {
        var normalized = NormalizeEmail(email);
        var at = normalized.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == normalized.LastIndexOf('@') && normalized.IndexOf('.', at) > at + 1 && !normalized.EndsWith('.') && normalized.Length <= 254;
    }

    /// <summary>Whether <paramref name="phone"/> has 6 to 15 digits after normalising (E.164 allows at most 15).</summary>
    public static bool IsPlausiblePhone(string phone)
    {
        var digits = NormalizePhone(phone).TrimStart('+');
        return digits.Length is >= 6 and <= 15;
    }
}

/// <summary>Keys for personal data: from configuration, or created once in the data directory.</summary>
public static class PrivacyKeys
{
    /// <summary>The identifier hash key.</summary>
    public static byte[] IdentifierHashKey(PrivacyOptions privacy, StorageOptions storage) =>
        Load(privacy.IdentifierHashKey, storage.DataDirectory, "identifier-hash.key", 32);

    /// <summary>The encryption key for personal values at rest.</summary>
    public static byte[] EncryptionKey(PrivacyOptions privacy, StorageOptions storage) =>
        Load(privacy.EncryptionKey, storage.DataDirectory, "encryption.key", 32);

    private static byte[] Load(string? configured, string dataDirectory, string fileName, int length)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Convert.FromBase64String(configured);
        }

        var text = KeyFile.ReadOrCreate(
            Path.Combine(dataDirectory, fileName),
            () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(length)),
            text => IsKey(text, length),
            "It cannot be replaced without losing what it protects: restore it from the data directory's backup.");
        return Convert.FromBase64String(text.Trim());
    }

    private static bool IsKey(string text, int length)
    {
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text.Trim(), bytes, out var written) && written >= length;
    }
}

/// <summary>
/// AES-256-GCM for personal values a service must keep in clear form (e.g. a known customer's
/// e-mail address): a random 12-byte nonce per value, stored as base64 of nonce, tag and ciphertext.
/// </summary>
public sealed class PersonalDataProtector(byte[] key)
{
    /// <summary>Encrypts <paramref name="plaintext"/>.</summary>
    public string Protect(string plaintext)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[12 + 16 + data.Length];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(nonce, data, output.AsSpan(28), output.AsSpan(12, 16));
        return Convert.ToBase64String(output);
    }

    /// <summary>Decrypts a value made by <see cref="Protect"/>; throws <see cref="CryptographicException"/> when it was tampered with.</summary>
    public string Unprotect(string protectedValue)
    {
        var input = Convert.FromBase64String(protectedValue);
        var plaintext = new byte[input.Length - 28];
        using var aes = new AesGcm(key, 16);
        aes.Decrypt(input.AsSpan(0, 12), input.AsSpan(28), input.AsSpan(12, 16), plaintext);
        return Encoding.UTF8.GetString(plaintext);
    }
}
