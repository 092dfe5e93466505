using Journey.Shared.Errors;
using Journey.Shared.Paging;

namespace Journey.Recommendation.Domain;

/// <summary>Use cases of the content library. Every committed change is applied to the candidate index.</summary>
public sealed class ContentLibraryService(IContentLibrary library, ContentIndex index, LearningModel learning, TimeProvider time)
{
    /// <summary>What has been learned of each item from feedback, per stage.</summary>
    public async Task<IReadOnlyList<IReadOnlyList<StagePerformance>>> PerformanceAsync(IReadOnlyList<ContentItem> items, CancellationToken cancellationToken)
    {
        await learning.EnsureLoadedAsync(cancellationToken);
        return [.. items.Select(i => learning.PerformanceOf(i.Id))];
    }

    /// <summary>Adds an item under <paramref name="contentId"/>; ALREADY_EXISTS when the id is taken.</summary>
    public async Task<ContentItem> CreateAsync(string contentId, ContentItem? draft, CancellationToken cancellationToken)
    {
        if (!ResourceNames.IsValidId(contentId))
        {
            throw new InvalidArgumentException("content_id", "must be 1 to 64 characters of a-z, 0-9, '-', '_'");
        }

        Validate(draft is null ? null : draft with { Id = contentId });
        await index.EnsureLoadedAsync(cancellationToken);
        if (await library.GetAsync(contentId, cancellationToken) is not null)
        {
            throw new AlreadyExistsException("Content", ResourceNames.Content(contentId));
        }

        var item = draft! with { Id = contentId, Retired = false, Version = 1, UpdatedAt = time.GetUtcNow() };
        await library.SaveAsync(item, 0, cancellationToken);
        index.Put(item);
        return item;
    }

    /// <summary>
    /// Changes the fields in <paramref name="mask"/> of the item <paramref name="draft"/> names; <paramref name="etag"/>,
    /// when not empty, must be current. With <paramref name="allowMissing"/> a missing item is created from every field.
    /// </summary>
    public async Task<(ContentItem Item, bool Created)> UpdateAsync(ContentItem? draft, ContentFieldMask mask, string etag, bool allowMissing, CancellationToken cancellationToken)
    {
        if (draft is null)
        {
            throw new InvalidArgumentException("content", "is required");
        }

        if (!ResourceNames.IsValidId(draft.Id))
        {
            throw new InvalidArgumentException("content.name", "must be contents/{content} with an id of 1 to 64 characters of a-z, 0-9, '-', '_'");
        }

        await index.EnsureLoadedAsync(cancellationToken);
        var existing = await library.GetAsync(draft.Id, cancellationToken);
        if (existing is null)
        {
            if (!allowMissing)
            {
                throw new NotFoundException("Content", draft.Name);
            }

            Validate(draft);
            var created = draft with { Retired = false, Version = 1, UpdatedAt = time.GetUtcNow() };
            await library.SaveAsync(created, 0, cancellationToken);
            index.Put(created);
            return (created, true);
        }

        if (etag.Length > 0 && etag != existing.Etag)
        {
            throw new ConcurrencyConflictException("Content", draft.Name);
        }

        if (existing.Retired)
        {
            throw new FailedPreconditionException(ErrorReasons.ContentRetired, $"Content '{draft.Name}' is retired and can no longer change.");
        }

        var merged = existing with
        {
            Title = mask.HasFlag(ContentFieldMask.Title) ? draft.Title : existing.Title,
            Kind = mask.HasFlag(ContentFieldMask.Kind) ? draft.Kind : existing.Kind,
            Stages = mask.HasFlag(ContentFieldMask.Stages) ? draft.Stages : existing.Stages,
            Topics = mask.HasFlag(ContentFieldMask.Topics) ? draft.Topics : existing.Topics,
            Channels = mask.HasFlag(ContentFieldMask.Channels) ? draft.Channels : existing.Channels,
            Hardness = mask.HasFlag(ContentFieldMask.Hardness) ? draft.Hardness : existing.Hardness,
            Purpose = mask.HasFlag(ContentFieldMask.Purpose) ? draft.Purpose : existing.Purpose,
            RequiredConsentPurpose = mask.HasFlag(ContentFieldMask.RequiredConsentPurpose) ? draft.RequiredConsentPurpose : existing.RequiredConsentPurpose,
            ValidFrom = mask.HasFlag(ContentFieldMask.ValidFrom) ? draft.ValidFrom : existing.ValidFrom,
            ValidUntil = mask.HasFlag(ContentFieldMask.ValidUntil) ? draft.ValidUntil : existing.ValidUntil,
            Generic = mask.HasFlag(ContentFieldMask.Generic) ? draft.Generic : existing.Generic,
        };
        Validate(merged);
        var item = merged with { Version = existing.Version + 1, UpdatedAt = time.GetUtcNow() };
        await library.SaveAsync(item, existing.Version, cancellationToken);
        index.Put(item);
        return (item, false);
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

    /// <summary>
    /// The live library summarised (<see cref="ContentSummary"/>), read from the store so that every replica
    /// answers alike; <paramref name="mostShown"/> 0 means 20, more than 100 means 100.
    /// </summary>
    public async Task<ContentSummary> SummarizeAsync(int mostShown, CancellationToken cancellationToken)
    {
        if (mostShown < 0)
        {
            throw new InvalidArgumentException("most_shown_size", "must not be negative");
        }

        await learning.EnsureLoadedAsync(cancellationToken);
        var live = await library.ReadActiveAsync(cancellationToken);
        return ContentSummary.Of(live, learning.PerformanceOf, mostShown == 0 ? 20 : Math.Min(mostShown, 100));
    }

    /// <summary>Retires an item; <paramref name="etag"/>, when not empty, must be current. Retiring a retired item changes nothing.</summary>
    public async Task<ContentItem> RetireAsync(string name, string etag, CancellationToken cancellationToken)
    {
        await index.EnsureLoadedAsync(cancellationToken);
        var existing = await GetAsync(name, cancellationToken);
        if (etag.Length > 0 && etag != existing.Etag)
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
        v.Require(item.ValidFrom is null || item.ValidUntil is null || item.ValidUntil > item.ValidFrom, "content.valid_end_time", "must be after valid_start_time");
        v.ThrowIfInvalid();
    }
}
