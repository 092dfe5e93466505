namespace Journey.WebConsole.Components;

/// <summary>One page of the touchpoint catalog as the priorities view lists it: found by text, sorted and paged on the server.</summary>
public sealed record CatalogPage(IReadOnlyList<Journey.Touchpoint.V1.Touchpoint> Rows, int Matches, int Page, int Pages, string Sort);

/// <summary>
/// Finds, sorts and pages the catalog for the priorities view. The catalog arrives whole (the
/// stage × channel map needs every touchpoint), so the list is cut here rather than by the API.
/// </summary>
public static class CatalogView
{
    public const int PageSize = 50;

    /// <summary>The orders offered, the first the default: most critical first, by name, by channel, highest intended rating first.</summary>
    public static readonly IReadOnlyList<string> Sorts = ["criticality", "name", "channel", "intended"];

    /// <summary>The <paramref name="page"/>th page (from 1) of the touchpoints whose id or name contains <paramref name="query"/>, in <paramref name="sort"/> order.</summary>
    public static CatalogPage Of(IReadOnlyList<Journey.Touchpoint.V1.Touchpoint> catalog, string? query, string? sort, int? page)
    {
        var text = (query ?? "").Trim();
        var matching = text.Length == 0
            ? catalog
            : [.. catalog.Where(t => t.DisplayName.Contains(text, StringComparison.OrdinalIgnoreCase) || Labels.Id(t.Name).Contains(text, StringComparison.OrdinalIgnoreCase))];
        var order = sort is not null && Sorts.Contains(sort) ? sort : Sorts[0];
        var byName = StringComparer.OrdinalIgnoreCase;
        IOrderedEnumerable<Journey.Touchpoint.V1.Touchpoint> sorted = order switch
        {
            "name" => matching.OrderBy(t => t.DisplayName, byName),
            "channel" => matching.OrderBy(t => Labels.Of(t.Channel), StringComparer.Ordinal).ThenBy(t => t.DisplayName, byName),
            "intended" => matching.OrderByDescending(t => t.IntendedExperience?.TargetRating ?? 0).ThenBy(t => t.DisplayName, byName),
            _ => matching.OrderByDescending(t => t.Criticality).ThenBy(t => t.DisplayName, byName),
        };
        var pages = Math.Max(1, (matching.Count + PageSize - 1) / PageSize);
        var number = Math.Clamp(page ?? 1, 1, pages);
        return new CatalogPage([.. sorted.ThenBy(t => t.Name, StringComparer.Ordinal).Skip((number - 1) * PageSize).Take(PageSize)], matching.Count, number, pages, order);
    }
}
