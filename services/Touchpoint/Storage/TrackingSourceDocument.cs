using System.Text.Json;
using System.Text.Json.Serialization;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Storage;

/// <summary>
/// A tracking source as both stores keep it: one JSON document (read and written whole, a few
/// kilobytes), with the key hashes also kept apart where a key is looked up.
/// </summary>
internal static class TrackingSourceDocument
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize(TrackingSource source) => JsonSerializer.Serialize(Row.From(source), Options);

    public static TrackingSource Deserialize(string json) =>
        (JsonSerializer.Deserialize<Row>(json, Options) ?? throw new JsonException("empty tracking source document")).ToSource();

    /// <summary>The stored shape: explicit, so renaming a domain member never changes what is on disk.</summary>
    private sealed record Row(
        string Id, string DisplayName, List<string> AllowedOrigins, int RequestsPerSecond, PlanRow Plan, List<KeyRow> Keys,
        long Version, long CreatedAt, long UpdatedAt)
    {
        public static Row From(TrackingSource s) => new(
            s.Id, s.DisplayName, [.. s.AllowedOrigins], s.RequestsPerSecond, PlanRow.From(s.Plan), [.. s.WriteKeys.Select(KeyRow.From)],
            s.Version, s.CreatedAt.ToUnixTimeMilliseconds(), s.UpdatedAt.ToUnixTimeMilliseconds());

        public TrackingSource ToSource() => new(
            Id, DisplayName, AllowedOrigins, RequestsPerSecond, Plan.ToPlan(), [.. Keys.Select(k => k.ToKey())], Version,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAt));
    }

    /// <summary>The plan; <c>Consent</c> is absent (null) in documents written before consent categories existed.</summary>
    private sealed record PlanRow(List<EventRow> Events, List<PageRow> Pages, List<TraitRow> Traits, string AdTouchpoint, List<ConsentRow>? Consent)
    {
        public static PlanRow From(TrackingPlan p) => new(
            [.. p.Events.Select(e => new EventRow(e.EventName, e.Touchpoint, (int)e.Type, [.. e.RequiredProperties]))],
            [.. p.Pages.Select(x => new PageRow(x.Name, x.PathPattern, x.Touchpoint, (int)x.Type))],
            [.. p.Traits.Select(t => new TraitRow(t.Trait, (int)t.Kind))],
            p.AdTouchpoint,
            [.. p.ConsentCategories.Select(c => new ConsentRow(c.Category, c.PurposeId))]);

        public TrackingPlan ToPlan() => new(
            [.. Events.Select(e => new EventMapping(e.Event, e.Touchpoint, (InteractionType)e.Type, e.Required))],
            [.. Pages.Select(x => new PageMapping(x.Name, x.Path, x.Touchpoint, (InteractionType)x.Type))],
            [.. Traits.Select(t => new TraitMapping(t.Trait, (IdentifierKind)t.Kind))],
            AdTouchpoint)
        {
            ConsentCategories = [.. (Consent ?? []).Select(c => new ConsentCategoryMapping(c.Category, c.Purpose))],
        };
    }

    private sealed record ConsentRow(string Category, string Purpose);

    private sealed record EventRow(string Event, string Touchpoint, int Type, List<string> Required);

    private sealed record PageRow(string Name, string Path, string Touchpoint, int Type);

    private sealed record TraitRow(string Trait, int Kind);

    private sealed record KeyRow(string Id, string Hash, string Hint, long CreatedAt, long? RevokedAt)
    {
        public static KeyRow From(WriteKey k) => new(k.Id, k.Hash, k.Hint, k.CreatedAt.ToUnixTimeMilliseconds(), k.RevokedAt?.ToUnixTimeMilliseconds());

        public WriteKey ToKey() => new(
            Id, Hash, Hint, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt), RevokedAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null);
    }
}
