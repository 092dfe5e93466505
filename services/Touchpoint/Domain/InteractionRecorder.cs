using System.Text.RegularExpressions;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>The rules an interaction must meet to be accepted.</summary>
/// <param name="Retention">How long raw interactions are kept; older ones are refused.</param>
/// <param name="MaxClockSkew">How far ahead of the server clock a sender may be.</param>
public sealed record IngestRules(TimeSpan Retention, TimeSpan MaxClockSkew)
{
    /// <summary>Largest batch in one call or stream message.</summary>
    public const int MaxBatch = 1000;
}

/// <summary>
/// Accepts interactions: validates each on its own, hashes personal identifiers, and stores every
/// valid one with its event in one transaction per batch. One bad interaction never rejects the
/// others, and a repeated interaction id changes nothing.
/// </summary>
public sealed partial class InteractionRecorder(ITouchpointStore catalog, IInteractionStore interactions, ITouchpointEvents events, IdentifierHasher hasher, IngestRules rules, TimeProvider time)
{
    /// <summary>Records one interaction; throws InvalidArgumentException naming the field when it is refused. Returns true for a duplicate.</summary>
    public async Task<bool> RecordOneAsync(Interaction interaction, CancellationToken cancellationToken)
    {
        var result = await RecordAsync([interaction], "interaction", cancellationToken);
        if (result.Rejected.Count > 0)
        {
            throw new InvalidArgumentException(result.Rejected.Select(r => new FieldViolation(r.Field, r.Reason)).ToList());
        }

        return result.Duplicates == 1;
    }

    /// <summary>Records a batch; each refused interaction is reported, all others stored.</summary>
    public Task<RecordResult> RecordBatchAsync(IReadOnlyList<Interaction> batch, CancellationToken cancellationToken)
    {
        if (batch.Count is 0 or > IngestRules.MaxBatch)
        {
            throw new InvalidArgumentException("interactions", $"must hold 1 to {IngestRules.MaxBatch} interactions (got {batch.Count})");
        }

        return RecordAsync(batch, null, cancellationToken);
    }

    private async Task<RecordResult> RecordAsync(IReadOnlyList<Interaction> batch, string? singleField, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var touchpoints = new Dictionary<string, TouchpointEntry?>(StringComparer.Ordinal);
        var rejected = new List<Rejection>();
        var accepted = new List<(Interaction, Shared.Events.OutboxMessage)>(batch.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var repeatsInBatch = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var prefix = singleField ?? $"interactions[{i}]";
            var interaction = batch[i];
            var problem = Check(interaction, now);
            TouchpointEntry? touchpoint = null;
            if (problem is null)
            {
                var id = interaction.TouchpointId["touchpoints/".Length..];
                if (!touchpoints.TryGetValue(id, out touchpoint))
                {
                    touchpoint = await catalog.GetAsync(id, cancellationToken);
                    touchpoints[id] = touchpoint;
                }

                problem = touchpoint switch
                {
                    null => ("touchpoint", $"names no touchpoint in the catalog ({interaction.TouchpointId})"),
                    { Retired: true } => ("touchpoint", $"{interaction.TouchpointId} is retired and accepts no interactions"),
                    _ => null,
                };
            }

            if (problem is { } p)
            {
                rejected.Add(new Rejection(i, interaction.InteractionId, $"{prefix}.{p.Field}", p.Reason));
                continue;
            }

            if (!seen.Add(interaction.InteractionId))
            {
                repeatsInBatch++;
                continue;
            }

            var normalized = interaction with { Identifiers = interaction.Identifiers.Select(Protect).Distinct().ToList() };
            accepted.Add((normalized, events.InteractionRecorded(normalized, touchpoint!, now)));
        }

        var duplicates = accepted.Count == 0 ? new HashSet<string>() : await interactions.AppendAsync(accepted, cancellationToken);
        return new RecordResult(accepted.Count - duplicates.Count, duplicates.Count + repeatsInBatch, rejected);
    }

    private (string Field, string Reason)? Check(Interaction interaction, DateTimeOffset now)
    {
        if (!IdPattern().IsMatch(interaction.InteractionId))
        {
            return ("interaction_id", "must be 1 to 128 printable ASCII characters");
        }

        if (!interaction.TouchpointId.StartsWith("touchpoints/", StringComparison.Ordinal) || !TouchpointCatalog.IsValidId(interaction.TouchpointId["touchpoints/".Length..]))
        {
            return ("touchpoint", "must be a touchpoint name like touchpoints/lease-calculator");
        }

        if (interaction.OccurredAt is not { } at)
        {
            return ("occur_time", "is required");
        }

        if (at > now + rules.MaxClockSkew)
        {
            return ("occur_time", $"is more than {rules.MaxClockSkew.TotalMinutes:0} minutes in the future; check the sender's clock");
        }

        if (at < now - rules.Retention)
        {
            return ("occur_time", $"is older than the retention window of {rules.Retention.TotalDays:0} days");
        }

        if (interaction.Identifiers.Count is 0 or > 10)
        {
            return ("identifiers", "must hold 1 to 10 identifiers of the person");
        }

        for (var i = 0; i < interaction.Identifiers.Count; i++)
        {
            if (CheckIdentifier(interaction.Identifiers[i]) is { } reason)
            {
                return ($"identifiers[{i}]", reason);
            }
        }

        return CheckDetails(interaction);
    }

    private static (string Field, string Reason)? CheckDetails(Interaction interaction)
    {
        if (interaction.Type == InteractionType.Unspecified || !Enum.IsDefined(interaction.Type))
        {
            return ("type", "must be set to a known interaction type");
        }

        if (interaction.ContentId.Length > 0 && !ReferencePattern("contents").IsMatch(interaction.ContentId))
        {
            return ("content", "must be empty or a content name like contents/lease-vs-buy-guide");
        }

        if (interaction.RecommendationId.Length > 0 && !ReferencePattern("recommendations").IsMatch(interaction.RecommendationId))
        {
            return ("recommendation", "must be empty or a name like recommendations/{id}");
        }

        if (interaction.Rating is < 0 or > 5)
        {
            return ("rating", "must be 1 to 5, or 0 for no rating");
        }

        if (interaction.Comment.Length > 2000)
        {
            return ("comment", "must be at most 2000 characters");
        }

        if (interaction.Value is { } money && (!CurrencyPattern().IsMatch(money.CurrencyCode) || money.Nanos is < -999_999_999 or > 999_999_999 || (money.Units > 0 && money.Nanos < 0) || (money.Units < 0 && money.Nanos > 0)))
        {
            return ("value", "must have a three-letter ISO 4217 currency code and nanos within ±999,999,999 of the units' sign");
        }

        if (interaction.Properties.Count > 32)
        {
            return ("properties", "must hold at most 32 entries");
        }

        foreach (var (key, value) in interaction.Properties)
        {
            if (key.Length is 0 or > 64 || value.Length > 512)
            {
                return ("properties", "keys must be 1 to 64 characters and values at most 512");
            }
        }

        return null;
    }

    private static string? CheckIdentifier(PersonIdentifier identifier) => identifier.Kind switch
    {
        IdentifierKind.Unspecified => "kind must be set",
        _ when !Enum.IsDefined(identifier.Kind) => "kind is unknown",
        _ when identifier.Value.Trim().Length is 0 or > 256 => "value must be 1 to 256 characters",
        IdentifierKind.Email when !IdentifierHasher.IsPlausibleEmail(identifier.Value) => "value is not an e-mail address",
        IdentifierKind.Phone when !IdentifierHasher.IsPlausiblePhone(identifier.Value) => "value is not a phone number (6 to 15 digits)",
        _ => null,
    };

    private PersonIdentifier Protect(PersonIdentifier identifier) => identifier.Kind switch
    {
        IdentifierKind.Email => identifier with { Value = hasher.HashEmail(identifier.Value) },
        IdentifierKind.Phone => identifier with { Value = hasher.HashPhone(identifier.Value) },
        _ => identifier with { Value = identifier.Value.Trim() },
    };

    private static Regex ReferencePattern(string collection) => collection == "contents" ? ContentPattern() : RecommendationPattern();

    [GeneratedRegex("^[\\x21-\\x7E]{1,128}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^contents/[A-Za-z0-9._~-]{1,128}$")]
    private static partial Regex ContentPattern();

    [GeneratedRegex("^recommendations/[A-Za-z0-9._~-]{1,128}$")]
    private static partial Regex RecommendationPattern();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyPattern();
}
