using Journey.Events.V1;
using Journey.Recommendation.Domain;
using Journey.Recommendation.Events;
using Journey.Recommendation.Grpc;
using Journey.Recommendation.Storage;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Recommendation;

/// <summary>The Recommendation service as the host runs it.</summary>
public static class RecommendationModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = "recommendation";

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddRecommendation(), endpoints => endpoints.MapRecommendation())
    {
        Publishes = RecommendationTopics.Publishes,
        Subscribes = RecommendationTopics.Subscribes,
        Scopes = RecommendationScopes.All,
    };

    /// <summary>The scope of every RPC, in one table a reviewer reads at a glance.</summary>
    public static readonly IReadOnlyDictionary<string, string> MethodScopes = new Dictionary<string, string>
    {
        ["CreateContent"] = Scopes.Admin,
        ["UpdateContent"] = Scopes.Admin,
        ["GetContent"] = RecommendationScopes.Read,
        ["ListContents"] = RecommendationScopes.Read,
        ["SummarizeContents"] = RecommendationScopes.Read,
        ["RetireContent"] = Scopes.Admin,
        ["Recommend"] = RecommendationScopes.Read,
        ["RecordFeedback"] = RecommendationScopes.Write,
        ["CreateExperiment"] = Scopes.Admin,
        ["GetExperiment"] = Scopes.Admin,
        ["ListExperiments"] = Scopes.Admin,
        ["StopExperiment"] = Scopes.Admin,
        ["GetExperimentResults"] = Scopes.Admin,
    };

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddRecommendation(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(Name)
            .AddPort<IContentLibrary, SqliteContentLibrary, MongoContentLibrary>()
            .AddPort<IAudienceStore, SqliteAudienceStore, MongoAudienceStore>()
            .AddPort<IExperimentStore, SqliteExperimentStore, MongoExperimentStore>()
            .AddSqliteRetention(sp => SqliteAudienceStore.RecommendationRetention(sp.GetRequiredService<IOptions<RecommendationOptions>>().Value.RecommendationRetention))
            .AddSqliteRetention(_ => SqliteAudienceStore.ImpressionRetention);

        var services = builder.Services;
        services.AddValidatedOptions<RecommendationOptions, RecommendationOptionsValidator>(RecommendationOptions.Section);
        services.AddSingleton<ContentIndex>();
        services.AddSingleton<LearningModel>();
        services.AddSingleton<ExperimentRegistry>();
        services.AddSingleton<RankingRandom>();
        services.AddSingleton<IRecommendationEvents, RecommendationEvents>();
        services.AddSingleton<ContentLibraryService>();
        services.AddSingleton<RecommendationJournal>();
        services.AddHostedService<RecommendationJournalWriter>();
        services.AddSingleton<Recommender>();
        services.AddSingleton<FeedbackService>();
        services.AddSingleton<ExperimentService>();
        services.AddSingleton<AudienceProjector>();

        services.AddEventHandler<InteractionRecorded, InteractionRecordedHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.InteractionRecorded));
        services.AddEventHandler<TouchpointChanged, TouchpointChangedHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.TouchpointChanged));
        services.AddEventHandler<ProfileUpdated, ProfileUpdatedHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.ProfileUpdated));
        services.AddEventHandler<ProfilesMerged, ProfilesMergedHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.ProfilesMerged));
        services.AddEventHandler<ProfileSplit, ProfileSplitHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.ProfileSplit));
        services.AddEventHandler<ConsentChanged, ConsentChangedHandler>(Name, RecommendationTopics.Subscription(RecommendationTopics.ConsentChanged));
        services.AddEventHandler<ErasureRequested, ErasureRequestedHandler>(Name, RecommendationTopics.Subscription(Topics.ErasureRequested));

        services.AddMethodScopes(V1.RecommendationService.Descriptor, MethodScopes);
        builder.Services.AddSingleton<RecommendationGrpcService>();
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapRecommendation(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<RecommendationGrpcService>();
        return endpoints;
    }
}

/// <summary>Start-up validation of <see cref="RecommendationOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class RecommendationOptionsValidator : IValidateOptions<RecommendationOptions>;
