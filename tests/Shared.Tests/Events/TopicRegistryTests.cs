using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary><see cref="Topics.Subscribers"/> and the handlers a host registers are checked against each other, both ways.</summary>
public sealed class TopicRegistryTests
{
    private static readonly Dictionary<string, IReadOnlyList<string>> Registry = new()
    {
        ["orders"] = ["billing", "shipping"],
        ["refunds"] = ["billing"],
    };

    [Fact]
    public void AddEventHandler_WhenTopicsDoesNotListTheService_ThrowsNamingServiceAndTopic()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new ServiceCollection().AddEventHandler<StringValue, IgnoringHandler>("consent", Topics.InteractionRecorded));

        Assert.Contains("'consent'", error.Message);
        Assert.Contains($"'{Topics.InteractionRecorded}'", error.Message);
    }

    [Fact]
    public void Disagreement_WhenAListedSubscriberHasNoHandler_NamesServiceAndTopic()
    {
        var problem = EventHandlerRegistration.Disagreement(["billing"], [Subscription("billing", "orders")], Registry);

        Assert.NotNull(problem);
        Assert.Contains("'billing' for topic 'refunds'", problem);
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

    private static EventSubscription Subscription(string service, string topic) => EventSubscription.Create<StringValue, IgnoringHandler>(service, topic, 1);

    private sealed class IgnoringHandler : IEventHandler<StringValue>
    {
        public Task HandleAsync(IReadOnlyList<ReceivedEvent<StringValue>> events, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
