namespace Journey.Consent.Domain;

/// <summary>
/// Publishes the expiry of grants whose purpose validity ran out. A check already answers 'expired'
/// from the time alone; this tells the services that keep read models of consent (profile,
/// recommendation), which would otherwise keep the grant until the next record.
/// </summary>
public sealed class ExpiryUseCases(IConsentLedger ledger, PurposeDirectory purposes, IConsentEvents events, TimeProvider time)
{
    /// <summary>
    /// Publishes every expiry due now that was not published before, in batches of
    /// <paramref name="batchSize"/>; returns the number of events written. Safe to run on several
    /// replicas at once and again after a restart: the store marks each grant once.
    /// </summary>
    public async Task<int> PublishDueExpiriesAsync(int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var now = Clock.Now(time);
        var published = 0;
        foreach (var purpose in await purposes.AllAsync(cancellationToken))
        {
            // Only a consent-based purpose depends on its grants; the others never expire.
            if (purpose.LegalBasis != LegalBasis.Consent || purpose.Validity is not { } validity)
            {
                continue;
            }

            while (true)
            {
                var due = await ledger.FindUnpublishedExpiriesAsync(purpose.Id, now - validity, batchSize, cancellationToken);
                if (due.Count == 0)
                {
                    break;
                }

                var notices = new List<ExpiryNotice>(due.Count);
                foreach (var grant in due)
                {
                    notices.Add(new ExpiryNotice(grant, await EventOfAsync(purpose, grant, grant.Entry.CapturedAt + validity, now, cancellationToken)));
                }

                published += await ledger.MarkExpiriesPublishedAsync(notices, cancellationToken);
                if (due.Count < batchSize)
                {
                    break;
                }
            }
        }

        return published;
    }

    private async Task<Shared.Events.OutboxMessage?> EventOfAsync(Purpose purpose, ExpiredGrant grant, DateTimeOffset expiredAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A merged-away subject's decisions stay for proof; its target carries the newer grant over
        // and announces that one's expiry under its own name.
        if (await ledger.ResolveSubjectAsync(grant.Subject, cancellationToken) != grant.Subject)
        {
            return null;
        }

        // Subscribers key their read models by identifier; with none left (erased) there is nobody to tell.
        var identifiers = await ledger.GetIdentifiersAsync(grant.Subject, cancellationToken);
        return identifiers.Count == 0 ? null : events.ConsentExpired(grant.Subject, identifiers, purpose, grant.Entry, expiredAt, now);
    }
}
