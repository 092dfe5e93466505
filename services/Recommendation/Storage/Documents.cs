using System.Text.Json;
using System.Text.Json.Serialization;
using Journey.Recommendation.Domain;

namespace Journey.Recommendation.Storage;

/// <summary>
/// Stored shapes of domain values, shared by both adapters (JSON text in SQLite, BSON in MongoDB), so
/// the domain types never carry storage attributes. Times are UTC ticks: exact round trips.
/// </summary>
internal sealed class ContentDocument
{
    public string Id { get; set; } = "";
    public string Title { get; set; } = "";
    public int Kind { get; set; }
    public List<StageWeightDocument> Stages { get; set; } = [];
    public List<string> Topics { get; set; } = [];
    public List<int> Channels { get; set; } = [];
    public double Hardness { get; set; }
    public int Purpose { get; set; }
    public string Consent { get; set; } = "";
    public long? ValidFrom { get; set; }
    public long? ValidUntil { get; set; }
    public bool Generic { get; set; }
    public bool Retired { get; set; }
    public long Version { get; set; }
    public long UpdatedAt { get; set; }

    public static ContentDocument From(ContentItem item) => new()
    {
        Id = item.Id,
        Title = item.Title,
        Kind = (int)item.Kind,
        Stages = item.Stages.Select(s => new StageWeightDocument { Stage = (int)s.Stage, Weight = s.Weight }).ToList(),
        Topics = [.. item.Topics],
        Channels = item.Channels.Select(c => (int)c).ToList(),
        Hardness = item.Hardness,
        Purpose = (int)item.Purpose,
        Consent = item.RequiredConsentPurpose,
        ValidFrom = item.ValidFrom?.UtcTicks,
        ValidUntil = item.ValidUntil?.UtcTicks,
        Generic = item.Generic,
        Retired = item.Retired,
        Version = item.Version,
        UpdatedAt = item.UpdatedAt.UtcTicks,
    };

    public ContentItem ToDomain() => new()
    {
        Id = Id,
        Title = Title,
        Kind = (ContentKind)Kind,
        Stages = Stages.Select(s => new StageWeight((Stage)s.Stage, s.Weight)).ToList(),
        Topics = Topics,
        Channels = Channels.Select(c => (ChannelKind)c).ToList(),
        Hardness = Hardness,
        Purpose = (ContentPurpose)Purpose,
        RequiredConsentPurpose = Consent,
        ValidFrom = ValidFrom is { } from ? new DateTimeOffset(from, TimeSpan.Zero) : null,
        ValidUntil = ValidUntil is { } until ? new DateTimeOffset(until, TimeSpan.Zero) : null,
        Generic = Generic,
        Retired = Retired,
        Version = Version,
        UpdatedAt = new DateTimeOffset(UpdatedAt, TimeSpan.Zero),
    };
}

internal sealed class StageWeightDocument
{
    public int Stage { get; set; }
    public double Weight { get; set; }
}

internal sealed class PersonDocument
{
    public string Key { get; set; } = "";
    public List<string> Ids { get; set; } = [];
    public int Stage { get; set; }
    public int Readiness { get; set; }
    public List<InterestDocument> Interests { get; set; } = [];
    public int Tickets { get; set; }
    public List<string> Consumed { get; set; } = [];
    public List<string> Purposes { get; set; } = [];
    public long Version { get; set; }

    public static PersonDocument From(PersonState person) => new()
    {
        Key = person.Key,
        Ids = [.. person.IdentifierKeys],
        Stage = (int)person.Stage,
        Readiness = person.Readiness,
        Interests = person.Interests.Select(i => new InterestDocument { Topic = i.Topic, Affinity = i.Affinity }).ToList(),
        Tickets = person.OpenServiceTickets,
        Consumed = [.. person.Consumed],
        Purposes = [.. person.AllowedPurposes],
        Version = person.ProfileVersion,
    };

    public PersonState ToDomain() => new()
    {
        Key = Key,
        IdentifierKeys = Ids,
        Stage = (Stage)Stage,
        Readiness = Readiness,
        Interests = Interests.Select(i => new Interest(i.Topic, i.Affinity)).ToList(),
        OpenServiceTickets = Tickets,
        Consumed = Consumed,
        AllowedPurposes = Purposes,
        ProfileVersion = Version,
    };
}

internal sealed class InterestDocument
{
    public string Topic { get; set; } = "";
    public double Affinity { get; set; }
}

internal sealed class ExperimentDocument
{
    public string Id { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public List<VariantDocument> Variants { get; set; } = [];
    public long CreatedAt { get; set; }
    public long? StoppedAt { get; set; }
    public long Version { get; set; }

    public static ExperimentDocument From(Experiment experiment) => new()
    {
        Id = experiment.Id,
        DisplayName = experiment.DisplayName,
        Variants = experiment.Variants.Select(v => new VariantDocument { Name = v.Name, Strategy = (int)v.Strategy, Share = v.TrafficShare }).ToList(),
        CreatedAt = experiment.CreatedAt.UtcTicks,
        StoppedAt = experiment.StoppedAt?.UtcTicks,
        Version = experiment.Version,
    };

    public Experiment ToDomain() => new()
    {
        Id = Id,
        DisplayName = DisplayName,
        Variants = Variants.Select(v => new ExperimentVariant(v.Name, (Strategy)v.Strategy, v.Share)).ToList(),
        CreatedAt = new DateTimeOffset(CreatedAt, TimeSpan.Zero),
        StoppedAt = StoppedAt is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null,
        Version = Version,
    };
}

internal sealed class VariantDocument
{
    public string Name { get; set; } = "";
    public int Strategy { get; set; }
    public double Share { get; set; }
}

/// <summary>JSON for the SQLite adapter.</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;
}
