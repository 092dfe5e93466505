using Journey.Shared.Events;
using Journey.Shared.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Journey.Shared.Storage;

/// <summary>Registers one service's store: its database (file or MongoDB database), outbox and health check.</summary>
public static class StorageRegistration
{
    /// <summary>
    /// Opens <paramref name="service"/>'s own store with the configured adapter. Ports are then added
    /// with <see cref="ServiceStorage.AddPort{TPort, TSqlite, TMongo}"/>; SQLite adapters take the
    /// keyed <see cref="SqliteDatabase"/>, MongoDB adapters the keyed <see cref="MongoStore"/>.
    /// </summary>
    /// <param name="builder">The host being built.</param>
    /// <param name="service">The service, which names its database.</param>
    /// <param name="sqliteWriterCacheMiB">The service's SQLite writer cache unless <see cref="StorageOptions.SqliteWriterCacheMiB"/> is set.</param>
    public static ServiceStorage AddServiceStorage(this WebApplicationBuilder builder, string service, int sqliteWriterCacheMiB = SqliteDatabase.DefaultWriterCacheMiB)
    {
        var options = ReadStorageOptions(builder.Configuration);
        var provider = options.EffectiveProvider;
        var services = builder.Services;
        if (provider == StorageProvider.Sqlite)
        {
            services.AddKeyedSingleton(service, (sp, _) =>
                SqliteDatabase.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value, $"{service}.db", sqliteWriterCacheMiB, sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IOutboxStore>(sp => new SqliteOutbox(service, sp.GetRequiredKeyedService<SqliteDatabase>(service)));
            services.AddKeyedSingleton<IAuditStore>(service, (sp, _) => new SqliteAuditStore(sp.GetRequiredKeyedService<SqliteDatabase>(service)));
            services.AddHealthChecks().Add(new HealthCheckRegistration($"store:{service}", sp => new SqliteHealthCheck(sp.GetRequiredKeyedService<SqliteDatabase>(service)), HealthStatus.Unhealthy, ["ready"]));
            services.AddKeyedSingleton(service, (sp, _) => SqliteRetentionRule.Inbox(sp.GetRequiredService<IOptions<StorageOptions>>().Value.InboxRetention));
            services.AddKeyedSingleton(service, (sp, _) => SqliteRetentionRule.Audit(sp.GetRequiredService<IOptions<StorageOptions>>().Value.AuditRetention));
            services.AddSingleton<IHostedService>(sp => new SqliteRetentionSweep(
                service, sp.GetRequiredKeyedService<SqliteDatabase>(service), [.. sp.GetKeyedServices<SqliteRetentionRule>(service)], sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SqliteRetentionSweep>>()));
        }
        else
        {
            services.AddKeyedSingleton(service, (sp, _) =>
            {
                var mongo = sp.GetRequiredService<IOptions<StorageOptions>>().Value.Mongo;
                var store = new MongoStore(sp.GetRequiredService<IMongoClient>(), mongo.DatabasePrefix + service, mongo, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>());
                // The plumbing's indexes are declared with the store, before any adapter is built.
                store.Indexes.Declare(MongoOutbox.Indexes);
                store.Indexes.Retire(MongoOutbox.RetiredIndexes);
                store.Indexes.Declare(MongoInbox.RetentionIndex(sp.GetRequiredService<IOptions<StorageOptions>>().Value.InboxRetention));
                return store;
            });
            services.AddSingleton<IOutboxStore>(sp => new MongoOutbox(service, sp.GetRequiredKeyedService<MongoStore>(service)));
            services.AddKeyedSingleton<IAuditStore>(service, (sp, _) =>
                new MongoAuditStore(sp.GetRequiredKeyedService<MongoStore>(service), sp.GetRequiredService<IOptions<StorageOptions>>().Value.AuditRetention));
            services.AddHealthChecks().Add(new HealthCheckRegistration($"store:{service}", sp => new MongoHealthCheck(sp.GetRequiredKeyedService<MongoStore>(service)), HealthStatus.Unhealthy, ["ready"]));
            services.AddHealthChecks().Add(new HealthCheckRegistration(IndexCheckName(service), sp => new MongoIndexHealthCheck(sp.GetRequiredKeyedService<MongoStore>(service).Indexes), HealthStatus.Unhealthy, ["ready"]));
            services.AddHostedService<MongoIndexInitializer>();
        }

        services.Configure<StorePorts>(ports => ports.Services.Add(service));
        return new ServiceStorage(service, provider, services);
    }

    /// <summary>The readiness check that stays unhealthy until <paramref name="service"/>'s MongoDB indexes are in place.</summary>
    public static string IndexCheckName(string service) => $"store:{service}:indexes";

    /// <summary>Binds storage options without throwing, so a bad value is reported by start-up validation with its setting named.</summary>
    internal static StorageOptions ReadStorageOptions(IConfiguration configuration)
    {
        var section = configuration.GetSection(StorageOptions.Section);
        var options = new StorageOptions
        {
            Mongo = { ConnectionString = section["Mongo:ConnectionString"] },
        };
        if (Enum.TryParse<StorageProvider>(section["Provider"], ignoreCase: true, out var provider))
        {
            options.Provider = provider;
        }

        return options;
    }

    internal static void AddStorageInfrastructure(this IServiceCollection services)
    {
        services.AddHostedService<StoreInitializer>();
        services.AddSingleton<IMongoClient>(sp =>
        {
            var mongo = sp.GetRequiredService<IOptions<StorageOptions>>().Value.Mongo;
            var settings = MongoClientSettings.FromConnectionString(mongo.ConnectionString);
            settings.ServerSelectionTimeout = mongo.ServerSelectionTimeout;
            return new MongoClient(settings);
        });
    }

    /// <summary>A readiness check that the SQLite file answers.</summary>
    internal static IHealthCheck HealthCheckOf(SqliteDatabase database) => new SqliteHealthCheck(database);

    private sealed class SqliteHealthCheck(SqliteDatabase database) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await database.ReadAsync(async (connection, ct) =>
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText = "SELECT 1";
                    return await command.ExecuteScalarAsync(ct);
                }, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (StoreUnavailableException ex)
            {
                return HealthCheckResult.Unhealthy("SQLite store unavailable", ex);
            }
        }
    }

    private sealed class MongoHealthCheck(MongoStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.ReadAsync((db, ct) => db.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: ct), cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (StoreUnavailableException ex)
            {
                return HealthCheckResult.Unhealthy("MongoDB store unavailable", ex);
            }
        }
    }
}

/// <summary>One service's store, to which its ports are added.</summary>
/// <param name="Service">The service.</param>
/// <param name="Provider">The adapter in force.</param>
/// <param name="Services">The service collection.</param>
public sealed record ServiceStorage(string Service, StorageProvider Provider, IServiceCollection Services)
{
    /// <summary>Registers <typeparamref name="TPort"/> with the adapter of the configured provider, as a singleton.</summary>
    public ServiceStorage AddPort<TPort, TSqlite, TMongo>()
        where TPort : class
        where TSqlite : class, TPort
        where TMongo : class, TPort
    {
        if (Provider == StorageProvider.Sqlite)
        {
            Services.AddSingleton<TPort, TSqlite>();
        }
        else
        {
            Services.AddSingleton<TPort, TMongo>();
        }

        Services.Configure<StorePorts>(ports => ports.Add(typeof(TPort)));
        return this;
    }

    /// <summary>
    /// Adds a rule to the service's SQLite retention sweep (<see cref="SqliteRetentionSweep"/>), for rows
    /// its MongoDB adapter leaves to a TTL index; nothing on MongoDB.
    /// </summary>
    public ServiceStorage AddSqliteRetention(Func<IServiceProvider, SqliteRetentionRule> rule)
    {
        if (Provider == StorageProvider.Sqlite)
        {
            Services.AddKeyedSingleton(Service, (sp, _) => rule(sp));
        }

        return this;
    }
}

/// <summary>The port types registered with <see cref="ServiceStorage.AddPort{TPort, TSqlite, TMongo}"/>.</summary>
internal sealed class StorePorts : List<Type>
{
    /// <summary>The services whose stores (and audit trails) this process opens.</summary>
    public List<string> Services { get; } = [];
}

/// <summary>
/// Builds every store adapter when the host starts: SQLite adapters create their schemas then (a
/// file that cannot be prepared stops the start instead of failing a caller), MongoDB adapters
/// declare their indexes, which <see cref="MongoIndexInitializer"/> (started after this) puts in place.
/// </summary>
internal sealed class StoreInitializer(IServiceProvider services, Microsoft.Extensions.Options.IOptions<StorePorts> ports) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var port in ports.Value)
        {
            services.GetRequiredService(port);
        }

        foreach (var service in ports.Value.Services)
        {
            services.GetRequiredKeyedService<IAuditStore>(service);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
