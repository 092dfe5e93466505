using System.Numerics;

namespace Journey.Consent.Domain;

/// <summary>The lawful basis of a purpose (GDPR art. 6(1)); numbers match the contract.</summary>
public enum LegalBasis
{
    /// <summary>Allowed only while a valid grant stands.</summary>
    Consent = 1,

    /// <summary>Allowed unless the person objected.</summary>
    LegitimateInterest = 2,

    /// <summary>Needed for a contract: always allowed.</summary>
    Contract = 3,

    /// <summary>Required by law: always allowed.</summary>
    LegalObligation = 4,
}

/// <summary>The answer when nobody has decided.</summary>
public enum DefaultDecision
{
    /// <summary>Opt-out.</summary>
    Allow = 1,

    /// <summary>Opt-in.</summary>
    Deny = 2,
}

/// <summary>Why a check answered as it did; numbers match the contract.</summary>
public enum DecisionReason
{
    /// <summary>A grant stands.</summary>
    Granted = 1,

    /// <summary>The person withdrew or objected.</summary>
    Withdrawn = 2,

    /// <summary>The grant outlived the purpose's validity.</summary>
    Expired = 3,

    /// <summary>The grant was given under a policy version below the purpose's minimum.</summary>
    PolicyOutdated = 4,

    /// <summary>Nobody decided: the purpose's default applies.</summary>
    NoAnswerDefault = 5,

    /// <summary>The purpose does not rest on consent.</summary>
    LegalBasisNotConsent = 6,
}

/// <summary>How a record came into the ledger; numbers match the contract.</summary>
public enum RecordOrigin
{
    /// <summary>Recorded or withdrawn by a caller.</summary>
    Direct = 1,

    /// <summary>Carried over from a merged subject because it was newer.</summary>
    Merge = 2,

    /// <summary>A withdrawal appended by an erasure.</summary>
    Erasure = 3,

    /// <summary>Recorded from a tracking source's message; the source record names the message.</summary>
    Tracking = 4,
}

/// <summary>Why a chain is broken; numbers match the contract.</summary>
public enum ChainBreak
{
    /// <summary>Intact.</summary>
    None = 0,

    /// <summary>A record's content no longer hashes to its stored hash.</summary>
    ContentChanged = 1,

    /// <summary>A record does not link to the hash of the record before it.</summary>
    LinkBroken = 2,

    /// <summary>A sequence number is missing.</summary>
    SequenceGap = 3,

    /// <summary>The chain ends before the length stored with its head: its newest records are gone.</summary>
    Truncated = 4,

    /// <summary>The chain's last record or length is not the stored head.</summary>
    HeadMismatch = 5,

    /// <summary>The chain does not extend the head the latest signed checkpoint holds for it.</summary>
    CheckpointMismatch = 6,

    /// <summary>The latest checkpoint, or the chain heads stored for it, no longer match its signature.</summary>
    CheckpointInvalid = 7,
}

/// <summary>The kinds of identifier; numbers match <c>journey.common.v1.IdentifierKind</c>.</summary>
public enum IdentifierKind
{
    /// <summary>Customer number.</summary>
    CustomerId = 1,

    /// <summary>E-mail address (kept as a keyed hash).</summary>
    Email = 2,

    /// <summary>Phone number (kept as a keyed hash).</summary>
    Phone = 3,

    /// <summary>Anonymous first-party id.</summary>
    AnonymousId = 4,

    /// <summary>Device id.</summary>
    DeviceId = 5,

    /// <summary>Ad click id.</summary>
    AdClickId = 6,

    /// <summary>Profile id of the profile service.</summary>
    ProfileId = 7,
}

/// <summary>An identifier as the ledger keeps it: e-mail and phone already hashed.</summary>
/// <param name="Kind">The kind.</param>
/// <param name="Value">The value (a keyed hash for e-mail and phone).</param>
public readonly record struct SubjectIdentifier(IdentifierKind Kind, string Value);

/// <summary>
/// A set of channels as a bit mask over the contract's channel numbers (1 to 31). In a record the
/// empty set means every channel of the purpose, so a grant follows the purpose when it gains one.
/// </summary>
/// <param name="Bits">Bit n set means channel n.</param>
public readonly record struct ChannelMask(int Bits)
{
    /// <summary>The highest channel number a mask can hold.</summary>
    public const int MaxChannel = 30;

    /// <summary>No channel, or (in a record) every channel.</summary>
    public static ChannelMask Empty => default;

    /// <summary>True when no bit is set.</summary>
    public bool IsEmpty => Bits == 0;

    /// <summary>How many channels.</summary>
    public int Count => BitOperations.PopCount((uint)Bits);

    /// <summary>The mask of <paramref name="channels"/>.</summary>
    public static ChannelMask Of(IEnumerable<int> channels)
    {
        var bits = 0;
        foreach (var channel in channels)
        {
            bits |= 1 << channel;
        }

        return new ChannelMask(bits);
    }

    /// <summary>Whether <paramref name="channel"/> is in the set.</summary>
    public bool Contains(int channel) => channel is > 0 and <= MaxChannel && (Bits & (1 << channel)) != 0;

    /// <summary>Whether every channel of this set is in <paramref name="other"/>.</summary>
    public bool IsSubsetOf(ChannelMask other) => (Bits & ~other.Bits) == 0;

    /// <summary>The channel numbers, ascending.</summary>
    public IEnumerable<int> Channels()
    {
        for (var channel = 1; channel <= MaxChannel; channel++)
        {
            if (Contains(channel))
            {
                yield return channel;
            }
        }
    }
}

/// <summary>A use of personal data and its rules.</summary>
/// <param name="Id">The id, e.g. <c>marketing-email</c>.</param>
/// <param name="Description">What it is for.</param>
/// <param name="LegalBasis">The lawful basis.</param>
/// <param name="Channels">The channels it covers (never empty).</param>
/// <param name="Default">The answer when nobody decided.</param>
/// <param name="Validity">How long a grant lasts; null for ever.</param>
/// <param name="MinimumPolicyVersion">Grants under a lower version stop counting; 0 for any.</param>
/// <param name="Version">Optimistic-concurrency version, from 1.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record Purpose(
    string Id,
    string Description,
    LegalBasis LegalBasis,
    ChannelMask Channels,
    DefaultDecision Default,
    TimeSpan? Validity,
    int MinimumPolicyVersion,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The etag an update passes back: the version as text, so a stale read is detected.</summary>
    public string Etag => Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The settings of a purpose an update changes.</summary>
[Flags]
public enum PurposeFieldMask
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>The description.</summary>
    Description = 1,

    /// <summary>The legal basis.</summary>
    LegalBasis = 2,

    /// <summary>The channels.</summary>
    Channels = 4,

    /// <summary>The default decision.</summary>
    Default = 8,

    /// <summary>The validity of a grant.</summary>
    Validity = 16,

    /// <summary>The minimum policy version.</summary>
    MinimumPolicyVersion = 32,

    /// <summary>Every setting.</summary>
    All = 63,
}

/// <summary>A version of the policy text.</summary>
/// <param name="Version">The number, from 1.</param>
/// <param name="Text">The text; empty when listed.</param>
/// <param name="Sha256">SHA-256 of the UTF-8 text, lower-case hex.</param>
/// <param name="CreatedAt">When it was stored.</param>
public sealed record PolicyVersion(int Version, string Text, string Sha256, DateTimeOffset CreatedAt);

/// <summary>
/// How a decision was captured. The hash chain covers <see cref="Digest"/> rather than the fields,
/// so an erasure can remove the fields (personal data) without breaking the chain.
/// </summary>
/// <param name="FormId">The form.</param>
/// <param name="IpAddressHash">Keyed hash of the IP address, or empty.</param>
/// <param name="UserAgent">The user agent.</param>
/// <param name="Digest">SHA-256 of the three fields as written.</param>
/// <param name="Redacted">True once an erasure removed the fields.</param>
public sealed record ConsentProof(string FormId, string IpAddressHash, string UserAgent, string Digest, bool Redacted);

/// <summary>A record before it has a place in a chain.</summary>
/// <param name="Id">Record id (UUIDv7).</param>
/// <param name="PurposeId">The purpose.</param>
/// <param name="Granted">Granted or withdrawn.</param>
/// <param name="Channels">Channels decided on; empty for all.</param>
/// <param name="PolicyVersion">Policy version.</param>
/// <param name="CapturedAt">When the person decided (millisecond precision).</param>
/// <param name="RecordedAt">When the ledger took it (millisecond precision).</param>
/// <param name="Touchpoint">Where it was captured.</param>
/// <param name="Proof">Evidence.</param>
/// <param name="Origin">How it came in.</param>
/// <param name="SourceRecord">For merges: the carried-over record's name.</param>
public sealed record RecordDraft(
    Guid Id,
    string PurposeId,
    bool Granted,
    ChannelMask Channels,
    int PolicyVersion,
    DateTimeOffset CapturedAt,
    DateTimeOffset RecordedAt,
    string Touchpoint,
    ConsentProof Proof,
    RecordOrigin Origin,
    string SourceRecord);

/// <summary>A sealed ledger record.</summary>
/// <param name="Seq">Global storage order (SQLite rowid or a time-ordered value), used for paging and precedence.</param>
/// <param name="Subject">The subject whose chain holds it.</param>
/// <param name="Sequence">Position in that chain, from 1.</param>
/// <param name="Draft">The content.</param>
/// <param name="PreviousHash">Hash of the previous record; empty for the first.</param>
/// <param name="Hash">SHA-256 over the previous hash and the content.</param>
public sealed record ConsentRecord(long Seq, Guid Subject, long Sequence, RecordDraft Draft, string PreviousHash, string Hash)
{
    /// <summary>The record's resource name.</summary>
    public string Name => ConsentNames.Record(Subject, Draft.Id);
}

/// <summary>Resource names of the consent service.</summary>
public static class ConsentNames
{
    /// <summary><c>subjects/{subject}</c>.</summary>
    public static string Subject(Guid subject) => "subjects/" + subject.ToString();

    /// <summary><c>subjects/{subject}/records/{record}</c>.</summary>
    public static string Record(Guid subject, Guid record) => $"subjects/{subject}/records/{record}";

    /// <summary><c>purposes/{purpose}</c>.</summary>
    public static string Purpose(string id) => "purposes/" + id;

    /// <summary><c>erasures/{erasure}</c>.</summary>
    public static string Erasure(Guid id) => "erasures/" + id.ToString();

    /// <summary>The id of <c>{prefix}/{id}</c>, or null when the name has another shape.</summary>
    public static string? IdOf(string name, string prefix) =>
        name.Length > prefix.Length + 1 && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '/' && name.IndexOf('/', prefix.Length + 1) < 0
            ? name[(prefix.Length + 1)..]
            : null;

    /// <summary>The id of <c>{prefix}/{guid}</c>, or null.</summary>
    public static Guid? GuidOf(string name, string prefix) =>
        IdOf(name, prefix) is { } id && Guid.TryParse(id, out var guid) ? guid : null;
}

/// <summary>One service's completion of an erasure.</summary>
/// <param name="Service">The service.</param>
/// <param name="CompletedAt">When.</param>
/// <param name="RecordsErased">As reported.</param>
public sealed record ServiceErasure(string Service, DateTimeOffset CompletedAt, long RecordsErased);

/// <summary>An erasure and its progress.</summary>
/// <param name="Id">Erasure id.</param>
/// <param name="Subject">The pseudonymous subject kept in the ledger, or null.</param>
/// <param name="RequestedAt">When requested.</param>
/// <param name="Completions">Services that reported, by service.</param>
public sealed record Erasure(Guid Id, Guid? Subject, DateTimeOffset RequestedAt, IReadOnlyList<ServiceErasure> Completions);

/// <summary>An erasure completion as the event handler sees it.</summary>
/// <param name="EventId">The event id (inbox key).</param>
/// <param name="ErasureId">The erasure.</param>
/// <param name="Completion">Who finished and when.</param>
public sealed record ErasureCompletion(string EventId, Guid ErasureId, ServiceErasure Completion);

/// <summary>The head kept with a subject: how long its chain is and the hash of its last record.</summary>
/// <param name="Length">Records in the chain.</param>
/// <param name="Hash">The last record's hash; empty for an empty chain.</param>
public readonly record struct ChainHead(long Length, string Hash);

/// <summary>The result of walking a chain.</summary>
/// <param name="RecordsChecked">Records checked.</param>
/// <param name="Break">What broke, or <see cref="ChainBreak.None"/>.</param>
/// <param name="BrokenRecord">The first broken record, or null (also when it is missing).</param>
/// <param name="BrokenSequence">The sequence of the first broken or missing record; 0 when intact.</param>
public sealed record ChainVerification(long RecordsChecked, ChainBreak Break, ConsentRecord? BrokenRecord, long BrokenSequence = 0)
{
    /// <summary>The stored head the chain was compared with; null when it was not.</summary>
    public ChainHead? Head { get; init; }

    /// <summary>The checkpoint the chain was compared with, or null when none covers it.</summary>
    public long? Checkpoint { get; init; }

    /// <summary>How many of the chain's records that checkpoint covers.</summary>
    public long CheckpointLength { get; init; }

    /// <summary>The first broken sequence: <see cref="BrokenSequence"/>, else the broken record's.</summary>
    public long FirstBrokenSequence => BrokenSequence != 0 ? BrokenSequence : BrokenRecord?.Sequence ?? 0;
}
