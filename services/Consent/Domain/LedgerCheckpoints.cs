using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Journey.Consent.Domain;

/// <summary>A subject's chain head as a checkpoint covers it.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="Length">Records in its chain then.</param>
/// <param name="Hash">The hash of its record at <paramref name="Length"/>.</param>
public readonly record struct CheckpointLeaf(Guid Subject, long Length, string Hash)
{
    /// <summary>The bucket the leaf hashes into.</summary>
    public int Bucket => LedgerCheckpoints.BucketOf(Subject);
}

/// <summary>A subject whose stored head is not the one the latest checkpoint covers.</summary>
/// <param name="Subject">The subject.</param>
/// <param name="Head">Its head now.</param>
/// <param name="Covered">The head the checkpoints cover, or null when none does yet.</param>
public readonly record struct HeadChange(Guid Subject, ChainHead Head, CheckpointLeaf? Covered);

/// <summary>
/// A signed statement of every covered chain head (see <see cref="LedgerCheckpoints"/>).
/// </summary>
/// <param name="Number">1, 2, 3, ... in creation order.</param>
/// <param name="CreatedAt">When it was made (millisecond precision).</param>
/// <param name="Subjects">Subjects covered.</param>
/// <param name="Records">Records of their chains, summed.</param>
/// <param name="Root">SHA-256 over the bucket hashes, lower-case hex.</param>
/// <param name="PreviousStatementHash">SHA-256 of the previous checkpoint's statement, hex; empty for the first.</param>
/// <param name="KeyId">SHA-256 of the signing key's SubjectPublicKeyInfo, hex.</param>
/// <param name="Signature">ECDSA P-256 SHA-256 signature of <see cref="Statement"/>, DER.</param>
/// <param name="BucketHashes">The 256 bucket hashes, 32 bytes each; kept for the latest checkpoint only, null for older ones.</param>
public sealed record LedgerCheckpoint(
    long Number, DateTimeOffset CreatedAt, long Subjects, long Records, string Root, string PreviousStatementHash, string KeyId, byte[] Signature, byte[]? BucketHashes)
{
    /// <summary>The bytes signed.</summary>
    public byte[] Statement => LedgerCheckpoints.Statement(Number, CreatedAt, Subjects, Records, Root, PreviousStatementHash, KeyId);
}

/// <summary>
/// Signed checkpoints over every subject's chain head, as Certificate Transparency signs tree heads.
/// A subject's head (chain length and last hash) is kept on its own row, so someone who rewrites a
/// record and that head together leaves a chain that verifies against itself. A checkpoint copies
/// every head outside those rows and commits to all of them under a signature: each subject hashes
/// into one of <see cref="Buckets"/> buckets (the first byte of SHA-256 of its id), a bucket hash
/// covers the bucket's heads ordered by subject, the root covers the bucket hashes in order, and
/// the signed statement covers the root and the previous statement. Chains only grow, so a chain
/// that no longer holds the covered hash at the covered length was rewritten or cut. Checking one
/// subject reads one bucket (about a 256th of the heads), not all of them.
/// </summary>
public static class LedgerCheckpoints
{
    /// <summary>Buckets the heads are hashed in.</summary>
    public const int Buckets = 256;

    /// <summary>Bytes of one bucket hash.</summary>
    public const int HashSize = 32;

    /// <summary>The signing algorithm, as the contract names it.</summary>
    public const string Algorithm = "ECDSA_P256_SHA256";

    /// <summary><c>checkpoints/{number}</c>.</summary>
    public static string Name(long number) => "checkpoints/" + number.ToString(CultureInfo.InvariantCulture);

    /// <summary>The number of <c>checkpoints/{number}</c>, or null for another shape.</summary>
    public static long? NumberOf(string name) =>
        ConsentNames.IdOf(name, "checkpoints") is { } id && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 ? number : null;

    /// <summary>The bucket of a subject.</summary>
    public static int BucketOf(Guid subject)
    {
        Span<byte> digest = stackalloc byte[HashSize];
        SHA256.HashData(Encoding.ASCII.GetBytes(subject.ToString()), digest);
        return digest[0];
    }

    /// <summary>The hash of a bucket's leaves, whatever order they come in.</summary>
    public static byte[] BucketHash(IEnumerable<CheckpointLeaf> leaves)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("journey-consent-bucket-v1\n"u8);
        foreach (var leaf in leaves.OrderBy(l => l.Subject.ToString(), StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.ASCII.GetBytes(FormattableString.Invariant($"{leaf.Subject}\t{leaf.Length}\t{leaf.Hash}\n")));
        }

        return hash.GetHashAndReset();
    }

    /// <summary>Bucket hashes of a ledger with no covered head.</summary>
    public static byte[] EmptyBuckets()
    {
        var empty = BucketHash([]);
        var all = new byte[Buckets * HashSize];
        for (var bucket = 0; bucket < Buckets; bucket++)
        {
            empty.CopyTo(all, bucket * HashSize);
        }

        return all;
    }

    /// <summary>The root over the bucket hashes, lower-case hex.</summary>
    public static string Root(ReadOnlySpan<byte> bucketHashes)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("journey-consent-root-v1\n"u8);
        hash.AppendData(bucketHashes);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The statement a checkpoint signs: UTF-8 lines joined by line feeds.</summary>
    public static byte[] Statement(long number, DateTimeOffset createdAt, long subjects, long records, string root, string previousStatementHash, string keyId) =>
        Encoding.UTF8.GetBytes(string.Join('\n',
            "journey-consent-checkpoint-v1",
            number.ToString(CultureInfo.InvariantCulture),
            createdAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            subjects.ToString(CultureInfo.InvariantCulture),
            records.ToString(CultureInfo.InvariantCulture),
            root,
            previousStatementHash,
            keyId));

    /// <summary>SHA-256 of a statement, lower-case hex: what the next checkpoint chains to.</summary>
    public static string StatementHash(LedgerCheckpoint checkpoint) => Convert.ToHexStringLower(SHA256.HashData(checkpoint.Statement));

    /// <summary>Whether a checkpoint is signed by <paramref name="signer"/>'s key and its stored bucket hashes still add up to its root.</summary>
    public static bool Verifies(LedgerCheckpoint checkpoint, CheckpointSigner signer) =>
        string.Equals(checkpoint.KeyId, signer.KeyId, StringComparison.Ordinal)
        && signer.Verify(checkpoint.Statement, checkpoint.Signature)
        && checkpoint.BucketHashes is { Length: Buckets * HashSize } buckets
        && string.Equals(Root(buckets), checkpoint.Root, StringComparison.Ordinal);

    /// <summary>The hash of one bucket within the stored bucket hashes.</summary>
    public static ReadOnlySpan<byte> StoredBucketHash(byte[] bucketHashes, int bucket) => bucketHashes.AsSpan(bucket * HashSize, HashSize);

    /// <summary>
    /// Compares a chain that verified against itself and its stored head with the head the latest
    /// checkpoint covers. <paramref name="leaf"/> is null when the checkpoint does not cover the
    /// subject (its chain began after it), which leaves the result as it was.
    /// </summary>
    public static ChainVerification Compare(ChainVerification walked, IReadOnlyList<ConsentRecord> chain, long checkpoint, CheckpointLeaf? leaf)
    {
        if (leaf is not { } covered)
        {
            return walked;
        }

        walked = walked with { Checkpoint = checkpoint, CheckpointLength = covered.Length };
        if (chain.Count < covered.Length)
        {
            return walked with { Break = ChainBreak.CheckpointMismatch, BrokenRecord = null, BrokenSequence = chain.Count + 1 };
        }

        var record = chain[(int)covered.Length - 1];
        return string.Equals(record.Hash, covered.Hash, StringComparison.Ordinal)
            ? walked
            : walked with { Break = ChainBreak.CheckpointMismatch, BrokenRecord = record, BrokenSequence = record.Sequence };
    }
}

/// <summary>
/// The key checkpoints are signed with: ECDSA on P-256 with SHA-256, signatures DER-encoded so
/// common tools (<c>openssl dgst -sha256 -verify</c>) check them with the public key alone.
/// </summary>
public sealed class CheckpointSigner : IDisposable
{
    private static readonly byte[] DerivationLabel = "journey-consent-checkpoint-signing-v1"u8.ToArray();
    private readonly ECDsa _key;

    private CheckpointSigner(ECDsa key)
    {
        _key = key;
        var spki = key.ExportSubjectPublicKeyInfo();
        KeyId = Convert.ToHexStringLower(SHA256.HashData(spki));
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
    }

    /// <summary>SHA-256 of the public key's DER SubjectPublicKeyInfo, lower-case hex.</summary>
    public string KeyId { get; }

    /// <summary>The public key, PEM.</summary>
    public string PublicKeyPem { get; }

    /// <summary>A signer for a PKCS#8 (or SEC 1) PEM private key on P-256; <see cref="ArgumentException"/> for anything else.</summary>
    public static CheckpointSigner FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            key.Dispose();
            throw new ArgumentException("it must be an EC private key in PEM (BEGIN PRIVATE KEY or BEGIN EC PRIVATE KEY).", nameof(pem), ex);
        }

        if (!key.ExportParameters(false).Curve.Oid.Value!.Equals(ECCurve.NamedCurves.nistP256.Oid.Value, StringComparison.Ordinal) || key.KeySize != 256)
        {
            key.Dispose();
            throw new ArgumentException("it must be on the P-256 curve (prime256v1).", nameof(pem));
        }

        return new CheckpointSigner(key);
    }

    /// <summary>
    /// A signer whose key is derived from <paramref name="secret"/> (HKDF-SHA256, then reduced into
    /// the curve's scalar range as FIPS 186-5 A.2.1 does), so every replica holding the secret signs
    /// with the same key without another secret to distribute.
    /// </summary>
    public static CheckpointSigner Derive(byte[] secret)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(secret.Length, 32, nameof(secret));
        var material = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 48, salt: [], info: DerivationLabel);
        var order = new BigInteger(Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"), isUnsigned: true, isBigEndian: true);
        var scalar = new BigInteger(material, isUnsigned: true, isBigEndian: true) % (order - 1) + 1;
        var d = new byte[32];
        scalar.TryWriteBytes(d.AsSpan(32 - scalar.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        var key = ECDsa.Create();
        key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
        return new CheckpointSigner(key);
    }

    /// <summary>Signs <paramref name="data"/>.</summary>
    public byte[] Sign(byte[] data) => _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>Whether <paramref name="signature"/> signs <paramref name="data"/> under this key.</summary>
    public bool Verify(byte[] data, byte[] signature) => _key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
