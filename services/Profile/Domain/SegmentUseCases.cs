using Journey.Shared.Errors;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>Aggregate facts about an audience, or none when it is below the minimum size.</summary>
public sealed record AudienceDescription(
    bool BelowMinimum,
    int MinimumSize,
    long Size,
    IReadOnlyList<(string Topic, long Members, double MeanAffinity)> TopInterests,
    IReadOnlyList<(JourneyStage Stage, long Members)> Stages,
    IReadOnlyList<(int Channel, long Members)> Channels);

/// <summary>Segment definitions, their members and audience descriptions.</summary>
public sealed class SegmentUseCases(ISegmentStore segments, IProfileStore profiles, ProfileUseCases profileUseCases, IOptions<ProfileOptions> options, TimeProvider time)
{
    private const int TopInterests = 10;

    /// <summary>
    /// Validates and stores a segment, then puts the existing profiles that match into it; from then
    /// on membership follows each profile change.
    /// </summary>
    public async Task<Segment> CreateAsync(string id, string displayName, SegmentRule? rule, CancellationToken cancellationToken)
    {
        SegmentRules.Validate(id, displayName, rule);
        var segment = new Segment(id, displayName.Trim(), rule!, time.GetUtcNow());
        await segments.CreateAsync(segment, cancellationToken);
        await profileUseCases.BackfillSegmentAsync(segment, cancellationToken);
        return segment;
    }

    /// <summary>A segment.</summary>
    public async Task<Segment> GetAsync(string id, CancellationToken cancellationToken) =>
        await segments.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Segment", "segments/" + id);

    /// <summary>Segments by id.</summary>
    public Task<Page<Segment>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken) =>
        segments.ListAsync(PageTokens.Size(pageSize), pageToken, cancellationToken);

    /// <summary>Deletes a segment.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!await segments.DeleteAsync(id, cancellationToken))
        {
            throw new NotFoundException("Segment", "segments/" + id);
        }
    }

    /// <summary>Members of a segment.</summary>
    public async Task<Page<string>> ListMembersAsync(string id, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var size = PageTokens.Size(pageSize);
        _ = await GetAsync(id, cancellationToken);
        return await segments.ListMembersAsync(id, size, pageToken, cancellationToken);
    }

    /// <summary>Describes the members of a segment (<paramref name="segmentId"/>) or everyone in <paramref name="stage"/>.</summary>
    public async Task<AudienceDescription> DescribeAsync(string? segmentId, JourneyStage stage, CancellationToken cancellationToken)
    {
        IReadOnlyList<CustomerProfile> members;
        if (segmentId is not null)
        {
            _ = await GetAsync(segmentId, cancellationToken);
            var ids = new List<string>();
            var token = "";
            do
            {
                var page = await segments.ListMembersAsync(segmentId, PageTokens.MaxSize, token, cancellationToken);
                ids.AddRange(page.Items);
                token = page.NextPageToken;
            }
            while (token.Length > 0);

            members = await profiles.GetManyAsync(ids, cancellationToken);
        }
        else
        {
            members = await profiles.ListByStageAsync(stage, cancellationToken);
        }

        return Describe(members, options.Value, time.GetUtcNow());
    }

    /// <summary>
    /// The aggregate, with the floor applied to the whole group and to every bucket: a bucket of
    /// one or two people in a large audience would otherwise describe them.
    /// </summary>
    public static AudienceDescription Describe(IReadOnlyList<CustomerProfile> members, ProfileOptions options, DateTimeOffset now)
    {
        var floor = options.AudienceMinimumSize;
        if (members.Count < floor)
        {
            return new AudienceDescription(true, floor, 0, [], [], []);
        }

        var interests = members
            .SelectMany(m => JourneyRules.View(m, options, now).Interests)
            .GroupBy(i => i.Topic, StringComparer.Ordinal)
            .Select(g => (Topic: g.Key, Members: (long)g.Count(), MeanAffinity: g.Average(i => i.Affinity)))
            .Where(i => i.Members >= floor)
            .OrderByDescending(i => i.Members).ThenByDescending(i => i.MeanAffinity).ThenBy(i => i.Topic, StringComparer.Ordinal)
            .Take(TopInterests).ToList();
        var stages = members.GroupBy(m => m.Stage)
            .Select(g => (Stage: g.Key, Members: (long)g.Count()))
            .Where(s => s.Members >= floor)
            .OrderBy(s => s.Stage).ToList();
        var channels = members.SelectMany(m => m.Channels.Keys).GroupBy(c => c)
            .Select(g => (Channel: g.Key, Members: (long)g.Count()))
            .Where(c => c.Members >= floor)
            .OrderByDescending(c => c.Members).ThenBy(c => c.Channel).ToList();
        return new AudienceDescription(false, floor, members.Count, interests, stages, channels);
    }
}
