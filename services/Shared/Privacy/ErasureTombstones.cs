using System.Globalization;
using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Privacy;

/// <summary>
/// What a service keeps of an erased identifier: a keyed hash of it, never the identifier or the hash
/// the platform keys the person by, and until when an event carrying it is dropped.
/// </summary>
/// <param name="Key">HMAC-SHA256 under the platform key of <c>erased:{kind}:{value}</c>, 64 hex characters (see <see cref="ErasureTombstones.Key(int, string)"/>).</param>
/// <param name="BlocksUntil">An event stamped at or before this instant that carries the identifier is dropped.</param>
/// <param name="ExpiresAt">When the tombstone itself is removed.</param>
public readonly record struct ErasureTombstone(string Key, DateTimeOffset BlocksUntil, DateTimeOffset ExpiresAt);

/// <summary>
/// An erasure must stay done: an event stamped before it (an interaction still queued, the consent
/// withdrawals the erasure itself publishes, a snapshot a service took of the person before it had
/// erased them) may be delivered after a service has erased the person, and would bring them back.
/// Each service therefore keeps, with its erasure, a tombstone per erased identifier, and every handler
/// that can create a person or link an identifier drops an event that carries a tombstoned identifier
/// and was stamped (the envelope's <c>occurred_at</c>) no later than the request time plus
/// <see cref="PrivacyOptions.ErasureSettleWindow"/>. The window covers what another service published
/// about the person after the request but before it handled the erasure itself. Tombstones go
/// <see cref="PrivacyOptions.ErasureTombstoneRetention"/> after that (ADR 0019).
/// </summary>
public sealed class ErasureTombstones(IdentifierHasher hasher, IOptions<PrivacyOptions> options)
{
    /// <summary>The profile-id identifier kind, as numbered in journey.common.v1.IdentifierKind.</summary>
    private const int ProfileIdKind = 7;

    private const string ProfilePrefix = "profiles/";

    /// <summary>
    /// The tombstone key of one identifier: <paramref name="kind"/> as numbered in
    /// journey.common.v1.IdentifierKind, and <paramref name="value"/> as events carry it (e-mail and
    /// phone already hashed; a profile id with or without its <c>profiles/</c> prefix).
    /// </summary>
    public string Key(int kind, string value)
    {
        if (kind == ProfileIdKind && value.StartsWith(ProfilePrefix, StringComparison.Ordinal))
        {
            value = value[ProfilePrefix.Length..];
        }

        return hasher.Hash(string.Create(CultureInfo.InvariantCulture, $"erased:{kind}:{value}"));
    }

    /// <summary>The tombstone key of an identifier written <c>{kind}:{value}</c>, the form the stores key identifiers by.</summary>
    public string Key(string kindAndValue)
    {
        var colon = kindAndValue.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && int.TryParse(kindAndValue.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var kind)
            ? Key(kind, kindAndValue[(colon + 1)..])
            : hasher.Hash("erased:" + kindAndValue);
    }

    /// <summary>The tombstones of an erasure requested at <paramref name="requestedAt"/>, one per distinct key.</summary>
    public IReadOnlyList<ErasureTombstone> For(IEnumerable<string> keys, DateTimeOffset requestedAt)
    {
        // Stores keep milliseconds: rounded up, an event stamped in the last millisecond stays blocked.
        var settled = requestedAt + options.Value.ErasureSettleWindow;
        var partial = settled.Ticks % TimeSpan.TicksPerMillisecond;
        settled = partial == 0 ? settled : settled.AddTicks(TimeSpan.TicksPerMillisecond - partial);
        var expires = settled + options.Value.ErasureTombstoneRetention;
        return [.. keys.Distinct(StringComparer.Ordinal).Select(k => new ErasureTombstone(k, settled, expires))];
    }

    /// <summary>
    /// Whether an event stamped at <paramref name="stampedAt"/> carrying <paramref name="keys"/> is
    /// dropped, given the tombstones found for them (key to <see cref="ErasureTombstone.BlocksUntil"/>).
    /// </summary>
    public static bool Blocks(IReadOnlyDictionary<string, DateTimeOffset> found, IEnumerable<string> keys, DateTimeOffset stampedAt)
    {
        if (found.Count == 0)
        {
            return false;
        }

        foreach (var key in keys)
        {
            if (found.TryGetValue(key, out var until) && stampedAt <= until)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Throws <see cref="ErasedIdentifiersException"/> when a tombstone blocks any of <paramref name="checks"/>,
    /// reading the tombstones of their keys through <paramref name="findAsync"/> (the store's own
    /// transaction); reads nothing when there is nothing to check.
    /// </summary>
    public static async Task ThrowIfBlockedAsync(IReadOnlyList<ErasureCheck> checks, Func<IEnumerable<string>, Task<IReadOnlyDictionary<string, DateTimeOffset>>> findAsync)
    {
        if (checks.Count == 0)
        {
            return;
        }

        var found = await findAsync(checks.Select(c => c.Key));
        if (checks.Any(c => found.TryGetValue(c.Key, out var until) && c.StampedAt <= until))
        {
            throw new ErasedIdentifiersException(found);
        }
    }
}

/// <summary>
/// A write carried identifiers that erasure tombstones block for some of its events; nothing was
/// written. The use case drops those events and writes the rest.
/// </summary>
/// <param name="found">The tombstones found for the write's identifiers: key to <see cref="ErasureTombstone.BlocksUntil"/>.</param>
public sealed class ErasedIdentifiersException(IReadOnlyDictionary<string, DateTimeOffset> found)
    : DomainException(ErrorKind.Conflict, "Some events carry identifiers of an erased person; write again without them.", reason: ErrorReasons.IdentifiersErased)
{
    /// <summary>The tombstones found: key to <see cref="ErasureTombstone.BlocksUntil"/>.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Found { get; } = found;
}

/// <summary>One identifier a write is about to store, and the earliest stamp of the events that carry it.</summary>
/// <param name="Key">The tombstone key (<see cref="ErasureTombstones.Key(int, string)"/>).</param>
/// <param name="StampedAt">The earliest <c>occurred_at</c> of the events carrying it.</param>
public readonly record struct ErasureCheck(string Key, DateTimeOffset StampedAt)
{
    /// <summary>One check per key, at the earliest stamp of the events carrying it.</summary>
    public static IReadOnlyList<ErasureCheck> Earliest(IEnumerable<(IEnumerable<string> Keys, DateTimeOffset StampedAt)> events)
    {
        var earliest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var (keys, stampedAt) in events)
        {
            foreach (var key in keys)
            {
                if (!earliest.TryGetValue(key, out var known) || stampedAt < known)
                {
                    earliest[key] = stampedAt;
                }
            }
        }

        return [.. earliest.Select(e => new ErasureCheck(e.Key, e.Value))];
    }
}
