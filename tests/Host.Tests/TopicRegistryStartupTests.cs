using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Journey.Host.Tests;

/// <summary>
/// A host refuses to start when a service it runs does not handle a topic its module subscribes to
/// (its events would pile up unread) or when the modules' declarations disagree; the real services
/// handle every topic they declare.
/// </summary>
public sealed class TopicRegistryStartupTests
{
    public static TheoryData<string> Modules() => [TouchpointModule.Name, ProfileModule.Name, ConsentModule.Name, RecommendationModule.Name, "all"];

    [Fact]
    public async Task RunJourney_WhenAListedSubscriberHasNoHandler_ExitsWith2NamingServiceAndTopic()
    {
        using var scratch = new ScratchDirectory("journey-topics-");
        // Declares the touchpoint service's subscriptions (profile-updated among them) but handles nothing.
        var silent = TouchpointModule.Definition with { AddServices = _ => { } };
        await using var app = Build(scratch.Path, null, silent, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition);
        Assert.Null(JourneyHosting.ConfigurationError(app.Services));
        var known = app.Services.GetRequiredService<KnownModules>();
        var problem = EventHandlerRegistration.Disagreement([TouchpointModule.Name], app.Services.GetServices<EventSubscription>(), known.Topics.Subscribers);

        var exitCode = await app.RunJourneyAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(known.Problems);
        Assert.Equal(2, exitCode);
        Assert.NotNull(problem);
        Assert.Contains($"The {TouchpointModule.Name} module subscribes to topic '{ProfileTopics.ProfileUpdated}'", problem);
    }

    [Fact]
    public async Task RunJourney_WhenASubscriptionNamesAServiceThatDoesNotPublishTheTopic_ExitsWith2()
    {
        using var scratch = new ScratchDirectory("journey-topics-");
        // The recommendation service claims to take touchpoint-changed from the profile service, which never publishes it.
        var confused = RecommendationModule.Definition with
        {
            Subscribes = [.. RecommendationModule.Definition.Subscribes.Select(s => s.Topic == RecommendationTopics.TouchpointChanged ? new TopicSubscription(s.Topic, ProfileModule.Name) : s)],
        };
        await using var app = Build(scratch.Path, null, TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, confused);

        var exitCode = await app.RunJourneyAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains($"topic '{RecommendationTopics.TouchpointChanged}' from '{ProfileModule.Name}'", app.Services.GetRequiredService<KnownModules>().Problems);
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public async Task Services_AsDeployedAloneOrTogether_HandleEveryTopicTheyAreListedFor(string module)
    {
        using var scratch = new ScratchDirectory("journey-topics-");
        // As the executable runs: every service known, the Deployment's own enabled.
        await using var app = Build(scratch.Path, module == "all" ? null : module, [.. JourneyServices.All]);
        var enabled = app.Services.GetRequiredService<EnabledModules>().Modules.Select(m => m.Name).ToList();
        var known = app.Services.GetRequiredService<KnownModules>();

        Assert.Equal(module == "all" ? 4 : 1, enabled.Count);
        Assert.Null(known.Problems);
        Assert.Null(EventHandlerRegistration.Disagreement(enabled, app.Services.GetServices<EventSubscription>(), known.Topics.Subscribers));
    }

    private static WebApplication Build(string dataDirectory, string? enabled, params JourneyModule[] modules)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Journey:Hosting:Address"] = "127.0.0.1",
            ["Journey:Hosting:Port"] = "0",
            ["Journey:Hosting:HttpPort"] = "",
            ["Journey:Storage:DataDirectory"] = dataDirectory,
            ["Journey:Hosting:Modules"] = enabled,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddJourneyDefaults();
        builder.AddJourneyModules(modules);
        var app = builder.Build();
        app.MapJourneyEndpoints();
        return app;
    }
}
