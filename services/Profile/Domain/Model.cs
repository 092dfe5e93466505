namespace Journey.Profile.Domain;

/// <summary>Kinds of identifier; numbers match journey.common.v1.IdentifierKind so mapping is a cast.</summary>
public enum IdentifierKind
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>The company's customer number (marks a known customer).</summary>
    CustomerId = 1,

    /// <summary>An e-mail address, held as its keyed hash (marks a known customer).</summary>
    Email = 2,

    /// <summary>A phone number, held as its keyed hash.</summary>
    Phone = 3,

    /// <summary>A cookie or first-party anonymous id.</summary>
    AnonymousId = 4,

    /// <summary>A device id.</summary>
    DeviceId = 5,

    /// <summary>An ad click id.</summary>
    AdClickId = 6,

    /// <summary>A profile id of this service.</summary>
    ProfileId = 7,
}

/// <summary>Journey stages in order; numbers match journey.common.v1.JourneyStage.</summary>
public enum JourneyStage
{
    /// <summary>No interaction yet.</summary>
    Unspecified = 0,

    /// <summary>Awareness.</summary>
    Awareness = 1,

    /// <summary>Consideration.</summary>
    Consideration = 2,

    /// <summary>Evaluation.</summary>
    Evaluation = 3,

    /// <summary>Purchase.</summary>
    Purchase = 4,

    /// <summary>Ownership.</summary>
    Ownership = 5,

    /// <summary>Loyalty.</summary>
    Loyalty = 6,
}

/// <summary>Channels; numbers match journey.common.v1.Channel, names are the configuration keys of <see cref="ProfileOptions.ChannelPurposes"/>.</summary>
public enum ChannelKind
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>The company's web sites.</summary>
    Web = 1,

    /// <summary>E-mail.</summary>
    Email = 2,

    /// <summary>Paid advertising.</summary>
    PaidAd = 3,

    /// <summary>Social media.</summary>
    Social = 4,

    /// <summary>Search engines.</summary>
    Search = 5,

    /// <summary>A dealer or store.</summary>
    DealerStore = 6,

    /// <summary>The call centre.</summary>
    CallCentre = 7,

    /// <summary>After-sales service.</summary>
    Service = 8,

    /// <summary>The product itself.</summary>
    Product = 9,

    /// <summary>Third-party reviews.</summary>
    ThirdPartyReview = 10,

    /// <summary>Price comparison sites.</summary>
    PriceComparison = 11,

    /// <summary>The mobile app.</summary>
    MobileApp = 12,

    /// <summary>Any other channel.</summary>
    Other = 13,
}

/// <summary>Interaction types; numbers match journey.common.v1.InteractionType.</summary>
public enum InteractionType
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>A view.</summary>
    View = 1,

    /// <summary>A click.</summary>
    Click = 2,

    /// <summary>An e-mail open.</summary>
    EmailOpen = 3,

    /// <summary>A form submission.</summary>
    FormSubmit = 4,

    /// <summary>Content consumed.</summary>
    ContentConsumed = 5,

    /// <summary>Cart add.</summary>
    CartAdd = 6,

    /// <summary>Cart abandoned.</summary>
    CartAbandoned = 7,

    /// <summary>Purchase.</summary>
    Purchase = 8,

    /// <summary>Service ticket opened.</summary>
    ServiceTicketOpened = 9,

    /// <summary>Service ticket resolved.</summary>
    ServiceTicketResolved = 10,

    /// <summary>Test drive booked.</summary>
    TestDriveBooked = 11,

    /// <summary>Feedback.</summary>
    Feedback = 12,

    /// <summary>Recommendation shown.</summary>
    RecommendationImpression = 13,

    /// <summary>Recommendation clicked.</summary>
    RecommendationClick = 14,

    /// <summary>Referral.</summary>
    Referral = 15,

    /// <summary>A product configuration built or saved.</summary>
    ConfigurationBuilt = 16,

    /// <summary>A price quote requested.</summary>
    QuoteRequested = 17,
}

/// <summary>Known or anonymous; numbers match journey.events.v1.CustomerType.</summary>
public enum CustomerType
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>Has a customer id or e-mail.</summary>
    Known = 1,

    /// <summary>Only cookie, device, ad click ids (or a phone).</summary>
    Anonymous = 2,
}

/// <summary>An identifier as stored: e-mail and phone are already keyed hashes.</summary>
/// <param name="Kind">The kind (never <see cref="IdentifierKind.ProfileId"/>).</param>
/// <param name="Value">The value or hash.</param>
public readonly record struct IdentifierKey(IdentifierKind Kind, string Value)
{
    /// <summary>Whether the kind marks a known customer.</summary>
    public bool IsKnown => Kind is IdentifierKind.CustomerId or IdentifierKind.Email;

    /// <summary>Whether the kind counts towards the anonymous-identifier cap.</summary>
    public bool IsAnonymous => Kind is IdentifierKind.AnonymousId or IdentifierKind.DeviceId or IdentifierKind.AdClickId;
}

/// <summary>An identifier a profile holds.</summary>
/// <param name="Key">The identifier.</param>
/// <param name="AddedAt">When the profile got it; the anonymous cap drops the oldest first.</param>
public sealed record HeldIdentifier(IdentifierKey Key, DateTimeOffset AddedAt);

/// <summary>A stage the person entered.</summary>
public sealed record StageEntry(JourneyStage Stage, DateTimeOffset EnteredAt);

/// <summary>A decaying score: its value at <paramref name="AsOf"/>.</summary>
public sealed record DecayingScore(double Value, DateTimeOffset AsOf)
{
    /// <summary>The value at <paramref name="at"/> under <paramref name="halfLife"/>.</summary>
    public double At(DateTimeOffset at, TimeSpan halfLife) =>
        at <= AsOf ? Value : Value * Math.Pow(0.5, (at - AsOf) / halfLife);

    /// <summary>Adds <paramref name="amount"/> observed at <paramref name="at"/>; a late observation is decayed to the score's time.</summary>
    public DecayingScore Add(double amount, DateTimeOffset at, TimeSpan halfLife) =>
        at >= AsOf
            ? new DecayingScore(At(at, halfLife) + amount, at)
            : new DecayingScore(Value + new DecayingScore(amount, at).At(AsOf, halfLife), AsOf);

    /// <summary>Both scores combined at the later of their times.</summary>
    public DecayingScore Combine(DecayingScore other, TimeSpan halfLife)
    {
        var at = AsOf > other.AsOf ? AsOf : other.AsOf;
        return new DecayingScore(At(at, halfLife) + other.At(at, halfLife), at);
    }
}

/// <summary>A known customer this profile was linked with but not merged with.</summary>
/// <param name="OtherProfileId">The other profile's id.</param>
/// <param name="SharedKind">The kind of identifier that linked them.</param>
/// <param name="DetectedAt">When.</param>
public sealed record IdentityConflict(string OtherProfileId, IdentifierKind SharedKind, DateTimeOffset DetectedAt);

/// <summary>A content item consumed.</summary>
public sealed record ConsumedContent(string Content, DateTimeOffset At);

/// <summary>A recorded merge.</summary>
/// <param name="SurvivorId">The profile that remained.</param>
/// <param name="MergedId">The profile merged away.</param>
/// <param name="LinkedBy">The kind of identifier that linked them.</param>
/// <param name="MergedAt">When.</param>
/// <param name="MovedIdentifiers">The identifiers that moved.</param>
public sealed record ProfileMerge(string SurvivorId, string MergedId, IdentifierKind LinkedBy, DateTimeOffset MergedAt, IReadOnlyList<IdentifierKey> MovedIdentifiers)
{
    /// <summary>What undoing the merge needs; null for a merge recorded before the ledger kept it.</summary>
    public MergeUndo? Undo { get; init; }
}

/// <summary>
/// What a merge edge keeps so that it can be undone: both profiles as they were just before it, and
/// how far the survivor's activity journal had got.
/// </summary>
/// <param name="SurvivorBefore">The survivor just before the merge.</param>
/// <param name="MergedBefore">The merged profile just before the merge.</param>
public sealed record MergeUndo(CustomerProfile SurvivorBefore, CustomerProfile MergedBefore)
{
    /// <summary>The survivor's <see cref="CustomerProfile.ActivitySeq"/> just before the merge: entries after it came since.</summary>
    public long ActivitySeqBefore => SurvivorBefore.ActivitySeq;
}

/// <summary>A merge in the ledger that is still in force.</summary>
/// <param name="Merge">The merge, with <see cref="ProfileMerge.SurvivorId"/> the live profile it ended in.</param>
/// <param name="MergedAliases">Profiles merged into the merged profile before; they answered with it, and answer with the survivor since.</param>
public sealed record MergeEdge(ProfileMerge Merge, IReadOnlyList<string> MergedAliases);

/// <summary>A merge undone, as the store records it.</summary>
/// <param name="SurvivorId">The profile that stays.</param>
/// <param name="RestoredId">The profile that comes back.</param>
/// <param name="RestoredAliases">Profiles that answer with <paramref name="RestoredId"/> again.</param>
/// <param name="MergedAt">When the undone merge happened (with the ids, it names the edge).</param>
/// <param name="SplitAt">When it was undone.</param>
/// <param name="RestoredIdentifiers">Identifiers moved back to <paramref name="RestoredId"/>.</param>
public sealed record ProfileSplitRecord(string SurvivorId, string RestoredId, IReadOnlyList<string> RestoredAliases, DateTimeOffset MergedAt, DateTimeOffset SplitAt, IReadOnlyList<IdentifierKey> RestoredIdentifiers);

/// <summary>
/// Activity a profile took in while a merge into it is still in force, kept so that a split can give
/// each side its own: an interaction or a consent decision, exactly one of them set.
/// </summary>
/// <param name="Seq">The profile's running number of the entry.</param>
/// <param name="Interaction">An interaction applied.</param>
/// <param name="Consent">A consent decision applied.</param>
public sealed record ActivityEntry(long Seq, Interaction? Interaction, ConsentDecision? Consent)
{
    /// <summary>The identifiers the activity arrived with.</summary>
    public IReadOnlyList<IdentifierKey> Identifiers => Interaction?.Identifiers ?? Consent?.Identifiers ?? [];
}

/// <summary>An interaction as journey inference needs it.</summary>
/// <param name="EventId">The event id (inbox key).</param>
/// <param name="Identifiers">The person's identifiers (e-mail and phone hashed).</param>
/// <param name="Type">What the person did.</param>
/// <param name="Stages">Stages of the touchpoint.</param>
/// <param name="Channel">The channel's number (journey.common.v1.Channel).</param>
/// <param name="OccurredAt">When.</param>
/// <param name="Content">Content id, or empty.</param>
/// <param name="Topics">Topics of the touchpoint and content.</param>
public sealed record Interaction(
    string EventId,
    IReadOnlyList<IdentifierKey> Identifiers,
    InteractionType Type,
    IReadOnlyList<JourneyStage> Stages,
    int Channel,
    DateTimeOffset OccurredAt,
    string Content,
    IReadOnlyList<string> Topics)
{
    /// <summary>When the event was stamped (its envelope's time), which erasure tombstones compare; the interaction's own time when not set.</summary>
    public DateTimeOffset? PublishedAt { get; init; }
}

/// <summary>Identifiers a tracking source saw together for one person (an identify or alias), with traits.</summary>
/// <param name="EventId">The event id (inbox key).</param>
/// <param name="Identifiers">The person's identifiers (e-mail and phone hashed).</param>
/// <param name="Traits">Traits that are not identifiers.</param>
/// <param name="ObservedAt">When the source saw them.</param>
public sealed record ObservedIdentity(string EventId, IReadOnlyList<IdentifierKey> Identifiers, IReadOnlyDictionary<string, string> Traits, DateTimeOffset ObservedAt);

/// <summary>A consent decision the profile service keeps: on profiling, or on a purpose that governs a channel.</summary>
/// <param name="EventId">The event id.</param>
/// <param name="Identifiers">The subject's identifiers (hashed; may include a profile id).</param>
/// <param name="Purpose">The purpose, <c>purposes/{purpose}</c>.</param>
/// <param name="Granted">True for a grant, false for a withdrawal or an expiry.</param>
/// <param name="Channels">Channels the decision covers; empty for every channel.</param>
/// <param name="DecidedAt">When the decision takes effect; decisions are ordered by it, not by arrival.</param>
/// <param name="PublishedAt">When the event was stamped (its envelope's time), which erasure tombstones compare.</param>
public sealed record ConsentDecision(string EventId, IReadOnlyList<IdentifierKey> Identifiers, string Purpose, bool Granted, IReadOnlyList<ChannelKind> Channels, DateTimeOffset DecidedAt, DateTimeOffset PublishedAt);

/// <summary>A decision held on one purpose that governs a channel.</summary>
/// <param name="Granted">True for a grant.</param>
/// <param name="Channels">Channels the decision covers; empty for every channel.</param>
/// <param name="DecidedAt">When the decision took effect.</param>
public sealed record ChannelConsent(bool Granted, IReadOnlyList<ChannelKind> Channels, DateTimeOffset DecidedAt)
{
    /// <summary>Whether the decision speaks for <paramref name="channel"/>.</summary>
    public bool SpeaksFor(ChannelKind channel) => Channels.Count == 0 || Channels.Contains(channel);

    /// <summary>Whether every channel <paramref name="other"/> speaks for, this one speaks for too.</summary>
    public bool Covers(ChannelConsent other) => Channels.Count == 0 || (other.Channels.Count > 0 && other.Channels.All(Channels.Contains));

    /// <summary>
    /// Whether this decision supersedes <paramref name="other"/>: it took effect later, or at the same
    /// time as a withdrawal against a grant (the safe reading of two decisions that cannot be ordered).
    /// </summary>
    public bool IsNewerThan(ChannelConsent other) =>
        DecidedAt > other.DecidedAt || (DecidedAt == other.DecidedAt && !Granted && other.Granted);
}

/// <summary>
/// The decisions that still decide one purpose for a person, newest first. A decision hides every
/// older one whose channels it covers, as the consent service's ledger does, so a grant for one
/// channel leaves another channel's grant standing, and a withdrawal for all channels ends them all.
/// </summary>
public sealed class PurposeConsent
{
    private static readonly ChannelKind[] EveryChannel = [.. Enum.GetValues<ChannelKind>().Where(c => c != ChannelKind.Unspecified)];
    private readonly List<ChannelConsent> _decisions = [];

    /// <summary>The deciding decisions, newest first.</summary>
    public IReadOnlyList<ChannelConsent> Decisions => _decisions;

    /// <summary>
    /// Adds <paramref name="decision"/> unless a decision as new or newer covers its channels already:
    /// decisions arrive out of order, and a late old one must not undo a newer one.
    /// </summary>
    public void Record(ChannelConsent decision)
    {
        if (_decisions.Any(held => !decision.IsNewerThan(held) && held.Covers(decision)))
        {
            return;
        }

        _decisions.RemoveAll(held => decision.IsNewerThan(held) && decision.Covers(held));
        var at = _decisions.FindIndex(held => decision.IsNewerThan(held));
        _decisions.Insert(at < 0 ? _decisions.Count : at, decision);
    }

    /// <summary>The newest decision that speaks for <paramref name="channel"/>, or null when none does.</summary>
    public ChannelConsent? Deciding(ChannelKind channel) => _decisions.FirstOrDefault(d => d.SpeaksFor(channel));

    /// <summary>Whether the deciding decision for <paramref name="channel"/> is a grant; no decision is no grant.</summary>
    public bool Allows(ChannelKind channel) => Deciding(channel)?.Granted == true;

    /// <summary>
    /// What a merged person holds, channel by channel: a withdrawal under either identity holds (the
    /// later of two withdrawals), otherwise the later grant. A decision that wins on every channel is
    /// kept whole; one that wins on some is kept for those channels only.
    /// </summary>
    public static PurposeConsent Combine(PurposeConsent one, PurposeConsent other)
    {
        var winners = new List<(ChannelConsent Decision, List<ChannelKind> Channels)>();
        foreach (var channel in EveryChannel)
        {
            var winner = (one.Deciding(channel), other.Deciding(channel)) switch
            {
                (null, var theirs) => theirs,
                (var ours, null) => ours,
                ({ Granted: false } ours, { Granted: true }) => ours,
                ({ Granted: true }, { Granted: false } theirs) => theirs,
                var (ours, theirs) => theirs.DecidedAt > ours.DecidedAt ? theirs : ours,
            };
            if (winner is null)
            {
                continue;
            }

            var index = winners.FindIndex(w => ReferenceEquals(w.Decision, winner));
            if (index < 0)
            {
                winners.Add((winner, [channel]));
            }
            else
            {
                winners[index].Channels.Add(channel);
            }
        }

        var combined = new PurposeConsent();
        foreach (var (decision, channels) in winners)
        {
            combined.Record(channels.Count == EveryChannel.Length ? decision : decision with { Channels = channels });
        }

        return combined;
    }
}

/// <summary>A page of results.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string NextPageToken);
