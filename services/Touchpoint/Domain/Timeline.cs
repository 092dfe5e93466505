using System.Globalization;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Privacy;

namespace Journey.Touchpoint.Domain;

/// <summary>A person's timeline, and what the profile and consent services ask of it (merges, erasure).</summary>
public sealed class PersonTimeline(IInteractionLog log, ITouchpointEvents events, IdentifierHasher hasher, TimeProvider clock)
{
    /// <summary>One page of the timeline of whoever <paramref name="kind"/>/<paramref name="value"/> identifies, newest first.</summary>
    public async Task<(IReadOnlyList<TimelineEntry> Page, string NextPageToken)> ListAsync(IdentifierKind kind, string value, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(kind != IdentifierKind.Unspecified && Enum.IsDefined(kind), "identifier.kind", "must be a known identifier kind");
        validation.Require(value.Length is >= 1 and <= 256, "identifier.value", "must be 1 to 256 characters");
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        var cursor = DecodeCursor(pageToken);
        validation.Require(pageToken.Length == 0 || cursor is not null, "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();

        var identifier = kind switch
        {
            IdentifierKind.Email => new PersonIdentifier(kind, hasher.HashEmail(value)),
            IdentifierKind.Phone => new PersonIdentifier(kind, hasher.HashPhone(value)),
            IdentifierKind.ProfileId => new PersonIdentifier(kind, value.StartsWith("profiles/", StringComparison.Ordinal) ? value["profiles/".Length..] : value),
            _ => new PersonIdentifier(kind, value),
        };
        var size = PageTokens.Size(pageSize);
        var rows = await log.TimelineAsync(identifier, cursor, size + 1, cancellationToken);
        if (rows.Count <= size)
        {
            return (rows, "");
        }

        var last = rows[size - 1].Cursor;
        return (rows.Take(size).ToList(),
            PageTokens.Encode(string.Create(CultureInfo.InvariantCulture, $"{last.OccurredAt.ToUnixTimeMilliseconds()}.{last.Sequence}")));
    }

    /// <summary>Applies profile merges, so a profile's timeline covers everyone merged into it.</summary>
    public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, CancellationToken cancellationToken) =>
        log.ApplyMergesAsync(merges, clock.GetUtcNow(), cancellationToken);

    /// <summary>Erases everyone linked to <paramref name="identifiers"/> and announces it with <c>erasure-completed</c>.</summary>
    public Task EraseAsync(string eventId, string erasure, IReadOnlyList<PersonIdentifier> identifiers, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return log.EraseAsync(eventId, identifiers, count => events.ErasureCompleted(erasure, count, now), now, cancellationToken);
    }

    private static TimelineCursor? DecodeCursor(string token)
    {
        var text = PageTokens.TryDecode(token);
        var dot = text?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (text is null || dot < 1
            || !long.TryParse(text.AsSpan(0, dot), NumberStyles.Integer, CultureInfo.InvariantCulture, out var millis)
            || !long.TryParse(text.AsSpan(dot + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var sequence)
            || millis is < -62135596800000 or > 253402300799999)
        {
            return null;
        }

        return new TimelineCursor(DateTimeOffset.FromUnixTimeMilliseconds(millis), sequence);
    }
}
