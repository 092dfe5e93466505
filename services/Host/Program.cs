using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Touchpoint;

if (Journey.Host.TokenCommand.IsRequested(args))
{
    return Journey.Host.TokenCommand.Run(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddJourneyDefaults();
builder.AddJourneyModules(TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition);
builder.Services.AddHostedService<Journey.Host.DemoData>();

var app = builder.Build();
app.MapJourneyEndpoints();
return await app.RunJourneyAsync();
