using Journey.Consent.Domain;
using Journey.Consent.Events;
using Journey.Consent.Grpc;
using Journey.Consent.Storage;
using Journey.Consent.V1;
using Journey.Events.V1;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Privacy;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Consent;

/// <summary>The Consent service as the host runs it.</summary>
public static class ConsentModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = "consent";

    /// <summary>How long another replica's purpose change may take to reach this one on MongoDB.</summary>
    public static readonly TimeSpan PurposeRefreshOnMongo = TimeSpan.FromSeconds(5);

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddConsent(), endpoints => endpoints.MapConsent())
    {
        Publishes = ConsentTopics.Publishes,
        Subscribes = ConsentTopics.Subscribes,
        Scopes = ConsentScopes.All,
    };

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddConsent(this WebApplicationBuilder builder)
    {
        var storage = builder.AddServiceStorage(Name)
            .AddPort<IPurposeCatalog, SqlitePurposeCatalog, MongoPurposeCatalog>()
            .AddPort<IConsentLedger, SqliteConsentLedger, MongoConsentLedger>()
            .AddPort<IConsentCheckpointStore, SqliteConsentCheckpoints, MongoConsentCheckpoints>();
        var services = builder.Services;
        if (storage.Provider == StorageProvider.Sqlite)
        {
            // The embedded store has one writer, this process, so an in-memory index written through
            // by every write is complete and serves checks without I/O.
            services.AddSingleton<DecisionIndex>();
            services.AddSingleton<IDecisionSource>(sp => sp.GetRequiredService<DecisionIndex>());
            services.AddHostedService<DecisionIndexLoader>();
            services.AddSingleton(sp => new PurposeDirectory(sp.GetRequiredService<IPurposeCatalog>(), sp.GetRequiredService<TimeProvider>(), TimeSpan.MaxValue));
        }
        else
        {
            // Replicas share the MongoDB ledger: a withdrawal written by another replica must be seen
            // by the next check here, so checks read the store (see StoredDecisionSource). Purposes
            // change rarely and are cached for a few seconds.
            services.AddSingleton<IDecisionSource, StoredDecisionSource>();
            services.AddSingleton(sp => new PurposeDirectory(sp.GetRequiredService<IPurposeCatalog>(), sp.GetRequiredService<TimeProvider>(), PurposeRefreshOnMongo));
        }

        services.AddValidatedOptions<ConsentOptions, ConsentOptionsValidator>(ConsentOptions.Section);
        services.AddSingleton<IConsentEvents, ConsentEvents>();
        services.AddSingleton<CatalogUseCases>();
        services.AddSingleton(sp => new RequestLog(
            sp.GetRequiredService<IConsentLedger>(), sp.GetRequiredService<IdentifierHasher>(), sp.GetRequiredService<IOptions<ConsentOptions>>().Value.RequestIdRetention));
        services.AddSingleton(sp => CheckpointSignerOf(
            sp.GetRequiredService<IOptions<ConsentOptions>>().Value, sp.GetRequiredService<IOptions<PrivacyOptions>>().Value, sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<CheckpointUseCases>();
        services.AddHostedService<LedgerMaintenance>();
        services.AddSingleton(sp => new ConsentUseCases(
            sp.GetRequiredService<IConsentLedger>(), sp.GetRequiredService<IDecisionSource>(), sp.GetRequiredService<PurposeDirectory>(),
            sp.GetRequiredService<IConsentEvents>(), sp.GetRequiredService<IdentifierHasher>(), sp.GetRequiredService<IdentifierPolicy>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<RequestLog>(), sp.GetRequiredService<CheckpointUseCases>()));
        services.AddSingleton<ErasureUseCases>();
        services.AddSingleton<ObservedConsentUseCases>();
        services.AddExpirySweep();

        services.AddEventHandler<ProfilesMerged, ProfilesMergedHandler>(Name, ConsentTopics.Subscription(ConsentTopics.ProfilesMerged));
        services.AddEventHandler<ProfileSplit, ProfileSplitHandler>(Name, ConsentTopics.Subscription(ConsentTopics.ProfileSplit));
        services.AddEventHandler<ErasureCompleted, ErasureCompletedHandler>(Name, ConsentTopics.Subscription(Topics.ErasureCompleted));
        services.AddEventHandler<ConsentObserved, ConsentObservedHandler>(Name, ConsentTopics.Subscription(ConsentTopics.ConsentObserved));

        services.AddMethodScopes(ConsentService.Descriptor, new Dictionary<string, string>
        {
            [nameof(ConsentService.ConsentServiceClient.CreatePurpose)] = Scopes.Admin,
            [nameof(ConsentService.ConsentServiceClient.GetPurpose)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.ListPurposes)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.UpdatePurpose)] = Scopes.Admin,
            [nameof(ConsentService.ConsentServiceClient.CreatePolicyVersion)] = Scopes.Admin,
            [nameof(ConsentService.ConsentServiceClient.GetPolicyVersion)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.ListPolicyVersions)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.RecordConsent)] = ConsentScopes.Write,
            [nameof(ConsentService.ConsentServiceClient.BatchRecordConsent)] = ConsentScopes.Write,
            [nameof(ConsentService.ConsentServiceClient.WithdrawConsent)] = ConsentScopes.Write,
            [nameof(ConsentService.ConsentServiceClient.CheckConsent)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.BatchCheckConsent)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.ListConsentHistory)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.VerifyConsentChain)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.RequestErasure)] = Scopes.PrivacyErase,
            [nameof(ConsentService.ConsentServiceClient.GetErasureStatus)] = Scopes.PrivacyErase,
            [nameof(ConsentService.ConsentServiceClient.ListConsentCheckpoints)] = ConsentScopes.Read,
            [nameof(ConsentService.ConsentServiceClient.GetConsentCheckpoint)] = ConsentScopes.Read,
        });
        builder.Services.AddSingleton<ConsentGrpcService>();
        return builder;
    }

    // A key of its own when configured; otherwise one derived from the identifier hash key, which
    // every replica holds already (from the Secret with MongoDB, from the data directory locally).
    private static CheckpointSigner CheckpointSignerOf(ConsentOptions consent, PrivacyOptions privacy, StorageOptions storage) =>
        string.IsNullOrWhiteSpace(consent.CheckpointSigningKey)
            ? CheckpointSigner.Derive(PrivacyKeys.IdentifierHashKey(privacy, storage))
            : CheckpointSigner.FromPem(consent.CheckpointSigningKey);

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapConsent(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<ConsentGrpcService>();
        return endpoints;
    }
}
