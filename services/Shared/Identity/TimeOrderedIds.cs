using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Journey.Shared.Identity;

/// <summary>
/// Time-ordered ids (UUID version 7, RFC 9562) for events, profiles and records. <see cref="Guid.CreateVersion7(DateTimeOffset)"/>
/// asks the operating system for randomness on every call; on the event paths, which make one or two ids
/// per event, that system call cost several per cent of the handler. Here each thread draws its random
/// bits from a block of cryptographic randomness refilled 4 KiB at a time, so ids stay unguessable.
/// </summary>
public static class TimeOrderedIds
{
    private const int BlockSize = 4096;
    private const int IdSize = 16;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_left;

    /// <summary>A new version 7 id whose first 48 bits are <paramref name="at"/> in Unix milliseconds.</summary>
    public static Guid Next(DateTimeOffset at)
    {
        var milliseconds = at.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(at));
        var block = t_block ??= new byte[BlockSize];
        if (t_left < IdSize)
        {
            RandomNumberGenerator.Fill(block);
            t_left = BlockSize;
        }

        Span<byte> id = stackalloc byte[IdSize];
        block.AsSpan(BlockSize - t_left, IdSize).CopyTo(id);
        t_left -= IdSize;

        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, milliseconds);
        time[2..].CopyTo(id);
        id[6] = (byte)(0x70 | (id[6] & 0x0F));
        id[8] = (byte)(0x80 | (id[8] & 0x3F));
        return new Guid(id, bigEndian: true);
    }
}
