using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Journey.Profile.Domain;

/// <summary>
/// Laplace noise for audience descriptions, so that two descriptions whose memberships differ by one
/// person do not subtract to that person. Every count and every affinity sum gets noise of scale
/// <c>1 / ε</c> (one person changes a count by at most 1 and an affinity sum by at most 1, since an
/// affinity lies in [0, 1]): ε-differential privacy per figure. The noise is drawn from a keyed hash
/// of the membership and the figure's name, so describing the same membership again gives the same
/// figures, and asking again and averaging removes nothing; only a different membership draws
/// different noise.
/// </summary>
public sealed class AudienceNoise
{
    private readonly byte[] _key;
    private readonly double _scale;

    /// <summary>Noise of scale <c>1 / <paramref name="epsilon"/></c> drawn under <paramref name="key"/> (secret, at least 32 bytes).</summary>
    public AudienceNoise(byte[] key, double epsilon)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(key.Length, 32);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(epsilon);
        _key = key;
        _scale = 1 / epsilon;
    }

    /// <summary>
    /// Half the width of the interval a count falls in around its true value with probability 95 %:
    /// <c>ln(20) / ε</c>.
    /// </summary>
    public double CountError95 => Math.Log(20) * _scale;

    /// <summary>A member's contribution to the membership fingerprint: a keyed 64-bit hash of its id.</summary>
    public ulong MemberHash(string profileId)
    {
        Span<byte> digest = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(profileId), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>
    /// The noise for <paramref name="figure"/> of the membership whose member hashes add up (modulo
    /// 2^64) to <paramref name="fingerprint"/>. A keyed sum cannot be steered by someone who picks the
    /// members, as a sum of public hashes could.
    /// </summary>
    public double Draw(ulong fingerprint, string figure)
    {
        Span<byte> digest = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"audience-noise|{fingerprint:x16}|{figure}"), digest);
        var bits = BinaryPrimitives.ReadUInt64LittleEndian(digest) >> 11;
        var uniform = ((bits + 0.5) / (1UL << 53)) - 0.5; // (-0.5, 0.5), never an endpoint
        return -_scale * Math.Sign(uniform) * Math.Log(1 - (2 * Math.Abs(uniform)));
    }
}
