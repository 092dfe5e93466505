using System.Text.Json;
using Journey.Touchpoint.Domain;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Touchpoint.Tests.Domain;

public sealed class TrackingPlannerTests
{
    private static readonly DateTimeOffset Received = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly TrackingPlan Plan = new(
        [
            new EventMapping("Order Completed", "dealer", InteractionType.Purchase, ["order_id"]),
            new EventMapping("Product Added", "shop", InteractionType.CartAdd, []),
        ],
        [
            new PageMapping("Home", "", "home", InteractionType.View),
            new PageMapping("", "/models/*", "model-pages", InteractionType.View),
        ],
        [.. TrackingPlan.DefaultTraits, new TraitMapping("crmId", IdentifierKind.CustomerId)],
        "ads");

    private static TrackingMessage Read(string json, TrackingMessageType? type = null)
    {
        using var document = JsonDocument.Parse(json);
        var (messages, _) = TrackingMessageReader.Read(document.RootElement, type, 32 * 1024);
        var (message, error) = Assert.Single(messages);
        Assert.Null(error);
        return message!;
    }

    [Fact]
    public void CorrectedTime_WhenTheSenderClockIsAheadByAnHour_MovesTheTimestampBackByIt()
    {
        var timestamp = Received.AddHours(1).AddSeconds(-3);
        var sentAt = Received.AddHours(1).AddMilliseconds(250);

        Assert.Equal(Received.AddSeconds(-3), TrackingPlanner.CorrectedTime(timestamp, sentAt, Received));
    }

    [Fact]
    public void CorrectedTime_WhenTheSkewIsWithinTolerance_KeepsTheTimestampSoARetryIsADuplicate()
    {
        var timestamp = Received.AddSeconds(-30);

        Assert.Equal(timestamp, TrackingPlanner.CorrectedTime(timestamp, Received.AddSeconds(-2), Received));
        Assert.Equal(timestamp, TrackingPlanner.CorrectedTime(timestamp, Received.AddSeconds(-2), Received.AddSeconds(5)));
    }

    [Fact]
    public void CorrectedTime_ForARetryOfASkewedSender_GivesTheSameTimeAsTheFirstTry()
    {
        var timestamp = Received.AddDays(-1);
        var first = TrackingPlanner.CorrectedTime(timestamp, Received.AddHours(-2), Received);
        var retry = TrackingPlanner.CorrectedTime(timestamp, Received.AddHours(-2).AddSeconds(10), Received.AddSeconds(10).AddMilliseconds(37));

        Assert.Equal(first, retry);
        Assert.Equal(timestamp.AddHours(2), first);
    }

    [Fact]
    public void CorrectedTime_WithoutTimestamp_IsTheReceiveTime() =>
        Assert.Equal(Received, TrackingPlanner.CorrectedTime(null, Received.AddHours(3), Received));

    [Theory]
    [InlineData("/models/*", "/models/ev-1", true)]
    [InlineData("/models/*", "/models/", true)]
    [InlineData("/models/*", "/model", false)]
    [InlineData("/models/*/configure", "/models/ev-1/configure", true)]
    [InlineData("/models/*/configure", "/models/ev-1/price", false)]
    [InlineData("/checkout", "/checkout", true)]
    [InlineData("/checkout", "/checkout/done", false)]
    public void PathMatches_TreatsStarAsAnyCharacters(string pattern, string path, bool matches) =>
        Assert.Equal(matches, TrackingPlanner.PathMatches(pattern, path));

    [Fact]
    public void Plan_MappedTrack_BecomesAnInteractionWithMessageIdIdentifiersValueAndProperties()
    {
        var message = Read(
            """
            {"type":"track","event":"Order Completed","messageId":"m-1","userId":"c-42","anonymousId":"a-1",
             "timestamp":"2026-03-01T08:59:00Z","properties":{"order_id":"o-9","revenue":129.5,"currency":"eur","items":[1]},
             "context":{"traits":{"email":"Ann@Example.com"}}}
            """,
            TrackingMessageType.Track);

        var planned = Assert.IsType<PlannedMessage.Record>(TrackingPlanner.Plan(Plan, message, Received));

        var input = planned.Input;
        Assert.Equal(("m-1", "touchpoints/dealer", InteractionType.Purchase), (input.EventId, input.Touchpoint, input.Type));
        Assert.Equal(Received.AddMinutes(-1), input.OccurredAt);
        Assert.Equal([(IdentifierKind.CustomerId, "c-42"), (IdentifierKind.AnonymousId, "a-1"), (IdentifierKind.Email, "Ann@Example.com")], input.Identifiers);
        Assert.Equal(new MoneyAmount("EUR", 129, 500_000_000), input.Value);
        Assert.Equal("o-9", input.Properties["order_id"]);
        Assert.False(input.Properties.ContainsKey("items"));
    }

    [Fact]
    public void Plan_TrackNotInThePlan_IsUnmappedUnderItsName()
    {
        var message = Read("""{"event":"Video Played","messageId":"m-1","anonymousId":"a-1"}""", TrackingMessageType.Track);

        var planned = Assert.IsType<PlannedMessage.Unmapped>(TrackingPlanner.Plan(Plan, message, Received));

        Assert.Equal(new TrackingIssueKey(TrackingIssueKind.UnmappedEvent, "Video Played", ""), planned.Issue);
    }

    [Fact]
    public void Plan_TrackWithoutARequiredProperty_IsRejectedAndCountedAsAViolation()
    {
        var message = Read("""{"event":"Order Completed","messageId":"m-1","anonymousId":"a-1","properties":{}}""", TrackingMessageType.Track);

        var planned = Assert.IsType<PlannedMessage.Rejected>(TrackingPlanner.Plan(Plan, message, Received));

        Assert.Contains("order_id", planned.Reason);
        Assert.Equal(new TrackingIssueKey(TrackingIssueKind.MissingProperty, "Order Completed", "order_id"), planned.Issue);
    }

    [Fact]
    public void Plan_PageByUrlPattern_AndByName_AndUnmappedByPath()
    {
        var byPath = Read("""{"messageId":"m-1","anonymousId":"a-1","properties":{"url":"https://shop.example/models/ev-1?x=1"}}""", TrackingMessageType.Page);
        var byName = Read("""{"messageId":"m-2","anonymousId":"a-1","name":"Home","context":{"page":{"path":"/"}}}""", TrackingMessageType.Page);
        var unmapped = Read("""{"messageId":"m-3","anonymousId":"a-1","context":{"page":{"path":"/careers"}}}""", TrackingMessageType.Page);

        Assert.Equal("touchpoints/model-pages", Assert.IsType<PlannedMessage.Record>(TrackingPlanner.Plan(Plan, byPath, Received)).Input.Touchpoint);
        Assert.Equal("/models/ev-1", Assert.IsType<PlannedMessage.Record>(TrackingPlanner.Plan(Plan, byPath, Received)).Input.Properties["path"]);
        Assert.Equal("touchpoints/home", Assert.IsType<PlannedMessage.Record>(TrackingPlanner.Plan(Plan, byName, Received)).Input.Touchpoint);
        Assert.Equal(new TrackingIssueKey(TrackingIssueKind.UnmappedPage, "/careers", ""), Assert.IsType<PlannedMessage.Unmapped>(TrackingPlanner.Plan(Plan, unmapped, Received)).Issue);
    }

    [Fact]
    public void Plan_UnmappedPageFromAnAdClick_IsAClickAtTheAdTouchpointWithTheClickId()
    {
        var message = Read("""{"messageId":"m-1","anonymousId":"a-1","properties":{"url":"https://shop.example/offer?gclid=G-123"}}""", TrackingMessageType.Page);

        var input = Assert.IsType<PlannedMessage.Record>(TrackingPlanner.Plan(Plan, message, Received)).Input;

        Assert.Equal(("touchpoints/ads", InteractionType.Click), (input.Touchpoint, input.Type));
        Assert.Contains((IdentifierKind.AdClickId, "G-123"), input.Identifiers);
    }

    [Fact]
    public void Plan_Identify_CarriesIdentifierTraitsAsIdentifiersAndTheOthersAsSnakeCaseAttributes()
    {
        var message = Read("""{"messageId":"m-1","userId":"c-42","anonymousId":"a-1","traits":{"email":"ann@example.com","crmId":"crm-7","firstName":"Ann","plan":"pro"}}""", TrackingMessageType.Identify);

        var planned = Assert.IsType<PlannedMessage.Identify>(TrackingPlanner.Plan(Plan, message, Received));

        Assert.Equal(
            [(IdentifierKind.CustomerId, "c-42"), (IdentifierKind.AnonymousId, "a-1"), (IdentifierKind.Email, "ann@example.com"), (IdentifierKind.CustomerId, "crm-7")],
            planned.Identifiers);
        Assert.Equal(new Dictionary<string, string> { ["first_name"] = "Ann", ["plan"] = "pro" }, planned.Traits);
    }

    [Fact]
    public void ConsentPreferences_OfMappedCategories_OnePerPurposeARefusalWinning_UnmappedAndNonBooleanLeftOut()
    {
        var plan = Plan with
        {
            ConsentCategories =
            [
                new ConsentCategoryMapping("Advertising", "marketing-ads"),
                new ConsentCategoryMapping("Analytics", "analytics"),
                new ConsentCategoryMapping("Retargeting", "marketing-ads"),
            ],
        };
        var message = Read("""
            {"type":"track","event":"X","messageId":"m","anonymousId":"a","context":{"consent":{"categoryPreferences":
             {"Advertising":true,"Retargeting":false,"Analytics":true,"Functional":false,"advertising":false,"Broken":"true"}}}}
            """, TrackingMessageType.Track);

        Assert.Equal(5, message.CategoryPreferences.Count);
        Assert.Equal([("marketing-ads", false), ("analytics", true)], TrackingPlanner.ConsentPreferences(plan, message));
        Assert.Empty(TrackingPlanner.ConsentPreferences(Plan, message));
    }

    [Fact]
    public void Plan_Alias_LinksThePreviousAnonymousIdToTheUserId()
    {
        var message = Read("""{"messageId":"m-1","previousId":"a-1","userId":"c-42"}""", TrackingMessageType.Alias);

        var planned = Assert.IsType<PlannedMessage.Identify>(TrackingPlanner.Plan(Plan, message, Received));

        Assert.Equal([(IdentifierKind.AnonymousId, "a-1"), (IdentifierKind.CustomerId, "c-42")], planned.Identifiers);
    }

    [Fact]
    public void Read_BatchItems_EachTypedAndOversizedOrAnonymousOnesRejectedAlone()
    {
        var big = new string('x', 40 * 1024);
        using var document = JsonDocument.Parse($$$"""
            {"sentAt":"2026-03-01T09:00:00Z","batch":[
              {"type":"track","event":"A","messageId":"1","anonymousId":"a"},
              {"type":"track","event":"B","messageId":"2"},
              {"type":"page","messageId":"3","anonymousId":"a","properties":{"big":"{{{big}}}"}},
              {"type":"hello","messageId":"4","anonymousId":"a"},
              7]}
            """);

        var (messages, _) = TrackingMessageReader.Read(document.RootElement, null, 32 * 1024);

        Assert.Null(messages[0].Error);
        Assert.Equal(Received, messages[0].Message!.SentAt);
        Assert.Contains("userId or anonymousId", messages[1].Error);
        Assert.Contains("32 KB", messages[2].Error);
        Assert.Contains("type must be", messages[3].Error);
        Assert.NotNull(messages[4].Error);
    }

    [Fact]
    public void RateLimiter_AfterTheBurst_RefusesWithTheWaitUntilATokenIsBack()
    {
        var clock = new FakeTimeProvider(Received);
        var limiter = new TrackingRateLimiter(clock);
        var source = new TrackingSource("web", "Web", [], 2, TrackingPlan.Empty, [], 1, Received, Received);

        Assert.Null(limiter.TryAcquire(source));
        Assert.Null(limiter.TryAcquire(source));
        Assert.Equal(TimeSpan.FromSeconds(0.5), limiter.TryAcquire(source));

        clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Null(limiter.TryAcquire(source));
        Assert.NotNull(limiter.TryAcquire(source));
    }
}
