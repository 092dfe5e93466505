using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;

namespace Journey.Shared.Tests.Events;

/// <summary>
/// The modules' topic and scope declarations are aggregated and checked (<see cref="TopicMap"/>,
/// <see cref="ScopeCatalog"/>), and the handlers a host registers are checked against them, both ways.
/// </summary>
public sealed class TopicRegistryTests
{
    private static readonly Dictionary<string, IReadOnlyList<string>> Registry = new()
    {
        ["orders"] = ["billing", "shipping"],
        ["refunds"] = ["billing"],
    };

    [Fact]
    public void TopicMap_AggregatesPublishersAndSubscribersOverModules()
    {
        var map = new TopicMap([Shop, Billing, Shipping]);

        Assert.Empty(map.Problems);
        Assert.Equal(["shop"], map.Publishers["orders"]);
        Assert.Equal(["billing", "shipping"], map.Subscribers["orders"]);
        Assert.Equal(["billing"], map.Subscribers["refunds"]);
        Assert.Empty(map.Subscribers["audits"]);
        Assert.Equal(["shop", "billing", "shipping"], map.Services);
    }

    [Fact]
    public void TopicMap_WhenASubscriptionNamesAServiceThatDoesNotPublishTheTopic_NamesBoth()
    {
        var wrong = Billing with { Subscribes = [new("orders", "shipping")] };

        var problem = Assert.Single(new TopicMap([Shop, wrong, Shipping]).Problems);

        Assert.Contains("billing service subscribes to topic 'orders' from 'shipping'", problem);
        Assert.Contains("does not declare it in Publishes", problem);
    }

    [Fact]
    public void TopicMap_WhenASubscriptionNamesAnUnknownService_SaysSo()
    {
        var problem = Assert.Single(new TopicMap([Billing with { Subscribes = [new("orders", "warehouse")] }]).Problems);

        Assert.Contains("'warehouse', which is not a known service", problem);
    }

    [Fact]
    public void TopicMap_WhenNamesRepeat_NamesEachRepetition()
    {
        var twice = Shop with { Publishes = ["orders", "orders"] };

        var problems = new TopicMap([twice, Shop with { Publishes = [] }]).Problems;

        Assert.Contains(problems, p => p.Contains("Two modules are named 'shop'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("declares topic 'orders' twice in Publishes", StringComparison.Ordinal));
    }

    [Fact]
    public void TopicMap_WhenASubscriptionNamesNoPublisher_SaysSo()
    {
        var problem = Assert.Single(new TopicMap([Billing with { Subscribes = [new("orders", Array.Empty<string>())] }]).Problems);

        Assert.Contains("from no publisher", problem);
    }

    [Fact]
    public void ScopeCatalog_AggregatesModulesThenThePlatformsScopes()
    {
        var catalog = new ScopeCatalog([Shop, Billing]);

        Assert.Empty(catalog.Problems);
        Assert.Equal(["shop:read", "shop:write", "billing:write", Scopes.PrivacyErase, Scopes.Admin], catalog.All);
        Assert.True(catalog.IsWrite("shop:write"));
        Assert.False(catalog.IsWrite("shop:read"));
        Assert.True(catalog.IsSensitive("billing:write"));
        Assert.False(catalog.IsSensitive("shop:write"));
        Assert.True(catalog.IsSensitive(Scopes.Admin));
        Assert.False(catalog.Contains("shipping:read"));
    }

    [Fact]
    public void ScopeCatalog_WhenTwoModulesDefineOneScope_NamesBoth()
    {
        var problem = Assert.Single(new ScopeCatalog([Shop, Billing with { Scopes = [new("shop:read", "again")] }]).Problems);

        Assert.Contains("'shop:read' is defined by both shop and billing", problem);
    }

    [Fact]
    public void ScopeCatalog_WhenAModuleRedefinesAPlatformScope_SaysSo()
    {
        var problem = Assert.Single(new ScopeCatalog([Shop with { Scopes = [new(Scopes.Admin, "mine")] }]).Problems);

        Assert.Contains("'admin' is defined by both shop and the platform", problem);
    }

    [Fact]
    public void MethodScopes_WhenATableNamesAScopeNoModuleDefines_FailsNamingIt()
    {
        var scopes = new MethodScopes(new ScopeCatalog([Shop]));

        var error = Assert.Throws<InvalidOperationException>(() => scopes.Add(
            Journey.Platform.V1.DiagnosticsService.Descriptor, new Dictionary<string, string> { ["Ping"] = "billing:write" }));

        Assert.Contains("unknown scopes [billing:write]", error.Message);
    }

    [Fact]
    public void Parse_WhenTheSourceIsNotAPublisherTheSubscriptionNames_IsPoison()
    {
        var subscription = Subscription("billing", new TopicSubscription("orders", "shop"));
        var envelope = EventEnvelopes.Create("orders", "shipping", new StringValue { Value = "x" }, DateTimeOffset.UnixEpoch).Envelope;

        var error = Assert.Throws<PoisonEventException>(() => subscription.Parse(envelope));

        Assert.Contains("not published by 'shipping'", error.Message);
        Assert.Equal("orders", subscription.Parse(EventEnvelopes.Create("orders", "shop", new StringValue { Value = "x" }, DateTimeOffset.UnixEpoch).Envelope).Topic);
    }

    [Fact]
    public void Disagreement_WhenAListedSubscriberHasNoHandler_NamesServiceAndTopic()
    {
        var problem = EventHandlerRegistration.Disagreement(["billing"], [Subscription("billing", "orders")], Registry);

        Assert.NotNull(problem);
        Assert.Contains("The billing module subscribes to topic 'refunds'", problem);
        Assert.DoesNotContain("'orders'", problem);
    }

    [Fact]
    public void Disagreement_WhenAHandlerIsNotListed_NamesServiceAndTopic()
    {
        var problem = EventHandlerRegistration.Disagreement(
            ["shipping"], [Subscription("shipping", "orders"), Subscription("shipping", "refunds")], Registry);

        Assert.NotNull(problem);
        Assert.Contains("shipping service handles topic 'refunds'", problem);
    }

    [Fact]
    public void Disagreement_WhenEveryListedSubscriberOfTheHostsServicesHasAHandler_IsNull()
    {
        // Shipping is listed for orders but runs elsewhere: only the services this host runs are checked.
        var problem = EventHandlerRegistration.Disagreement(["billing"], [Subscription("billing", "orders"), Subscription("billing", "refunds")], Registry);

        Assert.Null(problem);
    }

    private static readonly JourneyModule Shop = new("shop", _ => { }, _ => { })
    {
        Publishes = ["orders", "audits"],
        Scopes = [new("shop:read", "Read the shop."), new("shop:write", "Change the shop.", Writes: true)],
    };

    private static readonly JourneyModule Billing = new("billing", _ => { }, _ => { })
    {
        Publishes = ["refunds"],
        Subscribes = [new("orders", "shop"), new("refunds", "billing")],
        Scopes = [new("billing:write", "Bill.", Writes: true, Audited: true)],
    };

    private static readonly JourneyModule Shipping = new("shipping", _ => { }, _ => { })
    {
        Subscribes = [new("orders", "shop")],
    };

    private static EventSubscription Subscription(string service, string topic) => Subscription(service, new TopicSubscription(topic, "shop"));

    private static EventSubscription Subscription(string service, TopicSubscription subscription) =>
        EventSubscription.Create<StringValue, IgnoringHandler>(service, subscription, 1);

    private sealed class IgnoringHandler : IEventHandler<StringValue>
    {
        public Task HandleAsync(IReadOnlyList<ReceivedEvent<StringValue>> events, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
