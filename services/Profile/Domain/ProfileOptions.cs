using System.ComponentModel.DataAnnotations;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>Profile service settings (section <c>Journey:Profile</c>).</summary>
public sealed class ProfileOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Profile";

    /// <summary>
    /// Most anonymous identifiers (anonymous, device and ad click ids) one profile holds; beyond it the
    /// oldest are dropped, which stops a shared device from snowballing merges. Default 50.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxAnonymousIdentifiers { get; set; } = 50;

    /// <summary>
    /// Most e-mail addresses one profile holds. An address past it is not attached: it stays with no
    /// profile, so a later call naming only it starts a profile of its own. Default 5.
    /// </summary>
    [Range(1, 100)]
    public int MaxEmails { get; set; } = 5;

    /// <summary>Most phone numbers one profile holds, with the same rule as <see cref="MaxEmails"/>. Default 5.</summary>
    [Range(1, 100)]
    public int MaxPhones { get; set; } = 5;

    /// <summary>
    /// Most anonymous identifiers (anonymous, device and ad click ids) one profile takes in any seven
    /// days. Past it a new one is not attached, so a shared device or a bot rotating cookies cannot
    /// grow one person without bound; <see cref="MaxAnonymousIdentifiers"/> still caps the total.
    /// Default 20.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxNewAnonymousIdentifiersPerWeek { get; set; } = 20;

    /// <summary>
    /// Most entries of activity (interactions and consent decisions) a profile keeps while a merge into
    /// it can still be undone, so that SplitProfile gives each side its own. A merge older than the
    /// activity kept can no longer be split (FAILED_PRECONDITION). 0 keeps none: only merges with no
    /// activity since can be split. Default 200.
    /// </summary>
    [Range(0, 10_000)]
    public int SplitActivityLimit { get; set; } = 200;

    /// <summary>Half-life of interest affinities. Default 30 days.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan InterestHalfLife { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Half-life of the engagement behind purchase readiness (its recency). Default 7 days.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan ReadinessHalfLife { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Smallest audience (and breakdown bucket) DescribeAudience describes. Default 10.</summary>
    [Range(1, 1_000_000)]
    public int AudienceMinimumSize { get; set; } = 10;

    /// <summary>
    /// The privacy parameter ε of each figure of an audience description: counts and affinity sums
    /// get Laplace noise of scale 1/ε, so two audiences that differ by one person describe alike up
    /// to a factor e^ε per figure. A count lies within ±ln(20)/ε of the truth with probability 95 %
    /// (±3 at the default 1), a mean affinity within that divided by the bucket's members. Larger
    /// values give sharper figures and weaker protection. Default 1; 0.05 to 1000.
    /// </summary>
    [Range(0.05, 1000)]
    public double AudienceNoiseEpsilon { get; set; } = 1;

    /// <summary>
    /// How long a replica evaluates memberships against the segment definitions it read before
    /// reading them again; a segment defined or deleted on another replica reaches this one's
    /// writes within it. Definitions changed through this replica apply at once. Default 5 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan SegmentDefinitionsRefresh { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often every profile is evaluated again against the segments whose rules time alone can
    /// change (days since the last interaction, readiness, interests), so a person leaves 'active in
    /// the last 7 days' without doing anything. A membership changed by time is seen at most this
    /// late. Each pass reads every profile once (a minute or so of one core per million profiles),
    /// and is skipped when no such segment is defined. Default 1 hour; 1 second to 7 days.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan SegmentReevaluationInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The consent purposes that govern activation on each channel, comma-separated
    /// <c>purposes/{purpose}</c> names (section <c>Journey:Profile:ChannelPurposes:{Channel}</c>, keys
    /// Web, Email, ...). The service keeps each profile's latest decision on every purpose named here,
    /// and a segment export for a channel lists only members who granted every purpose governing it on
    /// that channel. Keep it equal to the recommendation service's setting of the same name. Default:
    /// <c>Email</c> governed by <c>purposes/marketing-email</c>; an empty value lifts a channel's gate.
    /// </summary>
    public Dictionary<ChannelKind, string> ChannelPurposes { get; set; } = new() { [ChannelKind.Email] = "purposes/marketing-email" };

    /// <summary>The purposes <see cref="ChannelPurposes"/> names for <paramref name="channel"/>.</summary>
    public IReadOnlyList<string> PurposesGoverning(ChannelKind channel) => ChannelPurposeMap.Governing(ChannelPurposes, channel);

    /// <summary>Whether <paramref name="purpose"/> governs any channel, so decisions on it are kept.</summary>
    public bool GovernsAChannel(string purpose) => ChannelPurposes.Keys.Any(channel => PurposesGoverning(channel).Contains(purpose, StringComparer.Ordinal));

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext) => ChannelPurposeMap.Validate(ChannelPurposes, nameof(ChannelPurposes));
}

/// <summary>Start-up validation of <see cref="ProfileOptions"/>.</summary>
[OptionsValidator]
public sealed partial class ProfileOptionsValidator : IValidateOptions<ProfileOptions>;
