using Dapr.Client;
using Google.Rpc;
using Journey.Platform.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Reports;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Shared.Telemetry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi.Models;

namespace Journey.Shared.Hosting;

/// <summary>
/// Hosting defaults every service shares (after eShop's ServiceDefaults): validated options,
/// OpenTelemetry, gRPC with the error interceptor, health (<c>grpc.health.v1</c>, services
/// <c>live</c> and <c>ready</c>), reflection, the event transport and the outbox relay.
/// </summary>
public static partial class JourneyHosting
{
    /// <summary>Adds the shared defaults. Call before <see cref="AddJourneyModules"/>.</summary>
    public static WebApplicationBuilder AddJourneyDefaults(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<HostingOptions, HostingOptionsValidator>(HostingOptions.Section);
        services.AddValidatedOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.Section);
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageProviderRule>();
        services.AddValidatedOptions<EventsOptions, EventsOptionsValidator>(EventsOptions.Section);
        services.AddSingleton<IValidateOptions<EventsOptions>, AppApiTokenRule>();
        services.AddOptions<EventsOptions>().PostConfigure<IConfiguration>((events, configuration) =>
            events.AppApiToken = string.IsNullOrEmpty(events.AppApiToken) ? configuration[EventsOptions.AppApiTokenVariable] : events.AppApiToken);
        services.AddValidatedOptions<ReportsOptions, ReportsOptionsValidator>(ReportsOptions.Section);
        services.AddSingleton(typeof(ReportCache<,>));
        services.AddPrivacyKeys();
        services.TryAddTimeProvider();
        // Replaced by AddJourneyModules with the services the host knows; a host of none has the platform's scopes only.
        services.TryAddSingleton(new KnownModules([]));

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var hosting = context.Configuration.GetSection(HostingOptions.Section);
            var address = System.Net.IPAddress.TryParse(hosting["Address"], out var parsed) ? parsed : System.Net.IPAddress.Loopback;
            var port = int.TryParse(hosting["Port"], out var p) && p is >= 0 and <= 65535 ? p : 5080;
            // HTTP/2 only: gRPC without TLS needs prior knowledge, and Dapr reaches the subscription
            // endpoints over the same port with app protocol h2c.
            kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http2);
            if (HttpPort(hosting["HttpPort"]) is { } httpPort)
            {
                // Browsers, tracking SDKs and load balancers' health checks speak HTTP/1.1; HTTP/2
                // clients with prior knowledge are served on the same port.
                kestrel.Listen(address, httpPort, listen => listen.Protocols = HttpProtocols.Http1AndHttp2);
            }
        });

        builder.AddJourneyTelemetry();
        builder.AddJourneySecurity();
        services.AddMethodScopes(DeadLetterService.Descriptor, new Dictionary<string, string>
        {
            [nameof(DeadLetterService.DeadLetterServiceClient.ListDeadLetters)] = Scopes.Admin,
            [nameof(DeadLetterService.DeadLetterServiceClient.ReplayDeadLetters)] = Scopes.Admin,
        });
        services.AddMethodScopes(DiagnosticsService.Descriptor, new Dictionary<string, string>
        {
            [nameof(DiagnosticsService.DiagnosticsServiceClient.Ping)] = Scopes.AnyCaller,
        });
        services.AddMethodScopes(AuditService.Descriptor, new Dictionary<string, string>
        {
            [nameof(AuditService.AuditServiceClient.ListAuditEntries)] = Scopes.Admin,
        });

        services.AddValidatedOptions<LimitsOptions, LimitsOptionsValidator>(LimitsOptions.Section);
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<CallPolicyInterceptor>();
        services.AddSingleton<CallDeadlineInterceptor>();
        services.AddSingleton(sp => new RequestLimits(sp.GetRequiredService<IOptions<LimitsOptions>>().Value));
        services.AddSingleton<AuditGrpcService>();
        services.AddSingleton<DiagnosticsGrpcService>();
        var maxReceive = int.TryParse(builder.Configuration[$"{LimitsOptions.Section}:MaxReceiveMessageBytes"], out var bytes) && bytes is >= 1024 and <= 64 * 1024 * 1024 ? bytes : 4 * 1024 * 1024;
        services.AddSingleton<TranscodedRequestLimits>();
        services.AddGrpc(grpc =>
        {
            // Outermost, so the time limit covers the policy checks and the error mapping sees the limited token.
            grpc.Interceptors.Add<CallDeadlineInterceptor>();
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.Interceptors.Add<TranscodedRequestLimits>();
            grpc.Interceptors.Add<CallPolicyInterceptor>();
            grpc.EnableDetailedErrors = false;
            grpc.MaxReceiveMessageSize = maxReceive;
        })
            // Every method's JSON/HTTP form from its google.api.http annotation (0027). The registry
            // lets error bodies render the details the error mapping packs into google.rpc.Status.
            .AddJsonTranscoding(json => json.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromMessages(
                ErrorInfo.Descriptor, BadRequest.Descriptor, RetryInfo.Descriptor, DebugInfo.Descriptor, PreconditionFailure.Descriptor));
        services.AddGuardedGrpcReflection();
        services.AddGrpcSwagger();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IApiDescriptionProvider, ResourcePathDescriptions>());
        services.AddSwaggerGen(openApi =>
        {
            openApi.SwaggerDoc(OpenApiDocumentName, new OpenApiInfo { Title = "Journey", Version = OpenApiDocumentName, Description = "Every gRPC method of journey.*.v1 as JSON over HTTP (google.api.http). Errors are google.rpc.Status bodies with an ErrorInfo reason; see docs/api.md." });
            // Only the transcoded gRPC methods: the tracking API follows Segment's specification, not ours.
            openApi.DocInclusionPredicate((_, description) => description.ActionDescriptor.EndpointMetadata.OfType<GrpcJsonTranscodingMetadata>().Any());
            openApi.AddSecurityDefinition("bearer", new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT" });
            openApi.AddSecurityRequirement(new OpenApiSecurityRequirement
            {
                [new OpenApiSecurityScheme { Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = "bearer" } }] = [],
            });
            // The generated clients' XML docs carry the proto comments.
            foreach (var comments in Directory.EnumerateFiles(AppContext.BaseDirectory, "Journey.*.xml"))
            {
                openApi.IncludeGrpcXmlComments(comments, includeControllerXmlComments: true);
            }
        });
        // A probe runs only checks that cost no I/O: "live" is the process itself, and "ready" adds the
        // readiness monitor's last look at the stores and the bus (at most about a second old), so a
        // storm of probes queries no store and calls no sidecar.
        services.AddSingleton<ReadinessMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ReadinessMonitor>());
        services.AddGrpcHealthChecks(health =>
        {
            health.Services.Map("", check => check.Name == ReadinessMonitor.Name || check.Tags.Contains("live"));
            health.Services.Map("live", check => check.Tags.Contains("live"));
            health.Services.Map("ready", check => check.Name == ReadinessMonitor.Name || check.Tags.Contains("live"));
            health.UseHealthChecksCache = false;
        })
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"])
            .Add(new HealthCheckRegistration(ReadinessMonitor.Name, sp => sp.GetRequiredService<ReadinessMonitor>(), HealthStatus.Unhealthy, []));

        services.AddStorageInfrastructure();
        builder.AddEventTransport();
        // Last, because AddGrpc (which AddGrpcSwagger and others call) registers grpc-dotnet's provider again.
        services.AddGuardedGrpcMethods();
        return builder;
    }

    /// <summary>Adds the services named by <c>Journey:Hosting:Modules</c> (all of <paramref name="modules"/> when unset).</summary>
    public static WebApplicationBuilder AddJourneyModules(this WebApplicationBuilder builder, params JourneyModule[] modules)
    {
        var known = modules.Select(m => m.Name).ToList();
        builder.Services.AddSingleton<IValidateOptions<HostingOptions>>(new HostingRules(known));
        var selected = builder.Configuration.GetSection($"{HostingOptions.Section}:Modules").Get<string[]>();
        if (selected is null && builder.Configuration[$"{HostingOptions.Section}:Modules"] is { } commaSeparated)
        {
            selected = commaSeparated.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            builder.Services.PostConfigure<HostingOptions>(o => o.Modules = selected);
        }

        builder.Services.Replace(ServiceDescriptor.Singleton(new KnownModules(modules)));
        var enabled = selected is null ? modules : modules.Where(m => selected.Contains(m.Name, StringComparer.OrdinalIgnoreCase)).ToArray();
        foreach (var module in enabled)
        {
            module.AddServices(builder);
        }

        builder.Services.AddSingleton(new EnabledModules(enabled));
        builder.Services.AddGuardedGrpcMethods();
        return builder;
    }

    /// <summary>Maps health, reflection, the event endpoints and every enabled service.</summary>
    public static WebApplication MapJourneyEndpoints(this WebApplication app)
    {
        // Mapping builds the services (and their stores); with a bad setting the host will refuse to
        // run anyway, and RunJourneyAsync reports the setting by name instead of a stack trace here.
        if (ConfigurationError(app.Services) is not null)
        {
            return app;
        }

        // Registered only with authentication on (AddJourneySecurity).
        if (app.Services.GetService<IAuthenticationSchemeProvider>() is not null)
        {
            app.UseAuthentication();
        }

        // gRPC-Web for clients that cannot speak HTTP/2 trailers (browsers, some proxies): every gRPC
        // method, on either listener, through the same interceptors as gRPC itself.
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        app.MapGrpcHealthChecksService();
        // The same checks as grpc.health.v1's "live" and "ready", for HTTP probes and load balancers.
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Name == ReadinessMonitor.Name || check.Tags.Contains("live") });
        app.MapSwagger(OpenApiPath);
        if (!bool.TryParse(app.Configuration[$"{HostingOptions.Section}:Reflection"], out var reflection) || reflection)
        {
            app.MapGrpcReflectionService();
        }

        if (ConfiguredTransport(app.Configuration) == EventTransport.Dapr)
        {
            app.MapDaprSubscriptions();
        }
        else
        {
            app.MapGuardedGrpcService<DeadLetterGrpcService>();
        }

        app.MapGuardedGrpcService<AuditGrpcService>();
        app.MapGuardedGrpcService<DiagnosticsGrpcService>();
        foreach (var module in app.Services.GetRequiredService<EnabledModules>().Modules)
        {
            module.MapEndpoints(app);
        }

        return app;
    }

    /// <summary>
    /// Runs until shutdown. A configuration error, modules whose topic or scope declarations disagree,
    /// or an enabled service that does not handle a topic its module subscribes to, stops the process
    /// with one line naming it and exit code 2, instead of a stack trace.
    /// </summary>
    public static async Task<int> RunJourneyAsync(this WebApplication app)
    {
        if ((ConfigurationError(app.Services) ?? SubscriptionError(app.Services)) is { } error)
        {
            await Console.Error.WriteLineAsync($"Journey cannot start: {error}");
            return 2;
        }

        await app.StartAsync();

        var addresses = string.Join(", ", ListeningAddresses(app));
        var modules = string.Join(", ", app.Services.GetRequiredService<EnabledModules>().Modules.Select(m => m.Name));
        var store = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value.EffectiveProvider.ToString();
        var transport = app.Services.GetRequiredService<IOptions<EventsOptions>>().Value.Transport.ToString();
        LogStarted(app.Logger, addresses, modules, store, transport);
        if (!app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Enabled)
        {
            LogAuthDisabled(app.Logger);
        }

        var events = app.Services.GetRequiredService<IOptions<EventsOptions>>().Value;
        if (events.Transport == EventTransport.Dapr && string.IsNullOrEmpty(events.AppApiToken))
        {
            LogAppApiTokenMissing(app.Logger);
        }
        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// Validates every setting, the services' own sections included; returns the problems as one line,
    /// or null when all is well.
    /// </summary>
    public static string? ConfigurationError(IServiceProvider services)
    {
        try
        {
            services.GetRequiredService<IStartupValidator>().Validate();
            _ = services.GetRequiredService<MethodScopes>();
            // The keys are read (or created) before listening, so a damaged key file is named here rather than on the first call.
            _ = services.GetRequiredService<IdentifierHasher>();
            _ = services.GetService<PersonalDataProtector>();
            var auth = services.GetRequiredService<IOptions<AuthOptions>>().Value;
            if (auth.Enabled && string.IsNullOrWhiteSpace(auth.Authority))
            {
                _ = services.GetRequiredService<DevelopmentIssuer>();
            }

            return null;
        }
        catch (KeyFileException ex)
        {
            return ex.Message;
        }
        catch (OptionsValidationException ex)
        {
            return string.Join(" ", ex.Failures);
        }
        catch (AggregateException ex)
        {
            // Several sections failed validation: name them all, so one restart fixes them.
            return string.Join(" ", ex.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures));
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) || ex.Message.StartsWith("Scope table", StringComparison.Ordinal))
        {
            // The binder's own message names the key and the value it could not convert.
            return ex.Message;
        }
    }

    /// <summary>Where the modules' declarations, or the enabled services' handlers and their declared subscriptions, disagree, as one line; null when they agree.</summary>
    private static string? SubscriptionError(IServiceProvider services)
    {
        var known = services.GetRequiredService<KnownModules>();
        return known.Problems ?? EventHandlerRegistration.Disagreement(
            services.GetService<EnabledModules>()?.Modules.Select(m => m.Name) ?? [], services.GetServices<EventSubscription>(), known.Topics.Subscribers);
    }

    /// <summary>The name of the one OpenAPI document, served at <see cref="OpenApiPath"/>.</summary>
    public const string OpenApiDocumentName = "v1";

    /// <summary>Where the OpenAPI document of the JSON/HTTP methods is served.</summary>
    public const string OpenApiPath = "/openapi/{documentName}.json";

    /// <summary>The addresses the server listens on, once started.</summary>
    public static IReadOnlyList<string> ListeningAddresses(this WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>The HTTP listener's port from its setting; null (off) when unset, empty or not a port.</summary>
    internal static int? HttpPort(string? setting) =>
        int.TryParse(setting, out var port) && port is >= 0 and <= 65535 ? port : null;

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }

    private static void AddEventTransport(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddHostedService<OutboxRelay>();
        if (ConfiguredTransport(builder.Configuration) == EventTransport.Dapr)
        {
            services.AddDaprClient();
            services.AddSingleton<IEventTransport, DaprEventTransport>();
            services.AddHealthChecks().AddCheck<DaprSidecarHealthCheck>("bus:dapr", HealthStatus.Unhealthy, ["ready", "bus"]);
        }
        else
        {
            services.AddKeyedSingleton("bus", (sp, _) =>
                SqliteDatabase.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value, "bus.db", time: sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<InProcessBus>(sp, sp.GetRequiredKeyedService<SqliteDatabase>("bus")));
            services.AddSingleton<IEventTransport>(sp => sp.GetRequiredService<InProcessBus>());
            services.AddHealthChecks().Add(new HealthCheckRegistration("bus:in-process", sp => StorageRegistration.HealthCheckOf(sp.GetRequiredKeyedService<SqliteDatabase>("bus")), HealthStatus.Unhealthy, ["ready", "bus"]));
            services.AddHostedService<InProcessBusWorker>();
            services.AddSingleton<DeadLetterGrpcService>();
        }
    }

    private static EventTransport ConfiguredTransport(IConfiguration configuration) =>
        Enum.TryParse<EventTransport>(configuration[$"{EventsOptions.Section}:Transport"], ignoreCase: true, out var transport) ? transport : EventTransport.InProcess;

    private sealed class DaprSidecarHealthCheck(DaprClient dapr, IOptions<LimitsOptions> limits) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limits.Value.OutgoingCallDeadline);
            try
            {
                return await dapr.CheckHealthAsync(deadline.Token) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Dapr sidecar not healthy");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy("Dapr sidecar did not answer within Journey:Limits:OutgoingCallDeadline");
            }
        }
    }

    [LoggerMessage(EventId = 1001, EventName = "AuthenticationDisabled", Level = LogLevel.Warning, Message = "Journey:Auth:Enabled is false: every gRPC method accepts calls without a token. Never run this way with real data.")]
    private static partial void LogAuthDisabled(ILogger logger);

    [LoggerMessage(EventId = 1002, EventName = "AppApiTokenMissing", Level = LogLevel.Warning, Message = "No Dapr app API token (Journey:Events:AppApiToken or APP_API_TOKEN): the event endpoints accept events from anyone who reaches this port. Never run this way with real data.")]
    private static partial void LogAppApiTokenMissing(ILogger logger);

    [LoggerMessage(EventId = 1000, EventName = "JourneyStarted", Level = LogLevel.Information, Message = "Journey listening on {Addresses}; services: {Modules}; store: {Store}; events: {Transport}")]
    private static partial void LogStarted(ILogger logger, string addresses, string modules, string store, string transport);
}
