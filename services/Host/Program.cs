using Journey.Host;
using Journey.Shared.Hosting;
using Journey.WebConsole;

if (TokenCommand.IsRequested(args))
{
    return TokenCommand.Run(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddJourneyDefaults();
builder.AddJourneyModules([.. JourneyServices.All]);
builder.Services.AddJourneyDemo();
builder.AddJourneyConsole();
var app = builder.Build();
app.MapJourneyEndpoints();
app.MapJourneyConsole();
return await app.RunJourneyAsync();
