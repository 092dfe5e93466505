using Journey.Shared.Errors;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>Consent preferences a tracking source's message carried, as the touchpoint service publishes them.</summary>
/// <param name="Source">The tracking source, <c>sources/{source}</c>.</param>
/// <param name="MessageId">The sender's message id.</param>
/// <param name="Identifiers">The person's identifiers, e-mail and phone already keyed hashes (never hashed again here).</param>
/// <param name="Preferences">Per purpose (<c>purposes/{purpose}</c>): granted or refused.</param>
/// <param name="ObservedAt">When the sender observed it, corrected for the sender's clock.</param>
public sealed record ObservedConsent(string Source, string MessageId, IReadOnlyList<SubjectIdentifier> Identifiers, IReadOnlyList<(string Purpose, bool Granted)> Preferences, DateTimeOffset ObservedAt);

/// <summary>
/// Records consent that tracking messages carry (Segment's <c>context.consent.categoryPreferences</c>,
/// mapped to purposes by the source's plan). Sites send the preferences with every message, so a
/// preference the ledger already holds appends nothing and publishes nothing, and neither does one
/// older than the ledger's newest decision on the purpose: a late message never overturns a newer choice.
/// </summary>
public sealed class ObservedConsentUseCases(ConsentUseCases consent, IConsentLedger ledger, PurposeDirectory purposes, ErasureTombstones tombstones, TimeProvider time)
{
    /// <summary>Most preferences one observation carries.</summary>
    public const int MaxPreferences = 50;

    /// <summary>
    /// Applies one event: appends, in one transaction with the event's inbox claim, a record (origin
    /// tracking, the message as source record, the latest policy version) per preference that changes
    /// what the ledger says. An event applied before, or naming an identifier erased before the event
    /// was stamped (<paramref name="publishedAt"/>) plus the settle window, appends nothing. A purpose
    /// the catalog lacks, or a ledger without any policy version, is INVALID_ARGUMENT: the event is
    /// dead-lettered and can be replayed once the catalog holds it.
    /// </summary>
    /// <returns>The records appended; empty when nothing changed.</returns>
    public async Task<IReadOnlyList<ConsentRecord>> RecordAsync(string consumer, string eventId, ObservedConsent observed, DateTimeOffset publishedAt, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(observed.Source.StartsWith("sources/", StringComparison.Ordinal) && observed.Source.Length is > 8 and <= ConsentLimits.MaxIdLength, "source", "must be sources/{source}");
        validation.Require(observed.MessageId.Length is >= 1 and <= 128, "message_id", "must be 1 to 128 characters");
        validation.Require(observed.Identifiers.Count is >= 1 and <= 10, "identifiers", "must hold 1 to 10 identifiers");
        validation.Require(observed.Preferences.Count is >= 1 and <= MaxPreferences, "preferences", $"must hold 1 to {MaxPreferences} preferences");
        validation.ThrowIfInvalid();

        var selected = new List<(Purpose Purpose, bool Granted)>();
        for (var i = 0; i < observed.Preferences.Count; i++)
        {
            var (name, granted) = observed.Preferences[i];
            var purpose = await purposes.FindByNameAsync(name, cancellationToken)
                ?? throw new InvalidArgumentException($"preferences[{i}].purpose", "must name a purpose of the consent catalog: create it, or correct the tracking source's consent_categories, then replay the dead letter");
            selected.Add((purpose, granted));
        }

        var policyVersion = await purposes.LatestPolicyVersionAsync(cancellationToken);
        if (policyVersion == 0)
        {
            throw new InvalidArgumentException("preferences", "no policy version exists yet: create one, then replay the dead letter");
        }

        var now = Clock.Now(time);
        var capturedAt = Clock.Truncate(observed.ObservedAt < now ? observed.ObservedAt : now);
        var identifiers = observed.Identifiers.Distinct().ToList();
        var subject = await ledger.FindSubjectAsync(identifiers, cancellationToken);
        var drafts = new List<(Purpose Purpose, RecordDraft Draft)>();
        foreach (var (purpose, granted) in selected)
        {
            var current = subject is { } s ? await ledger.GetPurposeDecisionsAsync(s, purpose.Id, cancellationToken) : PurposeDecisions.None;
            if (Settled(purpose, current, granted, capturedAt, now))
            {
                ConsentTelemetry.ObservedPreferences.Add(1, new KeyValuePair<string, object?>("outcome", "unchanged"));
                continue;
            }

            drafts.Add((purpose, new RecordDraft(
                TimeOrderedIds.Next(now), purpose.Id, granted, ChannelMask.Empty, policyVersion, capturedAt, now, "", ConsentChain.Proof("", "", ""),
                RecordOrigin.Tracking, $"{observed.Source}/messages/{observed.MessageId}")));
        }

        if (drafts.Count == 0)
        {
            return [];
        }

        var checks = identifiers.Select(i => new ErasureCheck(tombstones.Key((int)i.Kind, i.Value), publishedAt)).ToList();
        try
        {
            var records = await consent.AppendAsync(identifiers, null, drafts, now, (null, ""), cancellationToken, append => append with
            {
                Inbox = (consumer, eventId),
                ErasureChecks = checks,
            });
            ConsentTelemetry.ObservedPreferences.Add(records.Count, new KeyValuePair<string, object?>("outcome", "recorded"));
            return records;
        }
        catch (ErasedIdentifiersException)
        {
            // The person was erased after this was observed: nothing was written, and nothing will be.
            ConsentTelemetry.ObservedPreferences.Add(drafts.Count, new KeyValuePair<string, object?>("outcome", "erased"));
            return [];
        }
    }

    /// <summary>
    /// Whether the ledger already says <paramref name="granted"/> for the whole purpose, or holds a
    /// decision captured after <paramref name="capturedAt"/>. A grant whose validity ran out is renewed
    /// by the next message that grants again.
    /// </summary>
    public static bool Settled(Purpose purpose, PurposeDecisions current, bool granted, DateTimeOffset capturedAt, DateTimeOffset now)
    {
        if (current.Newest is not { } newest)
        {
            return false;
        }

        if (newest.CapturedAt > capturedAt)
        {
            return true;
        }

        if (!newest.Channels.IsEmpty || newest.Granted != granted)
        {
            return false;
        }

        return !(granted && purpose.Validity is { } validity && newest.CapturedAt + validity <= now);
    }
}
