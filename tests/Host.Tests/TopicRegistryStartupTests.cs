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
/// A host refuses to start when a service it runs does not handle a topic <see cref="Topics.Subscribers"/>
/// lists it for (its events would pile up unread); the real services handle every topic they are listed for.
/// </summary>
public sealed class TopicRegistryStartupTests
{
    public static TheoryData<string> Modules() => [TouchpointModule.Name, ProfileModule.Name, ConsentModule.Name, RecommendationModule.Name, "all"];

    [Fact]
    public async Task RunJourney_WhenAListedSubscriberHasNoHandler_ExitsWith2NamingServiceAndTopic()
    {
        using var scratch = new ScratchDirectory("journey-topics-");
        // Named like the touchpoint service, which Topics lists for profile-updated, but handling nothing.
        var silent = new JourneyModule(TouchpointModule.Name, _ => { }, _ => { });
        await using var app = Build(scratch.Path, silent);
        Assert.Null(JourneyHosting.ConfigurationError(app.Services));
        var problem = EventHandlerRegistration.Disagreement([TouchpointModule.Name], app.Services.GetServices<EventSubscription>());

        var exitCode = await app.RunJourneyAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.NotNull(problem);
        Assert.Contains($"'{TouchpointModule.Name}' for topic '{Topics.ProfileUpdated}'", problem);
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public async Task Services_AsDeployedAloneOrTogether_HandleEveryTopicTheyAreListedFor(string module)
    {
        using var scratch = new ScratchDirectory("journey-topics-");
        JourneyModule[] all = [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition];
        await using var app = Build(scratch.Path, module == "all" ? all : all.Where(m => m.Name == module).ToArray());
        var enabled = app.Services.GetRequiredService<EnabledModules>().Modules.Select(m => m.Name);

        Assert.Null(EventHandlerRegistration.Disagreement(enabled, app.Services.GetServices<EventSubscription>()));
    }

    private static WebApplication Build(string dataDirectory, params JourneyModule[] modules)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Journey:Hosting:Address"] = "127.0.0.1",
            ["Journey:Hosting:Port"] = "0",
            ["Journey:Hosting:HttpPort"] = "",
            ["Journey:Storage:DataDirectory"] = dataDirectory,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddJourneyDefaults();
        builder.AddJourneyModules(modules);
        var app = builder.Build();
        app.MapJourneyEndpoints();
        return app;
    }
}
