using Journey.Shared.Events;

namespace Journey.Consent.Domain;

/// <summary>Purposes and the consent ledger.</summary>
public interface IConsentLedger
{
    /// <summary>Adds a purpose; AlreadyExistsException when the id is taken.</summary>
    Task InsertPurposeAsync(Purpose purpose, CancellationToken cancellationToken);

    /// <summary>The purpose, or null.</summary>
    Task<Purpose?> GetPurposeAsync(string id, CancellationToken cancellationToken);

    /// <summary>The subject any of <paramref name="identifiers"/> belongs to, or null.</summary>
    Task<string?> FindSubjectAsync(IReadOnlyList<SubjectIdentifier> identifiers, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: resolves (or creates, with <paramref name="newSubjectId"/>) the subject of
    /// <paramref name="identifiers"/>, lets <paramref name="build"/> make the next record from the
    /// subject's last one, appends it and its event.
    /// </summary>
    Task<ConsentRecord> AppendAsync(IReadOnlyList<SubjectIdentifier> identifiers, string newSubjectId, Func<string, ConsentRecord?, (ConsentRecord Record, OutboxMessage Changed)> build, CancellationToken cancellationToken);

    /// <summary>The subject's latest record for a purpose, or null.</summary>
    Task<ConsentRecord?> LatestAsync(string subjectId, string purposeId, CancellationToken cancellationToken);
}

/// <summary>Builds the events this service publishes.</summary>
public interface IConsentEvents
{
    /// <summary>A decision was recorded.</summary>
    OutboxMessage ConsentChanged(ConsentRecord record, IReadOnlyList<SubjectIdentifier> identifiers, DateTimeOffset? expiresAt);
}
