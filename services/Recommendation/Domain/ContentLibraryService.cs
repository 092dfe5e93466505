using Journey.Shared.Errors;
using Journey.Shared.Paging;

namespace Journey.Recommendation.Domain;

/// <summary>Use cases of the content library. Every committed change is applied to the candidate index.</summary>
public sealed class ContentLibraryService(IContentLibrary library, ContentIndex index, TimeProvider time)
{
    public async Task<(ContentItem Item, bool Created)> UpsertAsync(ContentItem? draft, long expectedVersion, CancellationToken cancellationToken)
    {
        Validate(draft);
        await index.EnsureLoadedAsync(cancellationToken);
        var existing = await library.GetAsync(draft!.Id, cancellationToken);
        if (expectedVersion > 0 && existing?.Version != expectedVersion)
        {
            throw new ConcurrencyConflictException("Content", draft.Name);
        }

        var item = draft with { Retired = false, Version = (existing?.Version ?? 0) + 1, UpdatedAt = time.GetUtcNow() };
        await library.SaveAsync(item, existing?.Version ?? 0, cancellationToken);
        index.Put(item);
        return (item, existing is null);
    }

    public async Task<ContentItem> GetAsync(string name, CancellationToken cancellationToken)
    {
        var id = ResourceNames.IdOf(name, ResourceNames.ContentPrefix) ?? throw new InvalidArgumentException("name", "must be contents/{content} with an id of 1 to 64 characters of a-z, 0-9, '-', '_'");
        return await library.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Content", name);
    }

    public async Task<Page<ContentItem>> ListAsync(ContentFilter filter, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        validation.Require(pageToken.Length == 0 || ResourceNames.IsValidId(pageToken), "page_token", "is not a token this service issued");
        validation.Require(Enum.IsDefined(filter.Kind), "kind", "must be a defined ContentKind");
        validation.Require(Enum.IsDefined(filter.Stage), "stage", "must be a defined JourneyStage");
        validation.Require(Enum.IsDefined(filter.Channel), "channel", "must be a defined Channel");
        validation.Require(filter.Topic.Length <= 64, "topic", "must be at most 64 characters");
        validation.ThrowIfInvalid();
        var size = PageTokens.Size(pageSize);
        var items = await library.ListAsync(filter, pageToken, size + 1, cancellationToken);
        var page = items.Take(size).ToList();
        return new Page<ContentItem>(page, items.Count > size ? page[^1].Id : "");
    }

    public async Task<ContentItem> RetireAsync(string name, long expectedVersion, CancellationToken cancellationToken)
    {
        await index.EnsureLoadedAsync(cancellationToken);
        var existing = await GetAsync(name, cancellationToken);
        if (expectedVersion > 0 && existing.Version != expectedVersion)
        {
            throw new ConcurrencyConflictException("Content", name);
        }

        if (existing.Retired)
        {
            return existing;
        }

        var retired = existing with { Retired = true, Version = existing.Version + 1, UpdatedAt = time.GetUtcNow() };
        await library.SaveAsync(retired, existing.Version, cancellationToken);
        index.Put(retired);
        return retired;
    }

    private static void Validate(ContentItem? item)
    {
        if (item is null)
        {
            throw new InvalidArgumentException("content", "is required");
        }

        var v = new Validation();
        v.Require(ResourceNames.IsValidId(item.Id), "content.name", "must be contents/{content} with an id of 1 to 64 characters of a-z, 0-9, '-', '_'");
        v.Require(item.Title.Trim().Length is > 0 and <= 200, "content.title", "must be 1 to 200 characters");
        v.Require(item.Kind != ContentKind.Unspecified && Enum.IsDefined(item.Kind), "content.kind", "must be a defined ContentKind");
        v.Require(item.Stages.Count > 0, "content.stages", "must name at least one stage the item fits");
        var seen = new HashSet<Stage>();
        for (var i = 0; i < item.Stages.Count; i++)
        {
            var stage = item.Stages[i];
            v.Require(stage.Stage != Stage.Unspecified && Enum.IsDefined(stage.Stage), $"content.stages[{i}].stage", "must be a defined JourneyStage");
            v.Require(seen.Add(stage.Stage), $"content.stages[{i}].stage", "must appear only once");
            v.Require(stage.Weight is >= 0 and <= 1, $"content.stages[{i}].weight", "must be between 0 and 1");
        }

        v.Require(item.Topics.Count <= 20, "content.topics", "must hold at most 20 topics");
        for (var i = 0; i < item.Topics.Count; i++)
        {
            v.Require(item.Topics[i].Length is > 0 and <= 64, $"content.topics[{i}]", "must be 1 to 64 characters");
        }

        v.Require(item.Channels.Count > 0, "content.channels", "must name at least one channel");
        for (var i = 0; i < item.Channels.Count; i++)
        {
            v.Require(item.Channels[i] != ChannelKind.Unspecified && Enum.IsDefined(item.Channels[i]), $"content.channels[{i}]", "must be a defined Channel");
        }

        v.Require(item.Hardness is >= 0 and <= 1, "content.hardness", "must be between 0 (informational) and 1 (sales)");
        v.Require(item.Purpose != ContentPurpose.Unspecified && Enum.IsDefined(item.Purpose), "content.purpose", "must be CONTENT_PURPOSE_MARKETING or CONTENT_PURPOSE_SERVICE");
        v.Require(item.RequiredConsentPurpose.Length == 0 || (item.RequiredConsentPurpose.StartsWith("purposes/", StringComparison.Ordinal) && item.RequiredConsentPurpose.Length is > 9 and <= 128),
            "content.required_consent_purpose", "must be empty or purposes/{purpose}");
        v.Require(item.ValidFrom is null || item.ValidUntil is null || item.ValidUntil > item.ValidFrom, "content.valid_until", "must be after valid_from");
        v.ThrowIfInvalid();
    }
}
