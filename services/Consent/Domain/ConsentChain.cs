using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Journey.Consent.Domain;

/// <summary>
/// The hash chain of a subject's ledger: each record's hash covers the previous record's hash and its
/// own content, so editing, removing or reordering any stored record is visible to
/// <see cref="Verify(IReadOnlyList{ConsentRecord}, ChainHead)"/>. The proof fields enter through their digest, which an erasure keeps.
/// </summary>
public static class ConsentChain
{
    /// <summary>Seals <paramref name="draft"/> as record <paramref name="sequence"/> of <paramref name="subject"/>.</summary>
    public static ConsentRecord Seal(long seq, Guid subject, long sequence, RecordDraft draft, string previousHash) =>
        new(seq, subject, sequence, draft, previousHash, Hash(subject, sequence, draft, previousHash));

    /// <summary>The hash of a record's content and its predecessor's hash, 64 lower-case hex characters.</summary>
    public static string Hash(Guid subject, long sequence, RecordDraft draft, string previousHash)
    {
        var canonical = string.Join('\n',
            "journey-consent-record-v1",
            previousHash,
            subject.ToString(),
            sequence.ToString(CultureInfo.InvariantCulture),
            draft.Id.ToString(),
            draft.PurposeId,
            draft.Granted ? "granted" : "withdrawn",
            draft.Channels.Bits.ToString(CultureInfo.InvariantCulture),
            draft.PolicyVersion.ToString(CultureInfo.InvariantCulture),
            draft.CapturedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            draft.RecordedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            draft.Touchpoint,
            ((int)draft.Origin).ToString(CultureInfo.InvariantCulture),
            draft.SourceRecord,
            draft.Proof.Digest);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    /// <summary>The digest of the proof fields that the chain covers.</summary>
    public static string ProofDigest(string formId, string ipAddressHash, string userAgent) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', formId, ipAddressHash, userAgent))));

    /// <summary>Builds a proof whose digest covers its fields.</summary>
    public static ConsentProof Proof(string formId, string ipAddressHash, string userAgent) =>
        new(formId, ipAddressHash, userAgent, ProofDigest(formId, ipAddressHash, userAgent), Redacted: false);

    /// <summary>
    /// Walks one subject's records in chain order and reports the first that does not match. A
    /// redacted proof is checked through its kept digest; an unredacted one must still match it.
    /// </summary>
    public static ChainVerification Verify(IReadOnlyList<ConsentRecord> chain)
    {
        var previous = "";
        for (var i = 0; i < chain.Count; i++)
        {
            var record = chain[i];
            if (record.Sequence != i + 1)
            {
                return new ChainVerification(i + 1, ChainBreak.SequenceGap, record);
            }

            if (!string.Equals(record.PreviousHash, previous, StringComparison.Ordinal))
            {
                return new ChainVerification(i + 1, ChainBreak.LinkBroken, record);
            }

            var proof = record.Draft.Proof;
            var proofIntact = proof.Redacted || string.Equals(ProofDigest(proof.FormId, proof.IpAddressHash, proof.UserAgent), proof.Digest, StringComparison.Ordinal);
            if (!proofIntact || !string.Equals(Hash(record.Subject, record.Sequence, record.Draft, previous), record.Hash, StringComparison.Ordinal))
            {
                return new ChainVerification(i + 1, ChainBreak.ContentChanged, record);
            }

            previous = record.Hash;
        }

        return new ChainVerification(chain.Count, ChainBreak.None, null);
    }

    /// <summary>
    /// Walks the chain as <see cref="Verify(IReadOnlyList{ConsentRecord})"/> does, then compares its
    /// end with the head stored for the subject. The walk alone cannot see records removed from the
    /// end (what is left still links); the head, written with every append, says how long the chain
    /// was and what its last hash was.
    /// </summary>
    public static ChainVerification Verify(IReadOnlyList<ConsentRecord> chain, ChainHead head)
    {
        var walked = Verify(chain) with { Head = head };
        if (walked.Break != ChainBreak.None)
        {
            return walked;
        }

        if (chain.Count < head.Length)
        {
            return walked with { Break = ChainBreak.Truncated, BrokenSequence = chain.Count + 1 };
        }

        var last = chain.Count == 0 ? "" : chain[^1].Hash;
        if (chain.Count > head.Length || !string.Equals(last, head.Hash, StringComparison.Ordinal))
        {
            // Records beyond the head, or a last record that is not the head's: name the first record
            // the head does not account for, or the last one when the lengths agree.
            var index = (int)Math.Min(head.Length, chain.Count - 1);
            return walked with { Break = ChainBreak.HeadMismatch, BrokenRecord = chain[index] };
        }

        return walked;
    }
}
