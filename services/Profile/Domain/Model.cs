namespace Journey.Profile.Domain;

// Values match the journey.common.v1 and journey.events.v1 enums one to one, so mapping is a cast.

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

/// <summary>Known customer or anonymous visitor.</summary>
public enum CustomerType
{
    Unspecified = 0,
    Known = 1,
    Anonymous = 2,
}

/// <summary>What a person did, as far as journey state cares.</summary>
public enum InteractionType
{
    Unspecified = 0,
    Purchase = 8,
    Referral = 15,
}

/// <summary>An identifier; e-mail and phone hold their keyed hash.</summary>
public sealed record PersonIdentifier(IdentifierKind Kind, string Value)
{
    /// <summary>Whether this identifier alone makes a person a known customer.</summary>
    public bool MarksKnownCustomer => Kind is IdentifierKind.CustomerId or IdentifierKind.Email;
}

/// <summary>A person's profile.</summary>
public sealed record PersonProfile(
    string Id,
    IReadOnlyList<PersonIdentifier> Identifiers,
    JourneyStage Stage,
    long InteractionCount,
    DateTimeOffset FirstInteractionAt,
    DateTimeOffset LastInteractionAt,
    long Version)
{
    /// <summary>Known when any identifier marks a known customer.</summary>
    public CustomerType CustomerType => Identifiers.Any(i => i.MarksKnownCustomer) ? CustomerType.Known : CustomerType.Anonymous;
}

/// <summary>An interaction as the profile service learns of it (from the touchpoint service's event).</summary>
/// <param name="EventId">The event id, for the inbox.</param>
/// <param name="Identifiers">Who (e-mail and phone already hashed).</param>
/// <param name="OccurredAt">When.</param>
/// <param name="Type">What, by its journey.common.v1 number.</param>
/// <param name="TouchpointStages">The stages the touchpoint serves.</param>
public sealed record ObservedInteraction(string EventId, IReadOnlyList<PersonIdentifier> Identifiers, DateTimeOffset OccurredAt, int Type, IReadOnlyList<JourneyStage> TouchpointStages);
