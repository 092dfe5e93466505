namespace Journey.Touchpoint.Domain;

/// <summary>The channel of a touchpoint; numbers match journey.common.v1.Channel.</summary>
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

/// <summary>Who controls a touchpoint; numbers match journey.common.v1.Ownership.</summary>
public enum Ownership
{
    Unspecified = 0,
    Owned = 1,
    Paid = 2,
    Earned = 3,
}

/// <summary>Journey stages in order; numbers match journey.common.v1.JourneyStage.</summary>
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

/// <summary>What a person did; numbers match journey.common.v1.InteractionType.</summary>
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
    ConfigurationBuilt = 16,
    QuoteRequested = 17,
}

/// <summary>Kinds of person identifier; numbers match journey.common.v1.IdentifierKind.</summary>
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

/// <summary>The stages a touchpoint serves as a bit set (bit n-1 for stage n), the form the store indexes and aggregates.</summary>
public static class StageMask
{
    /// <summary>All six stages in journey order.</summary>
    public static readonly IReadOnlyList<JourneyStage> Ordered =
        [JourneyStage.Awareness, JourneyStage.Consideration, JourneyStage.Evaluation, JourneyStage.Purchase, JourneyStage.Ownership, JourneyStage.Loyalty];

    /// <summary>The mask of <paramref name="stages"/>.</summary>
    public static int Of(IEnumerable<JourneyStage> stages) => stages.Aggregate(0, (mask, stage) => mask | Bit(stage));

    /// <summary>The bit of one stage.</summary>
    public static int Bit(JourneyStage stage) => 1 << ((int)stage - 1);

    /// <summary>The stages in a mask, in journey order.</summary>
    public static IReadOnlyList<JourneyStage> Stages(int mask) => Ordered.Where(s => (mask & Bit(s)) != 0).ToList();
}

/// <summary>One identifier of a person as stored: e-mail and phone already replaced by their keyed hash.</summary>
/// <param name="Kind">The kind.</param>
/// <param name="Value">The value (a hash for e-mail and phone).</param>
public sealed record PersonIdentifier(IdentifierKind Kind, string Value)
{
    /// <summary>The form the store links people by: kind number and value.</summary>
    public string Key => $"{(int)Kind}:{Value}";
}

/// <summary>An amount of money.</summary>
/// <param name="CurrencyCode">ISO 4217 code.</param>
/// <param name="Units">Whole units.</param>
/// <param name="Nanos">Nano units, same sign as units.</param>
public sealed record MoneyAmount(string CurrencyCode, long Units, int Nanos);

/// <summary>The service's clock at the precision its stores keep (milliseconds), so a reply equals a later read.</summary>
internal static class StoredTime
{
    /// <summary>Now, truncated to whole milliseconds.</summary>
    public static DateTimeOffset Now(TimeProvider clock)
    {
        var now = clock.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }
}
