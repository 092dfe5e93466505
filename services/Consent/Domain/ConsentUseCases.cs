using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Identity;
using Journey.Shared.Privacy;

namespace Journey.Consent.Domain;

/// <summary>Recording, withdrawing and checking consent; history and chain verification.</summary>
public sealed class ConsentUseCases(
    IConsentLedger ledger, IDecisionSource decisions, PurposeDirectory purposes, IConsentEvents events, IdentifierHasher hasher, IdentifierPolicy identifierPolicy, TimeProvider time,
    RequestLog requests, CheckpointUseCases checkpoints)
{
    private const int MaxConflictRetries = 3;

    /// <summary>
    /// Appends one decision. With a request id, a request seen before appends nothing and answers
    /// with the record the first one appended; the check comes before validation, so a retry is
    /// answered even when the purpose changed meanwhile.
    /// </summary>
    public async Task<ConsentRecord> RecordAsync(RecordConsentCommand command, CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var validation = new Validation();
        var requestId = RequestIds.Parse(command.RequestId, validation);
        var fingerprint = requests.Fingerprint(requestId, () => command.AddTo(new RequestFingerprint("RecordConsent")));
        if (await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } replay)
        {
            return (await requests.RecordsOfAsync(replay, cancellationToken))[0];
        }

        var (identifiers, purpose, draft) = await ValidateRecordAsync(command, now, validation, cancellationToken);
        validation.ThrowIfInvalid();
        var records = await AppendAsync(identifiers, null, [(purpose!, draft!)], now, (requestId, fingerprint), cancellationToken);
        return records[0];
    }

    /// <summary>
    /// Appends up to <see cref="ConsentLimits.MaxBatchRecords"/> decisions in one transaction. Each is
    /// validated as <see cref="RecordAsync"/> validates it; invalid ones are rejected with their index
    /// and the others stored. Records of one subject chain in the order given.
    /// </summary>
    public async Task<BatchRecordResult> BatchRecordAsync(IReadOnlyList<RecordConsentCommand> commands, string requestIdText, CancellationToken cancellationToken)
    {
        var request = new Validation();
        request.Require(commands.Count is > 0 and <= ConsentLimits.MaxBatchRecords, "records", $"must hold 1 to {ConsentLimits.MaxBatchRecords} records");
        var requestId = RequestIds.Parse(requestIdText, request);
        request.ThrowIfInvalid();
        var fingerprint = requests.Fingerprint(requestId, () =>
        {
            var builder = new RequestFingerprint("BatchRecordConsent").Add(commands.Count);
            foreach (var command in commands)
            {
                command.AddTo(builder);
            }

            return builder;
        });
        if (await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } replay)
        {
            return await ReplayBatchAsync(replay, cancellationToken);
        }

        var now = Clock.Now(time);
        var rejected = new List<(int Index, FieldViolation Violation)>();
        var valid = new List<(int Index, List<SubjectIdentifier> Identifiers, Purpose Purpose, RecordDraft Draft)>(commands.Count);
        for (var i = 0; i < commands.Count; i++)
        {
            var validation = new Validation();
            validation.Require(commands[i].RequestId.Length == 0, RequestIds.Field, "must be empty on a record of a batch: the batch's request_id covers it");
            var (identifiers, purpose, draft) = await ValidateRecordAsync(commands[i], now, validation, cancellationToken);
            if (validation.IsValid)
            {
                valid.Add((i, identifiers, purpose!, draft!));
            }
            else
            {
                rejected.AddRange(validation.Violations.Select(v => (i, v with { Field = $"records[{i}].{v.Field}" })));
            }
        }

        var rejections = rejected.Select(r => new OutcomeRejection(r.Index, r.Violation.Field, r.Violation.Description)).ToList();
        for (var attempt = 1; ; attempt++)
        {
            if (attempt > 1 && await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } concurrent)
            {
                // Another call with the same request id got there first.
                return await ReplayBatchAsync(concurrent, cancellationToken);
            }

            var plan = valid.Count == 0 ? new BatchPlan([], [], []) : await PlanBatchAsync(valid, now, cancellationToken);
            var outcome = new OutcomeRecord[valid.Count];
            for (var a = 0; a < plan.Appends.Count; a++)
            {
                for (var r = 0; r < plan.Appends[a].Records.Count; r++)
                {
                    var (index, position) = plan.Indexes[a][r];
                    outcome[position] = new OutcomeRecord(index, plan.Appends[a].Subject, plan.Appends[a].Records[r].Id);
                }
            }

            var claim = requests.Claim(requestId, fingerprint, new RequestOutcome(outcome, rejections, null), now);
            if (plan.Appends.Count == 0 && claim is null)
            {
                return new BatchRecordResult([], rejected);
            }

            try
            {
                var appended = await ledger.AppendBatchAsync(plan.Appends, claim, cancellationToken);
                var all = appended.SelectMany(r => r).ToList();
                decisions.Apply(new LedgerChange(plan.Linked, all, [], []));
                ConsentTelemetry.RecordsAppended.Add(all.Count);
                var accepted = new (int Index, ConsentRecord Record)[valid.Count];
                for (var a = 0; a < appended.Count; a++)
                {
                    for (var r = 0; r < appended[a].Count; r++)
                    {
                        var index = plan.Indexes[a][r];
                        accepted[index.Position] = (index.Index, appended[a][r]);
                    }
                }

                return new BatchRecordResult(accepted, rejected);
            }
            catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
            {
                // Another writer linked one of these identifiers first, or stored the same request id: resolve again.
            }
        }
    }

    private async Task<BatchRecordResult> ReplayBatchAsync(RequestOutcome outcome, CancellationToken cancellationToken)
    {
        var records = (await requests.RecordsOfAsync(outcome, cancellationToken)).ToDictionary(r => r.Draft.Id);
        return new BatchRecordResult(
            [.. outcome.Records.Where(r => records.ContainsKey(r.Record)).Select(r => (r.Index, records[r.Record]))],
            [.. outcome.Rejected.Select(r => (r.Index, new FieldViolation(r.Field, r.Reason)))]);
    }

    // Groups a batch by subject: identifiers resolve against the ledger and against subjects created
    // earlier in the same batch, so several records of one new person share one subject and chain.
    private async Task<BatchPlan> PlanBatchAsync(
        List<(int Index, List<SubjectIdentifier> Identifiers, Purpose Purpose, RecordDraft Draft)> valid, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var known = await ledger.FindSubjectsAsync([.. valid.SelectMany(v => v.Identifiers).Distinct()], cancellationToken);
        var inBatch = new Dictionary<SubjectIdentifier, Guid>();
        var groups = new Dictionary<Guid, SubjectGroup>();
        var order = new List<SubjectGroup>();
        for (var position = 0; position < valid.Count; position++)
        {
            var (index, identifiers, purpose, draft) = valid[position];
            Guid? found = null;
            foreach (var identifier in identifiers)
            {
                if (inBatch.TryGetValue(identifier, out var s) || known.TryGetValue(identifier, out s))
                {
                    found = s;
                    break;
                }
            }

            if (found is not { } subject || !groups.TryGetValue(subject, out var group))
            {
                subject = found ?? TimeOrderedIds.Next(now);
                var existing = found is null ? [] : await ledger.GetIdentifiersAsync(subject, cancellationToken);
                group = new SubjectGroup(subject, found is null, [.. existing]);
                groups.Add(subject, group);
                order.Add(group);
            }

            foreach (var identifier in identifiers)
            {
                // As for one record: an identifier another subject holds stays with it.
                if (!group.Identifiers.Contains(identifier) && !inBatch.ContainsKey(identifier) && !known.ContainsKey(identifier))
                {
                    group.Link.Add(identifier);
                    group.Identifiers.Add(identifier);
                    inBatch.Add(identifier, subject);
                }
            }

            group.Drafts.Add(draft);
            group.Via[draft.Id] = identifiers;
            group.Events.Add(events.ConsentChanged(subject, [.. group.Identifiers], purpose, draft, now));
            group.Indexes.Add((index, position));
        }

        return new BatchPlan(
            [.. order.Select(g => new LedgerAppend(g.Subject, g.Create, g.Link, g.Drafts, g.Events, now) { RecordedVia = g.Via })],
            [.. order.Select(g => (IReadOnlyList<(int, int)>)g.Indexes)],
            [.. inBatch.Select(p => (p.Key, p.Value))]);
    }

    private async Task<(List<SubjectIdentifier> Identifiers, Purpose? Purpose, RecordDraft? Draft)> ValidateRecordAsync(
        RecordConsentCommand command, DateTimeOffset now, Validation validation, CancellationToken cancellationToken)
    {
        var identifiers = SubjectIdentifiers.Normalize(command.Identifiers, hasher, identifierPolicy, validation, "person.identifiers.identifiers");
        var purpose = await RequirePurposeAsync(command.Purpose, validation, cancellationToken);
        validation.Require(command.Decision is 1 or 2, "decision", "must be CONSENT_DECISION_GRANTED or CONSENT_DECISION_WITHDRAWN");
        var channels = ChannelsOf(command.Channels, purpose, validation);
        if (command.PolicyVersion == 0)
        {
            validation.Add("policy_version", "is required: the policy version shown to the person");
        }
        else if (!await purposes.PolicyVersionExistsAsync(command.PolicyVersion, cancellationToken))
        {
            validation.Add("policy_version", $"policy version {command.PolicyVersion} does not exist");
        }

        if (command.CapturedAt is null)
        {
            validation.Add("capture_time", "is required");
        }
        else
        {
            validation.Require(command.CapturedAt.Value <= now + ConsentLimits.CaptureClockSkew, "capture_time", "must not be in the future");
        }

        ValidateProof(command.Touchpoint, command.FormId, command.IpAddress, command.UserAgent, validation);
        if (!validation.IsValid)
        {
            return (identifiers, purpose, null);
        }

        var draft = new RecordDraft(
            TimeOrderedIds.Next(now), purpose!.Id, command.Decision == 1, channels, command.PolicyVersion, Clock.Truncate(command.CapturedAt!.Value), now,
            command.Touchpoint, Proof(command.FormId, command.IpAddress, command.UserAgent), RecordOrigin.Direct, "");
        return (identifiers, purpose, draft);
    }

    /// <summary>Withdraws one purpose or every purpose of the catalog.</summary>
    public async Task<IReadOnlyList<ConsentRecord>> WithdrawAsync(WithdrawConsentCommand command, CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var validation = new Validation();
        var requestId = RequestIds.Parse(command.RequestId, validation);
        var fingerprint = requests.Fingerprint(requestId, () => command.AddTo(new RequestFingerprint("WithdrawConsent")));
        if (await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } replay)
        {
            return await requests.RecordsOfAsync(replay, cancellationToken);
        }

        var (subjectId, identifiers) = SubjectOf(command.Subject, command.Identifiers, validation);
        var selected = new List<Purpose>();
        if (command.AllPurposes)
        {
            validation.Require(command.Purpose.Length == 0, "all_purposes", "give either purpose or all_purposes, not both");
            validation.Require(command.Channels.Count == 0, "channels", "must be empty when all purposes are withdrawn");
            selected.AddRange(await purposes.AllAsync(cancellationToken));
        }
        else if (command.Purpose.Length == 0)
        {
            validation.Add("purpose", "is required unless all_purposes is set");
        }
        else if (await RequirePurposeAsync(command.Purpose, validation, cancellationToken) is { } purpose)
        {
            selected.Add(purpose);
        }

        var channels = selected.Count == 1 && !command.AllPurposes ? ChannelsOf(command.Channels, selected[0], validation) : ChannelMask.Empty;
        var policyVersion = command.PolicyVersion;
        if (policyVersion == 0)
        {
            policyVersion = await purposes.LatestPolicyVersionAsync(cancellationToken);
            validation.Require(policyVersion > 0, "policy_version", "no policy version exists yet");
        }
        else if (!await purposes.PolicyVersionExistsAsync(policyVersion, cancellationToken))
        {
            validation.Add("policy_version", $"policy version {policyVersion} does not exist");
        }

        var capturedAt = command.CapturedAt ?? now;
        validation.Require(capturedAt <= now + ConsentLimits.CaptureClockSkew, "capture_time", "must not be in the future");
        ValidateProof(command.Touchpoint, command.FormId, command.IpAddress, command.UserAgent, validation);
        validation.ThrowIfInvalid();

        Guid? subject = null;
        if (subjectId is { } id)
        {
            subject = await ledger.ResolveSubjectAsync(id, cancellationToken) ?? throw new NotFoundException("Subject", command.Subject);
        }

        var proof = Proof(command.FormId, command.IpAddress, command.UserAgent);
        var drafts = selected
            .Select(p => (p, new RecordDraft(TimeOrderedIds.Next(now), p.Id, false, channels, policyVersion, Clock.Truncate(capturedAt), now, command.Touchpoint, proof, RecordOrigin.Direct, "")))
            .ToList();
        return drafts.Count == 0 ? [] : await AppendAsync(identifiers, subject, drafts, now, (requestId, fingerprint), cancellationToken);
    }

    /// <summary>
    /// The decision for one purpose and channel. Reads only the decision source and the purpose
    /// directory (memory, on the embedded store); <paramref name="batchIndex"/> prefixes field
    /// names in a batch.
    /// </summary>
    public async ValueTask<CheckAnswer> CheckAsync(CheckQuery query, int batchIndex, CancellationToken cancellationToken)
    {
        var purpose = await purposes.FindByNameAsync(query.Purpose, cancellationToken)
            ?? throw new InvalidArgumentException(Field(batchIndex, "purpose"), "must name an existing purpose (purposes/{purpose})");
        if (query.Channel != 0 && !purpose.Channels.Contains(query.Channel))
        {
            throw new InvalidArgumentException(Field(batchIndex, "channel"), $"is not covered by purpose '{purpose.Id}'");
        }

        Guid? subject;
        if (query.Subject.Length > 0)
        {
            if (query.Identifiers.Count > 0 || !TryParseSubject(query.Subject, out var id))
            {
                throw new InvalidArgumentException(Field(batchIndex, "subject"), "must be subjects/{subject}, given without identifiers");
            }

            subject = await decisions.ResolveSubjectAsync(id, cancellationToken);
        }
        else
        {
            var validation = new Validation();
            var identifiers = SubjectIdentifiers.Normalize(query.Identifiers, hasher, identifierPolicy, validation, "person.identifiers.identifiers");
            if (!validation.IsValid)
            {
                // Field names get their batch prefix only on failure, so a valid batch builds no strings for them.
                throw new InvalidArgumentException([.. validation.Violations.Select(v => v with { Field = Field(batchIndex, v.Field) })]);
            }

            subject = await decisions.FindSubjectAsync(identifiers, cancellationToken);
        }

        var current = subject is { } s ? await decisions.GetAsync(s, purpose.Id, cancellationToken) : PurposeDecisions.None;
        return new CheckAnswer(subject, ConsentDecision.Evaluate(purpose, current, query.Channel, time.GetUtcNow()));
    }

    /// <summary>Many checks, answered in order.</summary>
    public async Task<CheckAnswer[]> BatchCheckAsync(IReadOnlyList<CheckQuery> queries, CancellationToken cancellationToken)
    {
        if (queries.Count is 0 or > ConsentLimits.MaxBatchChecks)
        {
            throw new InvalidArgumentException("checks", $"must hold 1 to {ConsentLimits.MaxBatchChecks} checks");
        }

        var answers = new CheckAnswer[queries.Count];
        for (var i = 0; i < queries.Count; i++)
        {
            answers[i] = await CheckAsync(queries[i], i, cancellationToken);
        }

        return answers;
    }

    /// <summary>A page of the subject's history (and that of subjects merged into it).</summary>
    public async Task<(Guid Subject, IReadOnlyList<ConsentRecord> Records, string NextPageToken)> ListHistoryAsync(
        string subjectName, IReadOnlyList<IdentifierInput> identifiers, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var size = ConsentLimits.PageSize(pageSize, validation);
        long after = 0;
        validation.Require(pageToken.Length == 0 || (long.TryParse(pageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after) && after > 0), "page_token", "is not a token this service returned");
        var subject = await RequireSubjectAsync(subjectName, identifiers, validation, cancellationToken);
        var records = await ledger.ListHistoryAsync(subject, after, size + 1, cancellationToken);
        var page = records.Take(size).ToList();
        var next = records.Count > size ? page[^1].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
        return (subject, page, next);
    }

    /// <summary>
    /// Walks the subject's chain, compares its end with the head stored for the subject, and then
    /// the chain with the latest signed checkpoint.
    /// </summary>
    public async Task<(Guid Subject, ChainVerification Result)> VerifyChainAsync(string subjectName, IReadOnlyList<IdentifierInput> identifiers, CancellationToken cancellationToken)
    {
        var subject = await RequireSubjectAsync(subjectName, identifiers, new Validation(), cancellationToken);
        // The head, the chain and the checkpoint are separate reads, so an append or a checkpoint
        // landing between them can look like a break (a chain longer than the head read before it,
        // a checkpoint covering records the chain read before it lacks). A real break is still there
        // when everything is read again; a race is not.
        for (var attempt = 1; ; attempt++)
        {
            var head = await ledger.GetChainHeadAsync(subject, cancellationToken);
            var chain = await ledger.ReadChainAsync(subject, cancellationToken);
            var result = ConsentChain.Verify(chain, head);
            if (result.Break == ChainBreak.None)
            {
                result = await checkpoints.CheckAsync(subject, chain, result, cancellationToken);
            }

            if (result.Break == ChainBreak.None || attempt == 2)
            {
                return (subject, result);
            }
        }
    }

    /// <summary>
    /// Appends drafts to the subject the identifiers name (a new one when none does), linking the
    /// identifiers nobody holds, and publishes them; <paramref name="extend"/> adds what the caller's
    /// path stores in the same transaction (an event's inbox claim and erasure checks).
    /// </summary>
    internal async Task<IReadOnlyList<ConsentRecord>> AppendAsync(
        List<SubjectIdentifier> identifiers, Guid? knownSubject, IReadOnlyList<(Purpose Purpose, RecordDraft Draft)> drafts, DateTimeOffset now,
        (string? Id, string Fingerprint) request, CancellationToken cancellationToken, Func<LedgerAppend, LedgerAppend>? extend = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (attempt > 1 && await requests.FindAsync(request.Id, request.Fingerprint, cancellationToken) is { } concurrent)
            {
                // Another call with the same request id got there first.
                return await requests.RecordsOfAsync(concurrent, cancellationToken);
            }

            var found = knownSubject ?? await ledger.FindSubjectAsync(identifiers, cancellationToken);
            var subject = found ?? TimeOrderedIds.Next(now);
            var existing = found is null ? [] : await ledger.GetIdentifiersAsync(subject, cancellationToken);
            var link = new List<SubjectIdentifier>();
            foreach (var identifier in identifiers)
            {
                // An identifier another subject holds stays with it: merging people is the profile
                // service's decision, and reaches this ledger as ProfilesMerged.
                if (!existing.Contains(identifier) && await ledger.FindSubjectAsync([identifier], cancellationToken) is null)
                {
                    link.Add(identifier);
                }
            }

            var all = existing.Concat(link).ToList();
            var messages = drafts.Select(d => events.ConsentChanged(subject, all, d.Purpose, d.Draft, now)).ToList();
            var claim = requests.Claim(request.Id, request.Fingerprint, new RequestOutcome([.. drafts.Select((d, i) => new OutcomeRecord(i, subject, d.Draft.Id))], [], null), now);
            try
            {
                var append = new LedgerAppend(subject, found is null, link, [.. drafts.Select(d => d.Draft)], messages, now, claim)
                {
                    RecordedVia = identifiers.Count == 0 ? LedgerAppend.NoVia : drafts.ToDictionary(d => d.Draft.Id, _ => (IReadOnlyList<SubjectIdentifier>)identifiers),
                };
                var records = await ledger.AppendAsync(extend is null ? append : extend(append), cancellationToken);
                if (records.Count == 0)
                {
                    // The event was applied before: nothing was written.
                    return records;
                }

                decisions.Apply(new LedgerChange([.. link.Select(i => (i, subject))], records, [], []));
                ConsentTelemetry.RecordsAppended.Add(records.Count);
                return records;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxConflictRetries)
            {
                // Another writer linked one of these identifiers first, or stored the same request id: resolve again.
            }
        }
    }

    private async Task<Guid> RequireSubjectAsync(string subjectName, IReadOnlyList<IdentifierInput> inputs, Validation validation, CancellationToken cancellationToken)
    {
        var (subjectId, identifiers) = SubjectOf(subjectName, inputs, validation);
        validation.ThrowIfInvalid();
        var subject = subjectId is { } id
            ? await ledger.ResolveSubjectAsync(id, cancellationToken)
            : await ledger.FindSubjectAsync(identifiers, cancellationToken);
        return subject ?? throw new NotFoundException("Subject", subjectId is null ? "given by the identifiers" : subjectName);
    }

    private (Guid? Subject, List<SubjectIdentifier> Identifiers) SubjectOf(string subjectName, IReadOnlyList<IdentifierInput> inputs, Validation validation)
    {
        if (subjectName.Length > 0)
        {
            if (inputs.Count > 0)
            {
                validation.Add("subject", "give either subject or person, not both");
            }

            if (!TryParseSubject(subjectName, out var id))
            {
                validation.Add("subject", "must be subjects/{subject}");
                return (null, []);
            }

            return (id, []);
        }

        if (inputs.Count == 0)
        {
            validation.Add("subject", "give subject or person");
            return (null, []);
        }

        return (null, SubjectIdentifiers.Normalize(inputs, hasher, identifierPolicy, validation, "person.identifiers.identifiers"));
    }

    private async ValueTask<Purpose?> RequirePurposeAsync(string name, Validation validation, CancellationToken cancellationToken)
    {
        var purpose = name.Length == 0 ? null : await purposes.FindByNameAsync(name, cancellationToken);
        if (purpose is null)
        {
            validation.Add("purpose", name.Length == 0 ? "is required" : "must name an existing purpose (purposes/{purpose})");
        }

        return purpose;
    }

    private static ChannelMask ChannelsOf(IReadOnlyList<int> channels, Purpose? purpose, Validation validation)
    {
        var bits = 0;
        for (var i = 0; i < channels.Count; i++)
        {
            var channel = channels[i];
            if (purpose is not null && !purpose.Channels.Contains(channel))
            {
                validation.Add($"channels[{i}]", $"is not covered by purpose '{purpose.Id}'");
            }
            else if (channel is >= 1 and <= ChannelMask.MaxChannel)
            {
                bits |= 1 << channel;
            }
        }

        return new ChannelMask(bits);
    }

    private static void ValidateProof(string touchpoint, string formId, string ipAddress, string userAgent, Validation validation)
    {
        validation.Require(touchpoint.Length <= ConsentLimits.MaxIdLength, "touchpoint", $"must be at most {ConsentLimits.MaxIdLength} characters");
        validation.Require(formId.Length <= ConsentLimits.MaxIdLength, "form_id", $"must be at most {ConsentLimits.MaxIdLength} characters");
        validation.Require(ipAddress.Length <= ConsentLimits.MaxIpAddressLength, "ip_address", $"must be at most {ConsentLimits.MaxIpAddressLength} characters");
        validation.Require(userAgent.Length <= ConsentLimits.MaxUserAgentLength, "user_agent", $"must be at most {ConsentLimits.MaxUserAgentLength} characters");
    }

    private ConsentProof Proof(string formId, string ipAddress, string userAgent) =>
        ConsentChain.Proof(formId, ipAddress.Length == 0 ? "" : hasher.Hash("ip:" + ipAddress.Trim()), userAgent);

    private static string Field(int batchIndex, string field) => batchIndex < 0 ? field : $"checks[{batchIndex}].{field}";

    private static bool TryParseSubject(string name, out Guid subject)
    {
        subject = default;
        return name.StartsWith("subjects/", StringComparison.Ordinal) && Guid.TryParse(name.AsSpan(9), out subject);
    }
}

/// <summary>Times as the ledger keeps them: milliseconds, so every store round-trips them exactly.</summary>
public static class Clock
{
    /// <summary>Now, truncated to the millisecond.</summary>
    public static DateTimeOffset Now(TimeProvider time) => Truncate(time.GetUtcNow());

    /// <summary><paramref name="value"/> truncated to the millisecond, in UTC.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());
}

/// <summary>The outcome of a batch of records.</summary>
/// <param name="Accepted">Stored records with their index in the batch, in batch order.</param>
/// <param name="Rejected">Faults of the records not stored, with their index, in batch order.</param>
public sealed record BatchRecordResult(IReadOnlyList<(int Index, ConsentRecord Record)> Accepted, IReadOnlyList<(int Index, FieldViolation Violation)> Rejected);

/// <summary>A batch grouped by subject: the appends, each append's (batch index, accepted position) per record, and the identifiers linked.</summary>
internal sealed record BatchPlan(IReadOnlyList<LedgerAppend> Appends, IReadOnlyList<IReadOnlyList<(int Index, int Position)>> Indexes, IReadOnlyList<(SubjectIdentifier Identifier, Guid Subject)> Linked);

/// <summary>One subject's part of a batch while it is planned.</summary>
internal sealed class SubjectGroup(Guid subject, bool create, List<SubjectIdentifier> identifiers)
{
    public Guid Subject { get; } = subject;

    public bool Create { get; } = create;

    public List<SubjectIdentifier> Identifiers { get; } = identifiers;

    public List<SubjectIdentifier> Link { get; } = [];

    public List<RecordDraft> Drafts { get; } = [];

    public Dictionary<Guid, IReadOnlyList<SubjectIdentifier>> Via { get; } = [];

    public List<OutboxMessage> Events { get; } = [];

    public List<(int Index, int Position)> Indexes { get; } = [];
}
