using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>What became of a tracking request's messages; the tracking API's answer.</summary>
/// <param name="Accepted">Stored as interactions, or identities sent on to the profile service.</param>
/// <param name="Duplicates">Sent before (same message id and content).</param>
/// <param name="Rejected">Broke the spec, the plan or an ingestion rule (including a reused message id with other content), each listed in <paramref name="Errors"/>.</param>
/// <param name="Unmapped">Not mapped by the source's plan, counted in its unmapped events.</param>
/// <param name="Errors">Each rejected message's position in the request and the reason.</param>
public sealed record TrackingOutcome(int Accepted, int Duplicates, int Rejected, int Unmapped, IReadOnlyList<(int Index, string Reason)> Errors);

/// <summary>
/// The tracking API's use case: maps a source's messages by its plan and records them through the
/// same path as gRPC ingestion (<see cref="InteractionRecorder"/>: one transaction with the outbox,
/// the message id as the interaction id), sends identities on to the profile service through the
/// outbox, and counts what the plan does not map.
/// </summary>
public sealed class TrackingIngestion(
    ITrackingSourceStore store,
    InteractionRecorder recorder,
    ITouchpointEvents events,
    IdentifierHasher hasher,
    TimeProvider clock)
{
    /// <summary>The source a write key belongs to, or null when the key is unknown or revoked.</summary>
    public async Task<TrackingSource?> AuthenticateAsync(string secret, CancellationToken cancellationToken)
    {
        if (secret.Length is 0 or > 256)
        {
            return null;
        }

        var hash = TrackingSources.HashKey(secret);
        var source = await store.FindByKeyHashAsync(hash, cancellationToken);
        return source?.WriteKeys.Any(k => k.Hash == hash && k.RevokedAt is null) == true ? source : null;
    }

    /// <summary>Records the messages of one request of <paramref name="source"/>.</summary>
    public async Task<TrackingOutcome> IngestAsync(TrackingSource source, IReadOnlyList<(TrackingMessage? Message, string? Error)> messages, CancellationToken cancellationToken)
    {
        var receivedAt = StoredTime.Now(clock);
        var errors = new List<(int, string)>();
        var issues = new List<TrackingIssueKey>();
        var inputs = new List<InteractionInput>();
        var inputIndexes = new List<int>();
        var identities = new List<ObservedIdentity>();
        var consents = new List<(int Index, ObservedIdentity Observation)>();
        int accepted = 0, unmapped = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var (message, error) = messages[i];
            if (message is null || error is not null)
            {
                errors.Add((i, error ?? "is not a message"));
                continue;
            }

            var planned = TrackingPlanner.Plan(source.Plan, message, receivedAt);
            if (planned is not PlannedMessage.Rejected && Consent(source, message, receivedAt) is { } consent)
            {
                consents.Add((i, consent));
            }

            switch (planned)
            {
                case PlannedMessage.Record record:
                    inputs.Add(record.Input);
                    inputIndexes.Add(i);
                    break;
                case PlannedMessage.Identify identify:
                    if (Identity(source, message, identify) is { } identity)
                    {
                        identities.Add(identity);
                    }
                    else
                    {
                        errors.Add((i, "identifies nobody: give messageId and userId or anonymousId (e-mail and phone traits must be valid)"));
                    }

                    break;
                case PlannedMessage.Unmapped issue:
                    unmapped++;
                    issues.Add(issue.Issue);
                    break;
                case PlannedMessage.Rejected rejected:
                    errors.Add((i, rejected.Reason));
                    if (rejected.Issue is not null)
                    {
                        issues.Add(rejected.Issue);
                    }

                    break;
                case PlannedMessage.Ignored:
                    accepted++;
                    break;
            }
        }

        var duplicates = 0;
        if (inputs.Count > 0)
        {
            // As few transactions as the store allows (one on SQLite; MongoDB's budget is 1,000
            // interactions): the answer comes after all of them, so a request answered 200 is stored
            // whole, and one cut short is sent again and its stored part counted as duplicates.
            var group = recorder.NewStreamGroup();
            var offsets = new List<int>();
            var offset = 0;
            async Task FlushAsync()
            {
                var outcomes = await recorder.RecordBatchesAsync(group.Messages, cancellationToken);
                for (var b = 0; b < outcomes.Count; b++)
                {
                    accepted += outcomes[b].Accepted;
                    duplicates += outcomes[b].Duplicates;
                    foreach (var rejection in outcomes[b].Rejected)
                    {
                        errors.Add((inputIndexes[offsets[b] + rejection.Index], $"{Field(rejection.Field)} {rejection.Reason}"));
                    }
                }

                group.Clear();
                offsets.Clear();
            }

            foreach (var chunk in inputs.Chunk(InteractionRecorder.MaxBatch))
            {
                if (!group.Fits(chunk.Length, 0))
                {
                    await FlushAsync();
                }

                group.Add(chunk, 0);
                offsets.Add(offset);
                offset += chunk.Length;
            }

            await FlushAsync();
        }

        if (identities.Count > 0)
        {
            var fresh = await store.AppendIdentitiesAsync(source.Id, identities, receivedAt, cancellationToken);
            accepted += fresh;
            duplicates += identities.Count - fresh;
        }

        // Consent goes only with a message that was kept (an interaction, an identity, or counted as
        // unmapped): one rejected, by the plan or the recorder, is answered as rejected and stores nothing.
        var rejectedIndexes = errors.Select(e => e.Item1).ToHashSet();
        var observedConsents = consents.Where(c => !rejectedIndexes.Contains(c.Index)).Select(c => c.Observation).ToList();
        if (observedConsents.Count > 0)
        {
            // Claimed per message id like identities, so an SDK's retry publishes nothing again.
            await store.AppendIdentitiesAsync(source.Id, observedConsents, receivedAt, cancellationToken);
        }

        if (issues.Count > 0)
        {
            await store.CountIssuesAsync(source.Id, issues, receivedAt, TrackingSources.MaxDistinctIssues, cancellationToken);
        }

        errors.Sort((x, y) => x.Item1.CompareTo(y.Item1));
        return new TrackingOutcome(accepted, duplicates, errors.Count, unmapped, errors);
    }

    /// <summary>
    /// The claim of a message's consent event is kept apart from its identity's (an identify may carry
    /// both) by a suffix with a control character, which no SDK puts in a message id.
    /// </summary>
    internal const string ConsentClaimSuffix = "\u001fconsent";

    /// <summary>
    /// The consent event of a message that carries preferences for categories its source maps; null
    /// when it carries none, or names nobody. Its time is the corrected time, never later than receipt.
    /// </summary>
    private ObservedIdentity? Consent(TrackingSource source, TrackingMessage message, DateTimeOffset receivedAt)
    {
        if (message.CategoryPreferences.Count == 0 || source.Plan.ConsentCategories.Count == 0 || message.MessageId.Length is 0 or > 128)
        {
            return null;
        }

        var preferences = TrackingPlanner.ConsentPreferences(source.Plan, message);
        var identifiers = Hashed(TrackingPlanner.IdentifiersOf(source.Plan, message));
        if (preferences.Count == 0 || identifiers.Count == 0)
        {
            return null;
        }

        var at = TrackingPlanner.CorrectedTime(message.Timestamp, message.SentAt, receivedAt);
        return new ObservedIdentity(
            message.MessageId + ConsentClaimSuffix,
            events.ConsentObserved(source.Name, message.MessageId, identifiers, preferences, at > receivedAt ? receivedAt : at, StoredTime.Now(clock)));
    }

    /// <summary>The identity event of an identify or alias; null when it names nobody the profile service could keep.</summary>
    private ObservedIdentity? Identity(TrackingSource source, TrackingMessage message, PlannedMessage.Identify identify)
    {
        if (message.MessageId.Length is 0 or > 128)
        {
            return null;
        }

        var hashed = Hashed(identify.Identifiers);
        if (hashed.Count == 0)
        {
            return null;
        }

        return new ObservedIdentity(message.MessageId, events.IdentityObserved(source.Name, message.MessageId, hashed, identify.Traits, identify.At, StoredTime.Now(clock)));
    }

    /// <summary>Identifiers as they leave this service: e-mail and phone as keyed hashes, implausible ones dropped, each once.</summary>
    private List<PersonIdentifier> Hashed(IReadOnlyList<(IdentifierKind Kind, string Value)> identifiers)
    {
        var hashed = new List<PersonIdentifier>();
        foreach (var (kind, value) in identifiers)
        {
            if (value.Length is 0 or > 256)
            {
                continue;
            }

            switch (kind)
            {
                case IdentifierKind.Email when IdentifierHasher.IsPlausibleEmail(value):
                    hashed.Add(new PersonIdentifier(kind, hasher.HashEmail(value)));
                    break;
                case IdentifierKind.Phone when IdentifierHasher.IsPlausiblePhone(value):
                    hashed.Add(new PersonIdentifier(kind, hasher.HashPhone(value)));
                    break;
                case IdentifierKind.Email or IdentifierKind.Phone:
                    break;
                default:
                    hashed.Add(new PersonIdentifier(kind, value));
                    break;
            }
        }

        return hashed.DistinctBy(h => h.Key).ToList();
    }

    /// <summary>The recorder names fields as the gRPC request has them; the tracking API's sender knows the message's.</summary>
    private static string Field(string field)
    {
        var dot = field.IndexOf("].", StringComparison.Ordinal);
        var name = dot < 0 ? field : field[(dot + 2)..];
        return name switch
        {
            "interaction_id" => "messageId",
            "occur_time" => "timestamp",
            _ when name.StartsWith("identifiers", StringComparison.Ordinal) => "userId/anonymousId/traits",
            _ => name,
        };
    }
}

/// <summary>
/// Each source's request rate, as a token bucket on the injected clock: a source may send
/// <see cref="TrackingSource.RequestsPerSecond"/> requests at once and that many a second after.
/// </summary>
public sealed class TrackingRateLimiter(TimeProvider clock)
{
    private readonly Dictionary<string, (double Tokens, DateTimeOffset At)> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one request of <paramref name="source"/>; null when allowed, else how long to wait before the next.</summary>
    public TimeSpan? TryAcquire(TrackingSource source)
    {
        var rate = Math.Max(1, source.RequestsPerSecond);
        var now = clock.GetUtcNow();
        lock (_buckets)
        {
            var (tokens, at) = _buckets.TryGetValue(source.Id, out var bucket) ? bucket : (rate, now);
            tokens = Math.Min(rate, tokens + (Math.Max(0, (now - at).TotalSeconds) * rate));
            if (tokens >= 1)
            {
                _buckets[source.Id] = (tokens - 1, now);
                return null;
            }

            _buckets[source.Id] = (tokens, now);
            return TimeSpan.FromSeconds((1 - tokens) / rate);
        }
    }
}
