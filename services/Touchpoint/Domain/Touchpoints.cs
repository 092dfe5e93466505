namespace Journey.Touchpoint.Domain;

/// <summary>The experience a touchpoint should leave.</summary>
/// <param name="TargetSatisfaction">Target on the 1 to 5 rating scale.</param>
/// <param name="Statement">The feeling it should leave.</param>
public sealed record IntendedExperience(double TargetSatisfaction, string Statement);

/// <summary>A catalog entry: a place where a person meets the company.</summary>
public sealed record TouchpointDefinition(
    string Id,
    string DisplayName,
    Channel Channel,
    Ownership Ownership,
    IReadOnlyList<JourneyStage> Stages,
    int Criticality,
    IntendedExperience IntendedExperience,
    string OwningTeam,
    IReadOnlyList<string> Topics,
    bool Retired,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? RetiredAt)
{
    /// <summary>The resource name.</summary>
    public string Name => TouchpointNames.Format(Id);

    /// <summary>The stages as a bit set.</summary>
    public int StageMask => Domain.StageMask.Of(Stages);

    /// <summary>The opaque concurrency tag callers send back.</summary>
    public string Etag => Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The fields of a touchpoint a caller may set.</summary>
public sealed record TouchpointFields(
    string DisplayName,
    Channel Channel,
    Ownership Ownership,
    IReadOnlyList<JourneyStage> Stages,
    int Criticality,
    IntendedExperience? IntendedExperience,
    string OwningTeam,
    IReadOnlyList<string> Topics);

/// <summary>Which fields an update changes.</summary>
[Flags]
public enum TouchpointFieldMask
{
    None = 0,
    DisplayName = 1,
    Channel = 2,
    Ownership = 4,
    Stages = 8,
    Criticality = 16,
    TargetSatisfaction = 32,
    Statement = 64,
    OwningTeam = 128,
    Topics = 256,
    All = 511,
}

/// <summary>Filters of the catalog listing; they combine with AND.</summary>
/// <param name="Channel">Only this channel; unspecified for any.</param>
/// <param name="Ownership">Only this ownership; unspecified for any.</param>
/// <param name="Stage">Only touchpoints serving this stage; unspecified for any.</param>
/// <param name="MinCriticality">Only criticality at least this; 0 for any.</param>
/// <param name="IncludeRetired">Include retired ones.</param>
public sealed record TouchpointFilter(Channel Channel, Ownership Ownership, JourneyStage Stage, int MinCriticality, bool IncludeRetired);

/// <summary>Resource names <c>touchpoints/{touchpoint}</c>.</summary>
public static class TouchpointNames
{
    /// <summary>The collection prefix.</summary>
    public const string Prefix = "touchpoints/";

    /// <summary>The name of <paramref name="id"/>.</summary>
    public static string Format(string id) => Prefix + id;

    /// <summary>The id in <paramref name="name"/>, or null when it is not a touchpoint name.</summary>
    public static string? TryParse(string? name) =>
        name is not null && name.StartsWith(Prefix, StringComparison.Ordinal) && IsValidId(name[Prefix.Length..]) ? name[Prefix.Length..] : null;

    /// <summary>1 to 63 of a-z, 0-9 and '-', starting with a letter or digit (a UUID fits).</summary>
    public static bool IsValidId(string id)
    {
        if (id.Length is < 1 or > 63 || id[0] == '-')
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
