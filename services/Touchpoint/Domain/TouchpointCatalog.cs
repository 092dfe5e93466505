using Journey.Shared.Errors;
using Journey.Shared.Identity;
using Journey.Shared.Paging;

namespace Journey.Touchpoint.Domain;

/// <summary>Defines, changes, lists and retires touchpoints. Every change publishes <c>touchpoint-changed</c>.</summary>
public sealed class TouchpointCatalog(ITouchpointCatalogStore store, ITouchpointEvents events, TimeProvider clock)
{
    /// <summary>Defines a touchpoint under <paramref name="requestedId"/> (a time-ordered id when empty).</summary>
    public async Task<TouchpointDefinition> CreateAsync(TouchpointFields fields, string requestedId, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(requestedId.Length == 0 || TouchpointNames.IsValidId(requestedId), "touchpoint_id", "must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit");
        ValidateFields(validation, fields, TouchpointFieldMask.All, "touchpoint.");
        validation.ThrowIfInvalid();

        var now = StoredTime.Now(clock);
        var id = requestedId.Length > 0 ? requestedId : TimeOrderedIds.Next(now).ToString();
        var touchpoint = new TouchpointDefinition(
            id, fields.DisplayName, fields.Channel, fields.Ownership, Normalize(fields.Stages), fields.Criticality, fields.IntendedExperience!,
            fields.OwningTeam, fields.Topics.ToList(), Retired: false, Version: 1, now, now, RetiredAt: null);
        await store.CreateAsync(touchpoint, [events.Changed(touchpoint, now)], cancellationToken);
        return touchpoint;
    }

    /// <summary>One touchpoint by name.</summary>
    public async Task<TouchpointDefinition> GetAsync(string name, CancellationToken cancellationToken)
    {
        var id = ParseName(name, "name");
        return await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Touchpoint", name);
    }

    /// <summary>Changes the fields in <paramref name="mask"/>; <paramref name="etag"/>, when not empty, must be current.</summary>
    public async Task<TouchpointDefinition> UpdateAsync(string name, TouchpointFields fields, TouchpointFieldMask mask, string etag, CancellationToken cancellationToken)
    {
        var id = ParseName(name, "touchpoint.name");
        var validation = new Validation();
        ValidateFields(validation, fields, mask, "touchpoint.");
        validation.ThrowIfInvalid();

        var current = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Touchpoint", name);
        CheckEtag(current, etag);
        if (current.Retired)
        {
            throw new FailedPreconditionException(ErrorReasons.TouchpointRetired, $"Touchpoint '{name}' is retired and can no longer change.");
        }

        var now = StoredTime.Now(clock);
        var intended = current.IntendedExperience;
        if (mask.HasFlag(TouchpointFieldMask.TargetSatisfaction))
        {
            intended = intended with { TargetSatisfaction = fields.IntendedExperience!.TargetSatisfaction };
        }

        if (mask.HasFlag(TouchpointFieldMask.Statement))
        {
            intended = intended with { Statement = fields.IntendedExperience?.Statement ?? "" };
        }

        var updated = current with
        {
            DisplayName = mask.HasFlag(TouchpointFieldMask.DisplayName) ? fields.DisplayName : current.DisplayName,
            Channel = mask.HasFlag(TouchpointFieldMask.Channel) ? fields.Channel : current.Channel,
            Ownership = mask.HasFlag(TouchpointFieldMask.Ownership) ? fields.Ownership : current.Ownership,
            Stages = mask.HasFlag(TouchpointFieldMask.Stages) ? Normalize(fields.Stages) : current.Stages,
            Criticality = mask.HasFlag(TouchpointFieldMask.Criticality) ? fields.Criticality : current.Criticality,
            IntendedExperience = intended,
            OwningTeam = mask.HasFlag(TouchpointFieldMask.OwningTeam) ? fields.OwningTeam : current.OwningTeam,
            Topics = mask.HasFlag(TouchpointFieldMask.Topics) ? fields.Topics.ToList() : current.Topics,
            Version = current.Version + 1,
            UpdatedAt = now,
        };
        await store.UpdateAsync(updated, current.Version, [events.Changed(updated, now)], cancellationToken);
        return updated;
    }

    /// <summary>Retires a touchpoint; retiring a retired one changes nothing.</summary>
    public async Task<TouchpointDefinition> RetireAsync(string name, string etag, CancellationToken cancellationToken)
    {
        var id = ParseName(name, "name");
        var current = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Touchpoint", name);
        CheckEtag(current, etag);
        if (current.Retired)
        {
            return current;
        }

        var now = StoredTime.Now(clock);
        var retired = current with { Retired = true, RetiredAt = now, UpdatedAt = now, Version = current.Version + 1 };
        await store.UpdateAsync(retired, current.Version, [events.Changed(retired, now)], cancellationToken);
        return retired;
    }

    /// <summary>A page of touchpoints matching <paramref name="filter"/>, by id, and the token of the next page.</summary>
    public async Task<(IReadOnlyList<TouchpointDefinition> Page, string NextPageToken)> ListAsync(TouchpointFilter filter, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        validation.Require(filter.Channel is Channel.Unspecified || Enum.IsDefined(filter.Channel), "channel", "is not a known channel");
        validation.Require(filter.Ownership is Ownership.Unspecified || Enum.IsDefined(filter.Ownership), "ownership", "is not a known ownership");
        validation.Require(filter.Stage is JourneyStage.Unspecified || Enum.IsDefined(filter.Stage), "stage", "is not a known journey stage");
        validation.Require(filter.MinCriticality is >= 0 and <= 5, "min_criticality", "must be 0 to 5");
        var afterId = PageTokens.TryDecode(pageToken);
        validation.Require(pageToken.Length == 0 || (afterId is not null && TouchpointNames.IsValidId(afterId)), "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();

        var size = PageTokens.Size(pageSize);
        var rows = await store.ListAsync(filter, afterId, size + 1, cancellationToken);
        if (rows.Count <= size)
        {
            return (rows, "");
        }

        var page = rows.Take(size).ToList();
        return (page, PageTokens.Encode(page[^1].Id));
    }

    private static void CheckEtag(TouchpointDefinition current, string etag)
    {
        if (etag.Length > 0 && etag != current.Etag)
        {
            throw new ConcurrencyConflictException("Touchpoint", current.Name);
        }
    }

    private static string ParseName(string name, string field) =>
        TouchpointNames.TryParse(name) ?? throw new InvalidArgumentException(field, "must be touchpoints/{touchpoint} with an id of 1 to 63 characters of a-z, 0-9 and '-'");

    private static List<JourneyStage> Normalize(IReadOnlyList<JourneyStage> stages) => stages.Distinct().Order().ToList();

    private static void ValidateFields(Validation validation, TouchpointFields fields, TouchpointFieldMask mask, string prefix)
    {
        if (mask.HasFlag(TouchpointFieldMask.DisplayName))
        {
            validation.Require(fields.DisplayName.Trim().Length is >= 1 and <= 200, prefix + "display_name", "must be 1 to 200 characters");
        }

        if (mask.HasFlag(TouchpointFieldMask.Channel))
        {
            validation.Require(fields.Channel != Channel.Unspecified && Enum.IsDefined(fields.Channel), prefix + "channel", "must be a known channel");
        }

        if (mask.HasFlag(TouchpointFieldMask.Ownership))
        {
            validation.Require(fields.Ownership != Ownership.Unspecified && Enum.IsDefined(fields.Ownership), prefix + "ownership", "must be owned, paid or earned");
        }

        if (mask.HasFlag(TouchpointFieldMask.Stages))
        {
            validation.Require(fields.Stages.Count is >= 1 and <= 6, prefix + "stages", "must name 1 to 6 journey stages");
            validation.Require(fields.Stages.All(s => s != JourneyStage.Unspecified && Enum.IsDefined(s)), prefix + "stages", "must hold only known journey stages");
            validation.Require(fields.Stages.Distinct().Count() == fields.Stages.Count, prefix + "stages", "must not repeat a stage");
        }

        if (mask.HasFlag(TouchpointFieldMask.Criticality))
        {
            validation.Require(fields.Criticality is >= 1 and <= 5, prefix + "criticality", "must be 1 (low) to 5 (critical)");
        }

        if (mask.HasFlag(TouchpointFieldMask.TargetSatisfaction))
        {
            if (fields.IntendedExperience is null)
            {
                validation.Add(prefix + "intended_experience", "is required");
            }
            else
            {
                var target = fields.IntendedExperience.TargetSatisfaction;
                validation.Require(double.IsFinite(target) && target is >= 1.0 and <= 5.0, prefix + "intended_experience.target_rating", "must be 1.0 to 5.0");
            }
        }

        if (mask.HasFlag(TouchpointFieldMask.Statement) && fields.IntendedExperience is not null)
        {
            validation.Require(fields.IntendedExperience.Statement.Length <= 500, prefix + "intended_experience.statement", "must be at most 500 characters");
        }

        if (mask.HasFlag(TouchpointFieldMask.OwningTeam))
        {
            validation.Require(fields.OwningTeam.Length <= 100, prefix + "owning_team", "must be at most 100 characters");
        }

        if (mask.HasFlag(TouchpointFieldMask.Topics))
        {
            validation.Require(fields.Topics.Count <= 20, prefix + "topics", "must hold at most 20 topics");
            validation.Require(fields.Topics.All(t => t.Length is >= 1 and <= 64), prefix + "topics", "each topic must be 1 to 64 characters");
        }
    }
}
