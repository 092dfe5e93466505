using Journey.Consent;
using Journey.Host;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Touchpoint;
using Journey.WebConsole;

if (TokenCommand.IsRequested(args))
{
    return TokenCommand.Run(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddJourneyDefaults();
builder.AddJourneyModules(TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition);
builder.Services.AddJourneyDemo();
builder.AddJourneyConsole();
var app = builder.Build();
app.MapJourneyEndpoints();
app.MapJourneyConsole();
return await app.RunJourneyAsync();
