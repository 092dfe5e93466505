using System.Text.RegularExpressions;
using Journey.Shared.Errors;

namespace Journey.Touchpoint.Domain;

/// <summary>Defines, reads, lists and retires touchpoints.</summary>
public sealed partial class TouchpointCatalog(ITouchpointStore store, ITouchpointEvents events, TimeProvider time)
{
    /// <summary>Largest page a list returns.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Defines a touchpoint.</summary>
    public async Task<TouchpointEntry> CreateAsync(string id, TouchpointEntry draft, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(IdPattern().IsMatch(id), "touchpoint_id", "must be 1 to 64 of a-z, 0-9 and '-', starting with a letter");
        Validate(draft, validation, "touchpoint.");
        validation.ThrowIfInvalid();
        var now = Now();
        var entry = draft with { Id = id, Retired = false, Version = 1, CreatedAt = now, UpdatedAt = now, Topics = draft.Topics.Distinct().ToList(), Stages = draft.Stages.Order().ToList() };
        await store.InsertAsync(entry, events.TouchpointChanged(entry, now), cancellationToken);
        return entry;
    }

    /// <summary>Gets a touchpoint; throws NotFoundException.</summary>
    public async Task<TouchpointEntry> GetAsync(string id, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Touchpoint", $"touchpoints/{id}");

    /// <summary>Lists touchpoints.</summary>
    public Task<Page<TouchpointEntry>> ListAsync(TouchpointFilter filter, string? afterId, int pageSize, CancellationToken cancellationToken)
    {
        new Validation()
            .Require(pageSize >= 0, "page_size", "must not be negative")
            .Require(filter.MinCriticality is >= 0 and <= 5, "min_criticality", "must be 0 (any) or 1 to 5")
            .Require(afterId is null || IdPattern().IsMatch(afterId), "page_token", "must be a next_page_token from a previous call")
            .ThrowIfInvalid();
        return store.ListAsync(filter, afterId, pageSize == 0 ? 50 : Math.Min(pageSize, MaxPageSize), cancellationToken);
    }

    /// <summary>Retires a touchpoint.</summary>
    public async Task<TouchpointEntry> RetireAsync(string id, long? expectedVersion, CancellationToken cancellationToken)
    {
        var current = await GetAsync(id, cancellationToken);
        if (expectedVersion is not null && expectedVersion != current.Version)
        {
            throw new ConcurrencyConflictException("Touchpoint", $"touchpoints/{id}");
        }

        if (current.Retired)
        {
            return current;
        }

        var now = Now();
        var retired = current with { Retired = true, Version = current.Version + 1, UpdatedAt = now };
        await store.UpdateAsync(retired, current.Version, events.TouchpointChanged(retired, now), cancellationToken);
        return retired;
    }

    /// <summary>The clock to the millisecond: what every store keeps, so a reply equals a later read.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>Whether <paramref name="id"/> is a well-formed touchpoint id.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    private static void Validate(TouchpointEntry draft, Validation validation, string prefix)
    {
        validation
            .Require(draft.DisplayName.Trim().Length is >= 1 and <= 200, prefix + "display_name", "must be 1 to 200 characters")
            .Require(draft.Channel != Channel.Unspecified && Enum.IsDefined(draft.Channel), prefix + "channel", "must be set to a known channel")
            .Require(draft.Ownership != Ownership.Unspecified && Enum.IsDefined(draft.Ownership), prefix + "ownership", "must be OWNED, PAID or EARNED")
            .Require(draft.Stages.Count > 0, prefix + "stages", "must name at least one journey stage")
            .Require(draft.Stages.All(s => s != JourneyStage.Unspecified && Enum.IsDefined(s)), prefix + "stages", "must hold only known journey stages")
            .Require(draft.Stages.Distinct().Count() == draft.Stages.Count, prefix + "stages", "must not repeat a stage")
            .Require(draft.Criticality is >= 1 and <= 5, prefix + "criticality", "must be 1 (low) to 5 (critical)")
            .Require(draft.IntendedExperience.TargetRating is >= 1.0 and <= 5.0, prefix + "intended_experience.target_rating", "must be 1.0 to 5.0")
            .Require(draft.IntendedExperience.Statement.Length <= 200, prefix + "intended_experience.statement", "must be at most 200 characters")
            .Require(draft.OwningTeam.Length <= 100, prefix + "owning_team", "must be at most 100 characters")
            .Require(draft.Topics.Count <= 20, prefix + "topics", "must hold at most 20 topics")
            .Require(draft.Topics.All(t => t.Length <= 64 && TopicPattern().IsMatch(t)), prefix + "topics", "must be lower-case words joined by '-', at most 64 characters each");
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex TopicPattern();
}
