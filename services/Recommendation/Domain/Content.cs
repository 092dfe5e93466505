namespace Journey.Recommendation.Domain;

/// <summary>Journey stages, numbered as in journey.common.v1.JourneyStage.</summary>
public enum Stage
{
    Unspecified = 0,
    Awareness = 1,
    Consideration = 2,
    Evaluation = 3,
    Purchase = 4,
    Ownership = 5,
    Loyalty = 6,
}

/// <summary>The stages of a journey.</summary>
public static class JourneyStages
{
    /// <summary>Every stage, in journey order.</summary>
    public static IReadOnlyList<Stage> All { get; } = [Stage.Awareness, Stage.Consideration, Stage.Evaluation, Stage.Purchase, Stage.Ownership, Stage.Loyalty];
}

/// <summary>Channels, numbered as in journey.common.v1.Channel.</summary>
public enum ChannelKind
{
    Unspecified = 0,
    Web = 1,
    Email = 2,
    PaidAd = 3,
    Social = 4,
    Search = 5,
    DealerStore = 6,
    CallCentre = 7,
    Service = 8,
    Product = 9,
    ThirdPartyReview = 10,
    PriceComparison = 11,
    MobileApp = 12,
    Other = 13,
}

/// <summary>What a content item is, numbered as in the service proto.</summary>
public enum ContentKind
{
    Unspecified = 0,
    Guide = 1,
    Calculator = 2,
    Article = 3,
    Review = 4,
    Video = 5,
    Offer = 6,
    TestDriveBooking = 7,
    ServiceInformation = 8,
    Newsletter = 9,
    Other = 10,
}

/// <summary>Whether content sells (suppressible) or helps.</summary>
public enum ContentPurpose
{
    Unspecified = 0,
    Marketing = 1,
    Service = 2,
}

/// <summary>How well an item fits one stage, 0 to 1.</summary>
public readonly record struct StageWeight(Stage Stage, double Weight);

/// <summary>A content item of the library.</summary>
public sealed record ContentItem
{
    public required string Id { get; init; }

    public required string Title { get; init; }

    public required ContentKind Kind { get; init; }

    public required IReadOnlyList<StageWeight> Stages { get; init; }

    public IReadOnlyList<string> Topics { get; init; } = [];

    public required IReadOnlyList<ChannelKind> Channels { get; init; }

    public double Hardness { get; init; }

    public required ContentPurpose Purpose { get; init; }

    public string RequiredConsentPurpose { get; init; } = "";

    public DateTimeOffset? ValidFrom { get; init; }

    public DateTimeOffset? ValidUntil { get; init; }

    public bool Generic { get; init; }

    public bool Retired { get; init; }

    public long Version { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The resource name.</summary>
    public string Name => ResourceNames.Content(Id);

    /// <summary>The etag an update or retirement passes back: the version as text, so a stale read is detected.</summary>
    public string Etag => Version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public bool IsValidAt(DateTimeOffset now) =>
        !Retired && (ValidFrom is null || ValidFrom <= now) && (ValidUntil is null || now < ValidUntil);

    public double WeightFor(Stage stage)
    {
        foreach (var weight in Stages)
        {
            if (weight.Stage == stage)
            {
                return weight.Weight;
            }
        }

        return 0;
    }

    /// <summary>Equality by value, lists included, for round-trip checks.</summary>
    public bool SameAs(ContentItem other) =>
        this with { Stages = [], Topics = [], Channels = [] } == other with { Stages = [], Topics = [], Channels = [] }
        && Stages.SequenceEqual(other.Stages) && Topics.SequenceEqual(other.Topics) && Channels.SequenceEqual(other.Channels);
}

/// <summary>The fields of a content item an update changes.</summary>
[Flags]
public enum ContentFieldMask
{
    None = 0,
    Title = 1,
    Kind = 2,
    Stages = 4,
    Topics = 8,
    Channels = 16,
    Hardness = 32,
    Purpose = 64,
    RequiredConsentPurpose = 128,
    ValidFrom = 256,
    ValidUntil = 512,
    Generic = 1024,
    All = 2047,
}

/// <summary>Filter of a content listing; default values mean "any".</summary>
public sealed record ContentFilter(ContentKind Kind, Stage Stage, ChannelKind Channel, string Topic, bool IncludeRetired);

/// <summary>One page of a listing.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string NextPageToken);

/// <summary>Resource names of this service.</summary>
public static class ResourceNames
{
    public const string ContentPrefix = "contents/";
    public const string ExperimentPrefix = "experiments/";
    public const string RecommendationPrefix = "recommendations/";
    public const string TouchpointPrefix = "touchpoints/";
    public const string ProfilePrefix = "profiles/";

    public static string Content(string id) => ContentPrefix + id;

    public static string Experiment(string id) => ExperimentPrefix + id;

    public static string Recommendation(string id) => RecommendationPrefix + id;

    /// <summary>The id of <paramref name="name"/> when it has <paramref name="prefix"/> and a valid id; null otherwise.</summary>
    public static string? IdOf(string? name, string prefix)
    {
        if (name is null || !name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var id = name[prefix.Length..];
        return IsValidId(id) ? id : null;
    }

    /// <summary>1 to 64 characters of a-z, 0-9, '-', '_' (touchpoint ids may also use upper case and '.').</summary>
    public static bool IsValidId(string id, bool lenient = false)
    {
        if (id.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in id)
        {
            var ok = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' || (lenient && (char.IsAsciiLetterUpper(c) || c == '.'));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
