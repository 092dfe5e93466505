using Journey.Shared.Events;

namespace Journey.Touchpoint.Domain;

/// <summary>
/// A tracking source: a web site, app or back end that sends with a Segment-compatible SDK. It writes
/// only through its own keys, and its plan maps what it sends onto the touchpoint catalog.
/// </summary>
/// <param name="Id">The id (<c>sources/{id}</c> without the prefix).</param>
/// <param name="DisplayName">A name people read.</param>
/// <param name="AllowedOrigins">Browser origins (<c>https://shop.example</c>) allowed to send; <c>*</c> allows any.</param>
/// <param name="RequestsPerSecond">Most requests a second the tracking API takes from this source before answering 429.</param>
/// <param name="Plan">How what it sends becomes interactions and identifiers.</param>
/// <param name="WriteKeys">Its keys, revoked ones included, as hashes.</param>
/// <param name="Version">Increases with every change.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
public sealed record TrackingSource(
    string Id,
    string DisplayName,
    IReadOnlyList<string> AllowedOrigins,
    int RequestsPerSecond,
    TrackingPlan Plan,
    IReadOnlyList<WriteKey> WriteKeys,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The resource name.</summary>
    public string Name => TrackingNames.SourcePrefix + Id;

    /// <summary>Whether a browser at <paramref name="origin"/> may send as this source.</summary>
    public bool AllowsOrigin(string origin) =>
        AllowedOrigins.Any(o => o == "*" || string.Equals(o.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
}

/// <summary>A write key as stored: never the key itself, only its SHA-256 hash and its last four characters.</summary>
/// <param name="Id">The key's id within its source.</param>
/// <param name="Hash">SHA-256 of the key, lower-case hex.</param>
/// <param name="Hint">The key's last four characters, so people can tell keys apart.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="RevokedAt">When it was revoked; null while it works.</param>
public sealed record WriteKey(string Id, string Hash, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>How a source's messages map onto the catalog.</summary>
/// <param name="Events"><c>track</c> event names to interactions.</param>
/// <param name="Pages"><c>page</c> and <c>screen</c> names or URL path patterns to interactions, first match wins.</param>
/// <param name="Traits">Traits that are identifiers (<c>email</c> → e-mail, ...); the others are profile attributes.</param>
/// <param name="AdTouchpoint">The ad touchpoint id for messages that carry <c>context.campaign</c> or an ad click id; empty for none.</param>
public sealed record TrackingPlan(
    IReadOnlyList<EventMapping> Events,
    IReadOnlyList<PageMapping> Pages,
    IReadOnlyList<TraitMapping> Traits,
    string AdTouchpoint)
{
    /// <summary>E-mail and phone traits as identifiers, as Segment's spec names them.</summary>
    public static IReadOnlyList<TraitMapping> DefaultTraits { get; } =
        [new("email", IdentifierKind.Email), new("phone", IdentifierKind.Phone)];

    /// <summary>A plan that maps nothing but the usual identifier traits.</summary>
    public static TrackingPlan Empty { get; } = new([], [], DefaultTraits, "");

    /// <summary>Consent categories (Segment's <c>context.consent.categoryPreferences</c>) mapped to consent purposes; empty records no consent.</summary>
    public IReadOnlyList<ConsentCategoryMapping> ConsentCategories { get; init; } = [];
}

/// <summary>A consent category a source's consent manager sends, mapped to the consent purpose it decides.</summary>
/// <param name="Category">The category, exactly as sent (<c>Advertising</c>).</param>
/// <param name="PurposeId">The consent purpose id (<c>marketing-ads</c>), as the consent service names purposes.</param>
public sealed record ConsentCategoryMapping(string Category, string PurposeId);

/// <summary>A <c>track</c> event name mapped to an interaction.</summary>
/// <param name="EventName">The event name, exactly (<c>Order Completed</c>).</param>
/// <param name="Touchpoint">The touchpoint id.</param>
/// <param name="Type">The interaction type.</param>
/// <param name="RequiredProperties">Properties the event must carry; one missing is a plan violation.</param>
public sealed record EventMapping(string EventName, string Touchpoint, InteractionType Type, IReadOnlyList<string> RequiredProperties);

/// <summary>A <c>page</c> or <c>screen</c> mapped to an interaction by its name or its URL path.</summary>
/// <param name="Name">The page or screen name, exactly; empty to match by path only.</param>
/// <param name="PathPattern">A URL path pattern where <c>*</c> stands for any characters (<c>/models/*</c>); empty to match by name only.</param>
/// <param name="Touchpoint">The touchpoint id.</param>
/// <param name="Type">The interaction type (usually view).</param>
public sealed record PageMapping(string Name, string PathPattern, string Touchpoint, InteractionType Type);

/// <summary>A trait that identifies a person.</summary>
/// <param name="Trait">The trait key (<c>email</c>).</param>
/// <param name="Kind">The identifier kind it is.</param>
public sealed record TraitMapping(string Trait, IdentifierKind Kind);

/// <summary>What the plan could not place, or a rule it broke, counted per source, kind and name.</summary>
/// <param name="Kind">Unmapped event, page or screen, or a violated rule.</param>
/// <param name="Name">The event, page or screen name (or path).</param>
/// <param name="Detail">For a violation, what was missing; empty otherwise.</param>
public sealed record TrackingIssueKey(TrackingIssueKind Kind, string Name, string Detail)
{
    /// <summary>The name counted for names past a source's limit of distinct issues.</summary>
    public const string OtherName = "(other)";

    /// <summary>This kind's catch-all key.</summary>
    public TrackingIssueKey Other => new(Kind, OtherName, "");
}

/// <summary>Kinds of <see cref="TrackingIssueKey"/>.</summary>
public enum TrackingIssueKind
{
    /// <summary>Not a kind.</summary>
    Unspecified = 0,

    /// <summary>A <c>track</c> event name the plan does not map.</summary>
    UnmappedEvent = 1,

    /// <summary>A page the plan does not map by name or path.</summary>
    UnmappedPage = 2,

    /// <summary>A screen the plan does not map.</summary>
    UnmappedScreen = 3,

    /// <summary>A mapped event without a property the plan requires.</summary>
    MissingProperty = 4,
}

/// <summary>An issue with how often it was seen.</summary>
/// <param name="Key">What was seen.</param>
/// <param name="Count">How many messages.</param>
/// <param name="FirstSeen">The first time.</param>
/// <param name="LastSeen">The last time.</param>
public sealed record TrackingIssue(TrackingIssueKey Key, long Count, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>
/// Who a person is as an <c>identify</c> or <c>alias</c> said, on its way to the profile service.
/// </summary>
/// <param name="MessageId">The message id (deduplicated: a message sent again publishes nothing).</param>
/// <param name="Event">The event that carries the identifiers and traits.</param>
public sealed record ObservedIdentity(string MessageId, OutboxMessage Event);

/// <summary>The tracking sources.</summary>
public interface ITrackingSourceStore
{
    /// <summary>Stores a new source; <see cref="Journey.Shared.Errors.AlreadyExistsException"/> when its id or a key hash is taken.</summary>
    Task CreateAsync(TrackingSource source, CancellationToken cancellationToken);

    /// <summary>One source, or null.</summary>
    Task<TrackingSource?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>The source holding a key with this hash (revoked or not), or null.</summary>
    Task<TrackingSource?> FindByKeyHashAsync(string hash, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a source whose stored version is <paramref name="expectedVersion"/>;
    /// <see cref="Journey.Shared.Errors.ConcurrencyConflictException"/> otherwise.
    /// </summary>
    Task UpdateAsync(TrackingSource source, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> sources with an id after <paramref name="afterId"/>, by id.</summary>
    Task<IReadOnlyList<TrackingSource>> ListAsync(string? afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Adds one sighting per entry of <paramref name="issues"/> at <paramref name="at"/> to the source's
    /// counts. A key the source has no count for yet, once it has <paramref name="maxDistinct"/> (about:
    /// concurrent requests may pass it by a few), is counted under its kind's
    /// <see cref="TrackingIssueKey.Other"/>, so a sender inventing names cannot grow the counts without bound.
    /// </summary>
    Task CountIssuesAsync(string sourceId, IReadOnlyList<TrackingIssueKey> issues, DateTimeOffset at, int maxDistinct, CancellationToken cancellationToken);

    /// <summary>The source's issues, most seen first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<TrackingIssue>> ListIssuesAsync(string sourceId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Appends the event of each identity whose message id this source has not sent within
    /// <see cref="TouchpointOptions.TrackingIdentityRetention"/> before <paramref name="at"/>, in one
    /// transaction, claiming the id at <paramref name="at"/>; returns how many were new.
    /// </summary>
    Task<int> AppendIdentitiesAsync(string sourceId, IReadOnlyList<ObservedIdentity> identities, DateTimeOffset at, CancellationToken cancellationToken);
}

/// <summary>Resource names of the tracking API.</summary>
public static class TrackingNames
{
    /// <summary>The prefix of a source's name.</summary>
    public const string SourcePrefix = "sources/";

    /// <summary>The id in <c>sources/{id}</c>, or null when the name is malformed.</summary>
    public static string? TryParseSource(string name) =>
        name.StartsWith(SourcePrefix, StringComparison.Ordinal) && IsId(name[SourcePrefix.Length..]) ? name[SourcePrefix.Length..] : null;

    /// <summary>Whether <paramref name="id"/> is 1 to 63 lower-case letters, digits and hyphens, starting with a letter.</summary>
    public static bool IsId(string id) =>
        id.Length is >= 1 and <= 63 && char.IsAsciiLetterLower(id[0]) && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
