using System.Globalization;
using System.Text.Json;
using Journey.Consent.Domain;

namespace Journey.Consent.Storage;

/// <summary>The identifiers a record came through as the SQLite ledger stores them: a JSON array of <c>kind:value</c>.</summary>
internal static class RecordedVia
{
    public static string Encode(IReadOnlyList<SubjectIdentifier> identifiers) =>
        JsonSerializer.Serialize(identifiers.Select(i => ((int)i.Kind).ToString(CultureInfo.InvariantCulture) + ":" + i.Value));

    public static IReadOnlyList<SubjectIdentifier> Decode(string json) =>
        [.. (JsonSerializer.Deserialize<string[]>(json) ?? []).Select(key =>
        {
            // The kind is a number, so the first colon ends it whatever the value holds.
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            return new SubjectIdentifier((IdentifierKind)int.Parse(key.AsSpan(0, colon), CultureInfo.InvariantCulture), key[(colon + 1)..]);
        })];
}
