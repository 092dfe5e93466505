using Grpc.Core;
using Grpc.Net.Client;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Journey.Testing;

/// <summary>
/// A real Journey host for tests: the same defaults and modules as the executable, on 127.0.0.1 with
/// a free port, over its own temporary data directory, called through a real gRPC channel.
/// </summary>
public sealed class TestPlatform : IAsyncDisposable
{
    private readonly bool _ownsDirectory;

    private TestPlatform(WebApplication app, string dataDirectory, bool ownsDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        Address = app.ListeningAddresses()[0];
        HttpAddress = app.ListeningAddresses().Skip(1).FirstOrDefault();
        Channel = CreateChannel([.. app.Services.GetRequiredService<KnownModules>().Scopes.All]);
    }

    /// <summary>The running application.</summary>
    public WebApplication App { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => App.Services;

    /// <summary>The data directory (SQLite files and bus).</summary>
    public string DataDirectory { get; }

    /// <summary>The listening address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Address { get; }

    /// <summary>The HTTP/1.1 listener's address when <c>Journey:Hosting:HttpPort</c> is set, else null.</summary>
    public string? HttpAddress { get; }

    /// <summary>A channel to the host whose calls carry a development token with every scope.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A channel whose calls carry a token with exactly <paramref name="scopes"/>.</summary>
    public GrpcChannel CreateChannel(params string[] scopes) => ChannelWithToken(Address, CreateToken(scopes));

    /// <summary>A development token of this host with <paramref name="scopes"/>.</summary>
    public string CreateToken(params string[] scopes) =>
        Services.GetRequiredService<DevelopmentIssuer>().CreateToken("test-caller", scopes, TimeSpan.FromHours(1));

    /// <summary>A channel to <paramref name="address"/> whose calls carry <paramref name="token"/>.</summary>
    public static GrpcChannel ChannelWithToken(string address, string token) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return Task.CompletedTask;
            })),
            UnsafeUseInsecureChannelCallCredentials = true,
        });

    /// <summary>A channel whose calls carry no token.</summary>
    public GrpcChannel CreateAnonymousChannel() => GrpcChannel.ForAddress(Address);

    /// <summary>Starts a host with <paramref name="modules"/>.</summary>
    /// <param name="modules">The services to run.</param>
    /// <param name="settings">Configuration overrides, e.g. <c>Journey:Events:DeliveryEnabled</c>.</param>
    /// <param name="configureServices">Registrations applied before the defaults, e.g. a fake <see cref="TimeProvider"/>.</param>
    /// <param name="dataDirectory">An existing data directory to reuse (a restart); a fresh one when null.</param>
    public static async Task<TestPlatform> StartAsync(
        IReadOnlyList<JourneyModule> modules,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null,
        string? dataDirectory = null)
    {
        var ownsDirectory = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("journey-test-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        var configuration = Overlay(new Dictionary<string, string?>
        {
            ["Journey:Hosting:Address"] = "127.0.0.1",
            ["Journey:Hosting:Port"] = "0",
            // Off unless a test asks for it ("0"): the content root's appsettings.json names 5081.
            ["Journey:Hosting:HttpPort"] = "",
            ["Journey:Storage:DataDirectory"] = dataDirectory,
            ["Journey:Events:PollInterval"] = "00:00:00.050",
            ["Journey:Events:InitialBackoff"] = "00:00:00.010",
            ["Journey:Events:MaxBackoff"] = "00:00:00.050",
        }, settings);
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configureServices?.Invoke(builder.Services);
        builder.AddJourneyDefaults();
        builder.AddJourneyModules([.. modules]);
        var app = builder.Build();
        app.MapJourneyEndpoints();
        await app.StartAsync();
        return new TestPlatform(app, dataDirectory, ownsDirectory);
    }

    /// <summary><paramref name="defaults"/> with every key of <paramref name="settings"/> set over it.</summary>
    public static Dictionary<string, string?> Overlay(Dictionary<string, string?> defaults, IReadOnlyDictionary<string, string?>? settings)
    {
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            defaults[key] = value;
        }

        return defaults;
    }

    /// <summary>
    /// Waits until every event written so far was handled: no subscription has one waiting, no outbox
    /// holds one, still no subscription has one (an outbox row relayed between the two looks would show
    /// there), and the bus's log has let go of every delivered event (it does once each subscription's
    /// cursor passed it, idle ones within a poll interval). Fails when that takes longer than
    /// <paramref name="timeout"/> (30 s by default) or when anything was dead-lettered. A test asserts
    /// that something did not happen only after this, never after a fixed wait.
    /// </summary>
    public async Task DrainAsync(TimeSpan? timeout = null)
    {
        var bus = Services.GetRequiredService<InProcessBus>();
        var outboxes = Services.GetServices<IOutboxStore>().ToList();
        async Task<bool> NothingWaitsAsync()
        {
            foreach (var subscription in bus.Subscriptions)
            {
                if (await bus.CountPendingAsync(subscription.Name, default) > 0)
                {
                    return false;
                }
            }

            return true;
        }

        async Task<bool> DrainedAsync()
        {
            if (!await NothingWaitsAsync())
            {
                return false;
            }

            foreach (var outbox in outboxes)
            {
                if ((await outbox.ReadDueAsync(1, DateTimeOffset.MaxValue, default)).Count > 0)
                {
                    return false;
                }
            }

            return await NothingWaitsAsync() && await bus.CountLoggedAsync(default) == 0;
        }

        var limit = timeout ?? TimeSpan.FromSeconds(30);
        Assert.True(await EventuallyAsync(DrainedAsync, limit), $"the events were not all handled within {limit.TotalSeconds} s");
        Assert.Empty(await bus.ListDeadLettersAsync(null, 10, 0, default));
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes (events are asynchronous).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(20);
        }

        return await condition();
    }

    /// <summary>Stops the host; deletes the data directory when this platform created it.</summary>
    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (_ownsDirectory)
        {
            // The host's databases cleared their own connection pools when it was disposed.
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held by a pool is removed with the temp folder later; not worth failing a test.
            }
        }
    }
}
