using Journey.Shared.Errors;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Domain;

/// <summary>
/// Validates and records interactions. A batch costs one catalog read and one store transaction,
/// however many interactions it holds; bad interactions are rejected one by one.
/// </summary>
public sealed class InteractionRecorder(
    ITouchpointCatalogStore catalog,
    IInteractionLog log,
    ITouchpointEvents events,
    IdentifierHasher hasher,
    IdentifierPolicy identifierPolicy,
    IOptions<TouchpointOptions> options,
    TimeProvider clock)
{
    /// <summary>Most interactions in one batch or stream message.</summary>
    public const int MaxBatch = 1000;

    /// <summary>How far ahead of the service's clock an interaction may be.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    private const string PropertyKeyRule = "key must not contain control characters (such as NUL) or '.', nor start with '$'";

    /// <summary>An empty group for consecutive stream messages, within the settings and the store's budget.</summary>
    public StreamGroup NewStreamGroup() =>
        new(Math.Min(options.Value.StreamTransactionSize, log.TransactionBudget.Interactions), log.TransactionBudget.Bytes);

    /// <summary>
    /// Records one interaction; throws <see cref="InvalidArgumentException"/> naming every bad field,
    /// and ALREADY_EXISTS when its id was recorded before with other content. True when it was a duplicate.
    /// </summary>
    public async Task<bool> RecordOneAsync(InteractionInput input, CancellationToken cancellationToken)
    {
        var now = StoredTime.Now(clock);
        var touchpoints = await LoadTouchpointsAsync([[input]], cancellationToken);
        var validation = new Validation();
        var pending = Validate(input, touchpoints, now, "interaction.", validation);
        validation.ThrowIfInvalid();
        var appended = (await log.AppendAsync([pending!], cancellationToken))[0];
        Count(appended == Appended.Stored ? 1 : 0, appended == Appended.Duplicate ? 1 : 0, 0, appended == Appended.Conflict ? 1 : 0);
        return appended switch
        {
            Appended.Conflict => throw new DomainException(ErrorKind.AlreadyExists, $"interaction.interaction_id: {ReusedId(input.EventId)}", reason: ErrorReasons.InteractionIdReused),
            _ => appended == Appended.Duplicate,
        };
    }

    private static string ReusedId(string eventId) =>
        $"'{(eventId.Length <= 64 ? eventId : eventId[..64] + "…")}' was recorded before with other content (touchpoint, time, type, identifiers, content or properties); "
        + "the stored interaction is unchanged and this one was not kept: give a new interaction a new id";

    /// <summary>Records a batch: good interactions are stored in one transaction, bad ones listed.</summary>
    public async Task<BatchOutcome> RecordBatchAsync(IReadOnlyList<InteractionInput> inputs, CancellationToken cancellationToken) =>
        (await RecordBatchesAsync([inputs], cancellationToken))[0];

    /// <summary>
    /// Records several batches (consecutive messages of one stream) in one transaction, each validated
    /// on its own as <see cref="RecordBatchAsync"/> does, with an outcome per batch. A transaction's cost
    /// is dominated by the pages it dirties, and the rows of one person or day share pages, so a
    /// collector that sends faster than one batch is stored gets its backlog written together.
    /// </summary>
    public async Task<IReadOnlyList<BatchOutcome>> RecordBatchesAsync(IReadOnlyList<IReadOnlyList<InteractionInput>> batches, CancellationToken cancellationToken)
    {
        foreach (var inputs in batches)
        {
            if (inputs.Count is 0 or > MaxBatch)
            {
                throw new InvalidArgumentException("interactions", $"must hold 1 to {MaxBatch} interactions");
            }
        }

        using var activity = TouchpointTelemetry.Source.StartActivity("touchpoint.record_interactions");
        var now = StoredTime.Now(clock);
        var touchpoints = await LoadTouchpointsAsync(batches, cancellationToken);
        var pending = new List<PendingInteraction>();
        var owners = new List<int>();
        var indexes = new List<int>();
        var rejected = new List<Rejection>[batches.Count];
        for (var b = 0; b < batches.Count; b++)
        {
            rejected[b] = [];
            var inputs = batches[b];
            for (var i = 0; i < inputs.Count; i++)
            {
                var validation = new Validation();
                var valid = Validate(inputs[i], touchpoints, now, $"interactions[{i}].", validation);
                if (valid is null)
                {
                    var first = validation.Violations[0];
                    rejected[b].Add(new Rejection(i, inputs[i].EventId, first.Field, first.Description));
                }
                else
                {
                    pending.Add(valid);
                    owners.Add(b);
                    indexes.Add(i);
                }
            }
        }

        var accepted = new int[batches.Count];
        var duplicates = new int[batches.Count];
        var conflicts = new int[batches.Count];
        if (pending.Count > 0)
        {
            var appended = await log.AppendAsync(pending, cancellationToken);
            TouchpointTelemetry.TransactionSize.Record(pending.Count);
            for (var i = 0; i < appended.Count; i++)
            {
                var b = owners[i];
                switch (appended[i])
                {
                    case Appended.Stored:
                        accepted[b]++;
                        break;
                    case Appended.Duplicate:
                        duplicates[b]++;
                        break;
                    default:
                        conflicts[b]++;
                        rejected[b].Add(new Rejection(indexes[i], pending[i].Interaction.EventId, $"interactions[{indexes[i]}].interaction_id", ReusedId(pending[i].Interaction.EventId)));
                        break;
                }
            }
        }

        var outcomes = new BatchOutcome[batches.Count];
        for (var b = 0; b < batches.Count; b++)
        {
            rejected[b].Sort((x, y) => x.Index.CompareTo(y.Index));
            outcomes[b] = new BatchOutcome(accepted[b], duplicates[b], rejected[b], conflicts[b]);
        }

        var (acceptedCount, duplicateCount, rejectedCount, conflictCount) = (accepted.Sum(), duplicates.Sum(), rejected.Sum(r => r.Count), conflicts.Sum());
        activity?.SetTag("journey.touchpoint.accepted", acceptedCount);
        activity?.SetTag("journey.touchpoint.duplicates", duplicateCount);
        activity?.SetTag("journey.touchpoint.rejected", rejectedCount);
        activity?.SetTag("journey.touchpoint.conflicts", conflictCount);
        Count(acceptedCount, duplicateCount, rejectedCount - conflictCount, conflictCount);
        return outcomes;
    }

    private static void Count(int accepted, int duplicates, int rejected, int conflicts)
    {
        TouchpointTelemetry.Interactions.Add(accepted, new KeyValuePair<string, object?>("outcome", "accepted"));
        TouchpointTelemetry.Interactions.Add(duplicates, new KeyValuePair<string, object?>("outcome", "duplicate"));
        TouchpointTelemetry.Interactions.Add(rejected, new KeyValuePair<string, object?>("outcome", "rejected"));
        TouchpointTelemetry.Interactions.Add(conflicts, new KeyValuePair<string, object?>("outcome", "reused_id"));
    }

    private async Task<IReadOnlyDictionary<string, TouchpointDefinition>> LoadTouchpointsAsync(IReadOnlyList<IReadOnlyList<InteractionInput>> batches, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var inputs in batches)
        {
            foreach (var input in inputs)
            {
                if (TouchpointNames.TryParse(input.Touchpoint) is { } id)
                {
                    ids.Add(id);
                }
            }
        }

        return ids.Count == 0 ? new Dictionary<string, TouchpointDefinition>() : await catalog.GetManyAsync(ids, cancellationToken);
    }

    private PendingInteraction? Validate(InteractionInput input, IReadOnlyDictionary<string, TouchpointDefinition> touchpoints, DateTimeOffset now, string prefix, Validation validation)
    {
        validation.Require(input.EventId.Length is >= 1 and <= 128 && input.EventId.All(c => c is >= '!' and <= '~'), prefix + "interaction_id", "must be 1 to 128 printable ASCII characters");

        TouchpointDefinition? touchpoint = null;
        var touchpointId = TouchpointNames.TryParse(input.Touchpoint);
        if (touchpointId is null)
        {
            validation.Add(prefix + "touchpoint", "must be touchpoints/{touchpoint}");
        }
        else if (!touchpoints.TryGetValue(touchpointId, out touchpoint))
        {
            validation.Add(prefix + "touchpoint", "is not a known touchpoint");
        }
        else if (touchpoint.Retired)
        {
            validation.Add(prefix + "touchpoint", "is retired and takes no new interactions");
        }

        var retention = options.Value.Retention;
        if (input.OccurredAt is not { } occurredAt)
        {
            validation.Add(prefix + "occur_time", "is required");
        }
        else if (occurredAt > now + MaxClockSkew)
        {
            validation.Add(prefix + "occur_time", "must not be more than 5 minutes in the future");
        }
        else if (occurredAt < now - retention)
        {
            validation.Add(prefix + "occur_time", $"must be within the retention window of {options.Value.RetentionDays} days");
        }

        var identifiers = new List<PersonIdentifier>(input.Identifiers.Count);
        if (input.Identifiers.Count == 0)
        {
            validation.Add(prefix + "identifiers", "must hold at least one identifier of the person");
        }
        else if (input.Identifiers.Count > 10)
        {
            validation.Add(prefix + "identifiers", "must hold at most 10 identifiers");
        }
        else
        {
            for (var i = 0; i < input.Identifiers.Count; i++)
            {
                var (kind, value) = input.Identifiers[i];
                var field = $"{prefix}identifiers[{i}]";
                if (kind == IdentifierKind.Unspecified || !Enum.IsDefined(kind))
                {
                    validation.Add(field + ".kind", "must be a known identifier kind");
                }
                else if (value.Length is < 1 or > 256)
                {
                    validation.Add(field + ".value", "must be 1 to 256 characters");
                }
                else if (identifierPolicy.Refusal(value) is { } refusal)
                {
                    validation.Add(field + ".value", refusal);
                }
                else if (kind == IdentifierKind.Email)
                {
                    if (IdentifierHasher.IsPlausibleEmail(value))
                    {
                        identifiers.Add(new PersonIdentifier(kind, hasher.HashEmail(value)));
                    }
                    else
                    {
                        validation.Add(field + ".value", "must be an e-mail address");
                    }
                }
                else if (kind == IdentifierKind.Phone)
                {
                    if (IdentifierHasher.IsPlausiblePhone(value))
                    {
                        identifiers.Add(new PersonIdentifier(kind, hasher.HashPhone(value)));
                    }
                    else
                    {
                        validation.Add(field + ".value", "must be a phone number of 6 to 15 digits");
                    }
                }
                else
                {
                    identifiers.Add(new PersonIdentifier(kind, value));
                }
            }
        }

        validation.Require(input.Type != InteractionType.Unspecified && Enum.IsDefined(input.Type), prefix + "type", "must be a known interaction type");
        validation.Require(input.Content.Length == 0 || (input.Content.Length <= 256 && input.Content.StartsWith("contents/", StringComparison.Ordinal) && input.Content.Length > 9), prefix + "content", "must be contents/{content}, at most 256 characters");
        validation.Require(input.Recommendation.Length == 0 || (input.Recommendation.Length <= 256 && input.Recommendation.StartsWith("recommendations/", StringComparison.Ordinal) && input.Recommendation.Length > 16), prefix + "recommendation", "must be recommendations/{recommendation}, at most 256 characters");
        validation.Require(input.Rating is >= 0 and <= 5, prefix + "rating", "must be 1 to 5, or 0 for none");
        validation.Require(input.Comment.Length <= 2000, prefix + "comment", "must be at most 2000 characters");
        if (input.Value is { } money)
        {
            validation.Require(IsCurrencyCode(money.CurrencyCode), prefix + "value.currency_code", "must be an ISO 4217 code of three upper-case letters");
            validation.Require(money.Nanos is >= -999_999_999 and <= 999_999_999 && !(money.Units > 0 && money.Nanos < 0) && !(money.Units < 0 && money.Nanos > 0), prefix + "value.nanos", "must be -999999999 to 999999999 with the sign of units");
        }

        if (input.Properties.Count > 32)
        {
            validation.Add(prefix + "properties", "must hold at most 32 entries");
        }
        else
        {
            foreach (var (key, value) in input.Properties)
            {
                if (key.Length is < 1 or > 64)
                {
                    validation.Add(prefix + "properties", "keys must be 1 to 64 characters");
                    break;
                }

                if (!IsPropertyKey(key))
                {
                    validation.Add($"{prefix}properties[{Printable(key)}]", PropertyKeyRule);
                    break;
                }

                if (value.Length > 512)
                {
                    validation.Add($"{prefix}properties[{key}]", "must be at most 512 characters");
                    break;
                }
            }
        }

        if (!validation.IsValid)
        {
            return null;
        }

        var interaction = new Interaction(
            input.EventId, touchpoint!.Id, input.OccurredAt!.Value, identifiers, input.Type, input.Content, input.Recommendation,
            input.Rating, input.Comment, input.Value, input.Properties, now);
        var mask = touchpoint.StageMask | (input.Type == InteractionType.Purchase ? StageMask.Bit(JourneyStage.Purchase) : 0);
        return new PendingInteraction(interaction, mask, events.Recorded(interaction, touchpoint, now));
    }

    private static bool IsCurrencyCode(string code) => code.Length == 3 && code.All(char.IsAsciiLetterUpper);

    /// <summary>
    /// A key every store keeps as it is. MongoDB cannot hold a field name with NUL, refuses '$ref',
    /// '$id' and '$db' out of a DBRef's order, and reads '.' as a path in queries and updates, so such
    /// a key failed the whole transaction of its batch there while SQLite kept it: refused alike everywhere.
    /// </summary>
    private static bool IsPropertyKey(string key) => key[0] != '$' && !key.Contains('.', StringComparison.Ordinal) && !key.Any(char.IsControl);

    /// <summary>The key as a field path can show it: control characters as \uXXXX.</summary>
    private static string Printable(string key) =>
        string.Concat(key.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
