using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Reports;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>Aggregate facts about an audience, or none when it is below the minimum size.</summary>
public sealed record AudienceDescription(
    bool BelowMinimum,
    int MinimumSize,
    long Size,
    IReadOnlyList<(string Topic, long Members, double MeanAffinity)> TopInterests,
    IReadOnlyList<(JourneyStage Stage, long Members)> Stages,
    IReadOnlyList<(int Channel, long Members)> Channels,
    IReadOnlyList<(CustomerType Type, long Members)> CustomerTypes)
{
    /// <summary>When the figures were computed: interest affinities are as of then, and a kept description (<see cref="Journey.Shared.Reports.ReportCache{TKey, TValue}"/>) is answered again until it is too old.</summary>
    public DateTimeOffset ComputedAt { get; init; }
}

/// <summary>Which audience a description is of: a segment's members, or everyone in a stage, or everyone (neither).</summary>
public readonly record struct AudienceKey(string? SegmentId, JourneyStage Stage);

/// <summary>A page of segment members and how many members of the page were left out for lack of consent.</summary>
public sealed record MemberPage(Page<string> Members, int Withheld);

/// <summary>Segment definitions, their members and audience descriptions.</summary>
public sealed class SegmentUseCases(
    ISegmentStore segments, SegmentDefinitions definitions, IProfileStore profiles, MembershipUseCases memberships, AudienceNoise noise,
    ReportCache<AudienceKey, AudienceDescription> descriptions, IOptions<ProfileOptions> options, TimeProvider time)
{
    /// <summary>
    /// Validates and stores a segment, then puts the existing profiles that match into it; from then
    /// on membership follows each profile change.
    /// </summary>
    public async Task<Segment> CreateAsync(string id, string displayName, SegmentRule? rule, CancellationToken cancellationToken)
    {
        SegmentRules.Validate(id, displayName, rule);
        var segment = new Segment(id, displayName.Trim(), rule!, time.GetUtcNow());
        await segments.CreateAsync(segment, cancellationToken);
        definitions.Invalidate();
        await memberships.BackfillSegmentAsync(segment, cancellationToken);
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
        var deleted = await segments.DeleteAsync(id, cancellationToken);
        definitions.Invalidate();
        if (!deleted)
        {
            throw new NotFoundException("Segment", "segments/" + id);
        }
    }

    /// <summary>
    /// Members of a segment. With a <paramref name="channel"/> (an export for activation there), a
    /// member who has not granted every purpose governing the channel is left out and counted in
    /// <see cref="MemberPage.Withheld"/>; so is a member erased since the page was read. Paging runs
    /// over the membership, so the filter never shifts a page token.
    /// </summary>
    public async Task<MemberPage> ListMembersAsync(string id, int pageSize, string pageToken, ChannelKind channel, CancellationToken cancellationToken)
    {
        var size = PageTokens.Size(pageSize);
        _ = await GetAsync(id, cancellationToken);
        var page = await segments.ListMembersAsync(id, size, pageToken, cancellationToken);
        var governing = channel == ChannelKind.Unspecified ? [] : options.Value.PurposesGoverning(channel);
        if (governing.Count == 0 || page.Items.Count == 0)
        {
            return new MemberPage(page, 0);
        }

        var held = (await profiles.GetManyAsync(page.Items, cancellationToken)).ToDictionary(p => p.Id, StringComparer.Ordinal);
        var allowed = page.Items.Where(member => held.TryGetValue(member, out var profile) && JourneyRules.MayActivate(profile, governing, channel)).ToList();
        return new MemberPage(new Page<string>(allowed, page.NextPageToken), page.Items.Count - allowed.Count);
    }

    /// <summary>
    /// Describes the members of a segment (<paramref name="segmentId"/>), everyone in
    /// <paramref name="stage"/>, or everyone with a profile (neither given). The store streams the members through one accumulator, so memory
    /// grows with the number of distinct topics and channels, not with the audience. Counting is
    /// done here rather than by a store GROUP BY because interest affinities decay with time and are
    /// computed per profile by <see cref="JourneyRules.View"/>. Reading every profile of a large store
    /// takes seconds, so a description that was slow to compute is kept and refreshed in the background
    /// (<see cref="ReportCache{TKey, TValue}"/>); <see cref="AudienceDescription.ComputedAt"/> says as of when.
    /// </summary>
    public async Task<AudienceDescription> DescribeAsync(string? segmentId, JourneyStage stage, CancellationToken cancellationToken)
    {
        if (segmentId is not null)
        {
            _ = await GetAsync(segmentId, cancellationToken);
        }

        return await descriptions.GetAsync(new AudienceKey(segmentId, stage), async (now, ct) =>
        {
            var audience = new AudienceAccumulator(options.Value, noise, now);
            await profiles.VisitAudienceAsync(segmentId, stage, audience.Add, ct);
            return audience.Describe();
        }, cancellationToken);
    }

    /// <summary>
    /// The aggregate, with the floor applied to the whole group and to every bucket: a bucket of
    /// one or two people in a large audience would otherwise describe them.
    /// </summary>
    public static AudienceDescription Describe(IReadOnlyList<CustomerProfile> members, ProfileOptions options, AudienceNoise noise, DateTimeOffset now)
    {
        var audience = new AudienceAccumulator(options, noise, now);
        foreach (var member in members)
        {
            audience.Add(member);
        }

        return audience.Describe();
    }
}

/// <summary>
/// Counts an audience one profile at a time; holds only per-topic, per-stage and per-channel totals
/// and the membership's keyed fingerprint, which draws the noise of every figure.
/// </summary>
public sealed class AudienceAccumulator(ProfileOptions options, AudienceNoise noise, DateTimeOffset now)
{
    private const int TopInterests = 10;
    private readonly Dictionary<string, (long Members, double AffinitySum)> _interests = new(StringComparer.Ordinal);
    private readonly Dictionary<JourneyStage, long> _stages = [];
    private readonly Dictionary<int, long> _channels = [];
    private readonly Dictionary<CustomerType, long> _types = [];
    private long _size;
    private ulong _fingerprint;

    /// <summary>Counts one member.</summary>
    public void Add(CustomerProfile member)
    {
        _size++;
        _fingerprint += noise.MemberHash(member.Id);
        foreach (var interest in JourneyRules.View(member, options, now).Interests)
        {
            var (members, sum) = _interests.GetValueOrDefault(interest.Topic);
            _interests[interest.Topic] = (members + 1, sum + interest.Affinity);
        }

        _stages[member.Stage] = _stages.GetValueOrDefault(member.Stage) + 1;
        _types[member.CustomerType] = _types.GetValueOrDefault(member.CustomerType) + 1;
        foreach (var channel in member.Channels.Keys)
        {
            _channels[channel] = _channels.GetValueOrDefault(channel) + 1;
        }
    }

    /// <summary>
    /// The description, or only the floor when the audience is below it. Every figure carries
    /// <see cref="AudienceNoise"/>, and a bucket is shown only when its noisy count reaches the floor,
    /// so whether a bucket appears says no more about one member than its count does.
    /// </summary>
    public AudienceDescription Describe()
    {
        var floor = options.AudienceMinimumSize;
        if (_size < floor)
        {
            return new AudienceDescription(true, floor, 0, [], [], [], []) { ComputedAt = now };
        }

        var interests = _interests
            .Select(i =>
            {
                var members = Count(i.Value.Members, "interest-members|" + i.Key);
                var sum = i.Value.AffinitySum + noise.Draw(_fingerprint, "interest-affinity|" + i.Key);
                return (Topic: i.Key, Members: members, MeanAffinity: Math.Clamp(sum / Math.Max(members, 1), 0, 1));
            })
            .Where(i => i.Members >= floor)
            .OrderByDescending(i => i.Members).ThenByDescending(i => i.MeanAffinity).ThenBy(i => i.Topic, StringComparer.Ordinal)
            .Take(TopInterests).ToList();
        var stages = _stages.Select(s => (Stage: s.Key, Members: Count(s.Value, "stage|" + (int)s.Key))).Where(s => s.Members >= floor).OrderBy(s => s.Stage).ToList();
        var channels = _channels.Select(c => (Channel: c.Key, Members: Count(c.Value, "channel|" + c.Key))).Where(c => c.Members >= floor)
            .OrderByDescending(c => c.Members).ThenBy(c => c.Channel).ToList();
        var types = _types.Select(t => (Type: t.Key, Members: Count(t.Value, "customer-type|" + (int)t.Key))).Where(t => t.Members >= floor).OrderBy(t => t.Type).ToList();
        return new AudienceDescription(false, floor, Math.Max(Count(_size, "size"), floor), interests, stages, channels, types) { ComputedAt = now };
    }

    private long Count(long members, string figure) => Math.Max(0, (long)Math.Round(members + noise.Draw(_fingerprint, figure)));
}
