using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Hosting;
using Journey.Touchpoint;

var builder = WebApplication.CreateBuilder(args);
builder.AddJourneyDefaults();
builder.AddJourneyModules(TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition);

var app = builder.Build();
app.MapJourneyEndpoints();
return await app.RunJourneyAsync();
