namespace Journey.Consent.Domain;

/// <summary>A record as decisions need it: small, so the index of a million subjects stays compact.</summary>
/// <param name="RecordId">The record.</param>
/// <param name="Seq">Global storage order; a later write has a higher value.</param>
/// <param name="Granted">Granted or withdrawn.</param>
/// <param name="Channels">Channels; empty for all.</param>
/// <param name="PolicyVersion">Policy version.</param>
/// <param name="CapturedAt">When the person decided.</param>
public readonly record struct DecisionEntry(Guid RecordId, long Seq, bool Granted, ChannelMask Channels, int PolicyVersion, DateTimeOffset CapturedAt)
{
    /// <summary>The entry of a sealed record.</summary>
    public static DecisionEntry Of(ConsentRecord record) =>
        new(record.Draft.Id, record.Seq, record.Draft.Granted, record.Draft.Channels, record.Draft.PolicyVersion, record.Draft.CapturedAt);
}

/// <summary>
/// The records that still decide a subject's purpose, newest first: a new record hides every older
/// one whose channels it covers. Immutable, so readers never see a half-applied change.
/// </summary>
public sealed class PurposeDecisions
{
    /// <summary>Nothing decided.</summary>
    public static readonly PurposeDecisions None = new([]);

    private readonly DecisionEntry[] _entries;

    /// <summary>Wraps entries ordered newest first.</summary>
    public PurposeDecisions(DecisionEntry[] entries) => _entries = entries;

    /// <summary>The entries, newest first.</summary>
    public ReadOnlySpan<DecisionEntry> Entries => _entries;

    /// <summary>The highest storage order applied.</summary>
    public long LastSeq => _entries.Length == 0 ? 0 : _entries[0].Seq;

    /// <summary>The newest decision, or null.</summary>
    public DecisionEntry? Newest => _entries.Length == 0 ? null : _entries[0];

    /// <summary>
    /// Adds <paramref name="entry"/> unless something newer was applied already (writes can finish
    /// out of order; the storage order decides).
    /// </summary>
    public PurposeDecisions With(DecisionEntry entry)
    {
        if (entry.Seq <= LastSeq)
        {
            return this;
        }

        if (_entries.Length == 0)
        {
            return new PurposeDecisions([entry]);
        }

        var kept = new List<DecisionEntry>(_entries.Length + 1) { entry };
        foreach (var old in _entries)
        {
            var hidden = entry.Channels.IsEmpty || (!old.Channels.IsEmpty && old.Channels.IsSubsetOf(entry.Channels));
            if (!hidden)
            {
                kept.Add(old);
            }
        }

        return new PurposeDecisions([.. kept]);
    }

    /// <summary>The newest entry that speaks for <paramref name="channel"/> (0: for any channel).</summary>
    public bool TryFind(int channel, out DecisionEntry found)
    {
        foreach (var entry in _entries)
        {
            if (channel == 0 || entry.Channels.IsEmpty || entry.Channels.Contains(channel))
            {
                found = entry;
                return true;
            }
        }

        found = default;
        return false;
    }

    /// <summary>Builds the set from records of one subject and purpose in any order.</summary>
    public static PurposeDecisions From(IEnumerable<DecisionEntry> entries)
    {
        var decisions = None;
        foreach (var entry in entries.OrderBy(e => e.Seq))
        {
            decisions = decisions.With(entry);
        }

        return decisions;
    }
}

/// <summary>The answer of a check.</summary>
/// <param name="Allowed">Whether the data may be used.</param>
/// <param name="Reason">Why.</param>
/// <param name="HasRecord">Whether <paramref name="Record"/> is the deciding record.</param>
/// <param name="Record">The deciding record's entry.</param>
/// <param name="ExpiresAt">When the grant expires (or expired), if it does.</param>
public readonly record struct ConsentDecision(bool Allowed, DecisionReason Reason, bool HasRecord, DecisionEntry Record, DateTimeOffset? ExpiresAt)
{
    /// <summary>
    /// Decides <paramref name="purpose"/> for <paramref name="channel"/> at <paramref name="now"/>.
    /// Expiry and the minimum policy version are evaluated here, at check time, so changing a
    /// purpose or the passing of time takes effect without rewriting anything.
    /// </summary>
    public static ConsentDecision Evaluate(Purpose purpose, PurposeDecisions decisions, int channel, DateTimeOffset now)
    {
        var found = decisions.TryFind(channel, out var entry);
        if (purpose.LegalBasis != LegalBasis.Consent)
        {
            // An objection to processing under legitimate interest is honoured (GDPR art. 21);
            // contract and legal obligation do not depend on the person's say.
            return purpose.LegalBasis == LegalBasis.LegitimateInterest && found && !entry.Granted
                ? new ConsentDecision(false, DecisionReason.Withdrawn, true, entry, null)
                : new ConsentDecision(true, DecisionReason.LegalBasisNotConsent, false, default, null);
        }

        if (!found)
        {
            return new ConsentDecision(purpose.Default == DefaultDecision.Allow, DecisionReason.NoAnswerDefault, false, default, null);
        }

        if (!entry.Granted)
        {
            return new ConsentDecision(false, DecisionReason.Withdrawn, true, entry, null);
        }

        DateTimeOffset? expiresAt = purpose.Validity is { } validity ? entry.CapturedAt + validity : null;
        if (entry.PolicyVersion < purpose.MinimumPolicyVersion)
        {
            return new ConsentDecision(false, DecisionReason.PolicyOutdated, true, entry, expiresAt);
        }

        if (expiresAt is { } expiry && expiry <= now)
        {
            return new ConsentDecision(false, DecisionReason.Expired, true, entry, expiresAt);
        }

        return new ConsentDecision(true, DecisionReason.Granted, true, entry, expiresAt);
    }
}
