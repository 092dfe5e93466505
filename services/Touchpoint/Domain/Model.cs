namespace Journey.Touchpoint.Domain;

// Values match the journey.common.v1 enums one to one, so the gRPC mapping is a cast.

/// <summary>A stage of the customer journey, in order.</summary>
public enum JourneyStage
{
    Unspecified = 0,
    Awareness = 1,
    Consideration = 2,
    Evaluation = 3,
    Purchase = 4,
    Ownership = 5,
    Loyalty = 6,
}

/// <summary>The channel of a touchpoint.</summary>
public enum Channel
{
    Unspecified = 0,
    Web = 1,
    Email = 2,
    PaidAd = 3,
    Social = 4,
    Search = 5,
    DealerStore = 6,
    CallCentre = 7,
    Service = 8,
    Product = 9,
    ThirdPartyReview = 10,
    PriceComparison = 11,
    MobileApp = 12,
    Other = 13,
}

/// <summary>Who controls a touchpoint.</summary>
public enum Ownership
{
    Unspecified = 0,
    Owned = 1,
    Paid = 2,
    Earned = 3,
}

/// <summary>What a person did.</summary>
public enum InteractionType
{
    Unspecified = 0,
    View = 1,
    Click = 2,
    EmailOpen = 3,
    FormSubmit = 4,
    ContentConsumed = 5,
    CartAdd = 6,
    CartAbandoned = 7,
    Purchase = 8,
    ServiceTicketOpened = 9,
    ServiceTicketResolved = 10,
    TestDriveBooked = 11,
    Feedback = 12,
    RecommendationImpression = 13,
    RecommendationClick = 14,
    Referral = 15,
}

/// <summary>The kind of a person identifier.</summary>
public enum IdentifierKind
{
    Unspecified = 0,
    CustomerId = 1,
    Email = 2,
    Phone = 3,
    AnonymousId = 4,
    DeviceId = 5,
    AdClickId = 6,
    ProfileId = 7,
}

/// <summary>The experience a touchpoint is meant to deliver.</summary>
/// <param name="TargetRating">Target satisfaction, 1.0 to 5.0.</param>
/// <param name="Statement">The feeling it should leave.</param>
public sealed record IntendedExperience(double TargetRating, string Statement);

/// <summary>A catalog entry.</summary>
public sealed record TouchpointEntry(
    string Id,
    string DisplayName,
    Channel Channel,
    Ownership Ownership,
    IReadOnlyList<JourneyStage> Stages,
    int Criticality,
    IntendedExperience IntendedExperience,
    string OwningTeam,
    IReadOnlyList<string> Topics,
    bool Retired,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>Which touchpoints to list; null members match everything.</summary>
public sealed record TouchpointFilter(Channel? Channel, Ownership? Ownership, JourneyStage? Stage, int MinCriticality, bool IncludeRetired);

/// <summary>One page of a keyset-paged list.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">The items.</param>
/// <param name="NextAfter">The key to continue after; null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextAfter);

/// <summary>An identifier of a person; e-mail and phone hold their keyed hash once accepted.</summary>
public sealed record PersonIdentifier(IdentifierKind Kind, string Value);

/// <summary>An amount of money.</summary>
public sealed record Money(string CurrencyCode, long Units, int Nanos);

/// <summary>One interaction at a touchpoint, as a sender reports it.</summary>
public sealed record Interaction(
    string InteractionId,
    string TouchpointId,
    DateTimeOffset? OccurredAt,
    IReadOnlyList<PersonIdentifier> Identifiers,
    InteractionType Type,
    string ContentId,
    string RecommendationId,
    int Rating,
    string Comment,
    Money? Value,
    IReadOnlyDictionary<string, string> Properties);

/// <summary>An interaction that was turned away.</summary>
/// <param name="Index">Its position in the batch.</param>
/// <param name="InteractionId">Its id as sent.</param>
/// <param name="Field">The field at fault.</param>
/// <param name="Reason">What is wrong.</param>
public sealed record Rejection(int Index, string InteractionId, string Field, string Reason);

/// <summary>What happened to a batch.</summary>
public sealed record RecordResult(int Accepted, int Duplicates, IReadOnlyList<Rejection> Rejected);
