using System.Text.RegularExpressions;
using Journey.Shared.Errors;

namespace Journey.Recommendation.Domain;

/// <summary>The kind of a content item (proto numbering).</summary>
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

/// <summary>A piece of content in the library.</summary>
public sealed record ContentItem(
    string Id,
    string Title,
    ContentKind Kind,
    IReadOnlyDictionary<int, double> StageWeights,
    IReadOnlyList<string> Topics,
    IReadOnlyList<int> Channels,
    double Hardness,
    bool Marketing,
    string RequiredPurpose,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil,
    bool Generic,
    long Version);

/// <summary>The library's store.</summary>
public interface IContentStore
{
    /// <summary>Inserts or replaces an item; returns the stored version.</summary>
    Task<ContentItem> UpsertAsync(ContentItem item, CancellationToken cancellationToken);

    /// <summary>The item, or null.</summary>
    Task<ContentItem?> GetAsync(string id, CancellationToken cancellationToken);
}

/// <summary>Keeps the content library valid.</summary>
public sealed partial class ContentLibrary(IContentStore store)
{
    /// <summary>Creates or replaces an item after checking every field.</summary>
    public Task<ContentItem> UpsertAsync(ContentItem item, CancellationToken cancellationToken)
    {
        new Validation()
            .Require(IdPattern().IsMatch(item.Id), "content.name", "must be a content name like contents/lease-vs-buy-guide")
            .Require(item.Title.Trim().Length is >= 1 and <= 200, "content.title", "must be 1 to 200 characters")
            .Require(item.Kind != ContentKind.Unspecified && Enum.IsDefined(item.Kind), "content.kind", "must be set to a known kind")
            .Require(item.StageWeights.Count > 0, "content.stages", "must name at least one journey stage")
            .Require(item.StageWeights.Keys.All(s => s is >= 1 and <= 6), "content.stages", "must hold only known journey stages, each once")
            .Require(item.StageWeights.Values.All(w => w is >= 0 and <= 1), "content.stages", "weights must be between 0 and 1")
            .Require(item.Channels.Count > 0 && item.Channels.All(c => c is >= 1 and <= 13), "content.channels", "must name at least one known channel")
            .Require(item.Hardness is >= 0 and <= 1, "content.hardness", "must be between 0 (informational) and 1 (sales)")
            .Require(item.Topics.Count <= 20 && item.Topics.All(t => TopicPattern().IsMatch(t)), "content.topics", "must be at most 20 lower-case words joined by '-'")
            .Require(item.RequiredPurpose.Length == 0 || PurposePattern().IsMatch(item.RequiredPurpose), "content.required_purpose", "must be empty or a purpose name like purposes/personalisation")
            .Require(item.ValidFrom is null || item.ValidUntil is null || item.ValidUntil > item.ValidFrom, "content.valid_until", "must be after valid_from")
            .ThrowIfInvalid();
        return store.UpsertAsync(item with { Topics = item.Topics.Distinct().ToList(), Channels = item.Channels.Distinct().Order().ToList() }, cancellationToken);
    }

    /// <summary>Gets an item; NotFoundException when missing.</summary>
    public async Task<ContentItem> GetAsync(string id, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Content", $"contents/{id}");

    /// <summary>Whether <paramref name="id"/> is a well-formed content id.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9._~-]{1,128}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+){0,15}$")]
    private static partial Regex TopicPattern();

    [GeneratedRegex("^purposes/[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex PurposePattern();
}
