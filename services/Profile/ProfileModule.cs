using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Profile.Events;
using Journey.Profile.Grpc;
using Journey.Profile.Storage;
using Journey.Profile.V1;
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

namespace Journey.Profile;

/// <summary>The Profile service as the host runs it.</summary>
public static class ProfileModule
{
    /// <summary>The service name: its Dapr app id, store name and <c>Journey:Hosting:Modules</c> entry.</summary>
    public const string Name = "profile";

    /// <summary>The module definition the host selects from.</summary>
    public static JourneyModule Definition { get; } = new(Name, builder => builder.AddProfile(), endpoints => endpoints.MapProfile())
    {
        Publishes = ProfileTopics.Publishes,
        Subscribes = ProfileTopics.Subscribes,
        Scopes = ProfileScopes.All,
    };

    /// <summary>Registers the service's domain, store, event handlers and gRPC services.</summary>
    public static WebApplicationBuilder AddProfile(this WebApplicationBuilder builder)
    {
        builder.AddServiceStorage(Name)
            .AddPort<IProfileStore, SqliteProfileStore, MongoProfileStore>()
            .AddPort<ISegmentStore, SqliteSegmentStore, MongoSegmentStore>();

        var services = builder.Services;
        services.AddValidatedOptions<ProfileOptions, ProfileOptionsValidator>(ProfileOptions.Section);
        // Known customers' addresses are kept encrypted at rest: only this service needs the encryption key.
        services.AddPersonalDataProtection();
        services.AddSingleton<IProfileEvents, ProfileEventMapper>();
        services.AddSingleton<ProfileChanges>();
        services.AddSingleton<SegmentDefinitions>();
        services.AddHostedService<SegmentReevaluation>();
        services.AddSingleton<ProfileInput>();
        services.AddSingleton<IdentityWrites>();
        services.AddSingleton<IdentityUseCases>();
        services.AddSingleton<IngestUseCases>();
        services.AddSingleton<LookupUseCases>();
        services.AddSingleton<ErasureUseCases>();
        services.AddSingleton<MembershipUseCases>();
        services.AddSingleton<SplitUseCases>();
        // Every replica draws the same noise for one membership (its key derives from the shared
        // identifier key), so asking each replica in turn averages nothing away.
        services.AddSingleton(sp => new AudienceNoise(
            System.Security.Cryptography.HMACSHA256.HashData(
                PrivacyKeys.IdentifierHashKey(sp.GetRequiredService<IOptions<PrivacyOptions>>().Value, sp.GetRequiredService<IOptions<StorageOptions>>().Value),
                "journey-audience-noise"u8),
            sp.GetRequiredService<IOptions<ProfileOptions>>().Value.AudienceNoiseEpsilon));
        services.AddSingleton<SegmentUseCases>();

        // Two batches at once: while one holds the store's single writer, the next is read, resolved and
        // serialised, which otherwise left a core idle once the stream had been relayed. Safe beside
        // itself: a batch that loses a race for a profile or an identifier reads again and retries.
        services.AddEventHandler<InteractionRecorded, InteractionRecordedHandler>(Name, ProfileTopics.Subscription(ProfileTopics.InteractionRecorded), deliveriesInFlight: 2);
        services.AddEventHandler<IdentityObserved, IdentityObservedHandler>(Name, ProfileTopics.Subscription(ProfileTopics.IdentityObserved));
        services.AddEventHandler<ConsentChanged, ConsentChangedHandler>(Name, ProfileTopics.Subscription(ProfileTopics.ConsentChanged));
        services.AddEventHandler<ErasureRequested, ErasureRequestedHandler>(Name, ProfileTopics.Subscription(Topics.ErasureRequested));

        services.AddMethodScopes(ProfileService.Descriptor, new Dictionary<string, string>
        {
            [nameof(ProfileService.ProfileServiceClient.Identify)] = ProfileScopes.Write,
            [nameof(ProfileService.ProfileServiceClient.GetProfile)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.BatchGetProfiles)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.LookupProfile)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.WatchProfile)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.ListProfileMerges)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.MergeProfiles)] = ProfileScopes.Merge,
            [nameof(ProfileService.ProfileServiceClient.SplitProfile)] = ProfileScopes.Merge,
            [nameof(ProfileService.ProfileServiceClient.CreateSegment)] = Scopes.Admin,
            [nameof(ProfileService.ProfileServiceClient.GetSegment)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.ListSegments)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.DeleteSegment)] = Scopes.Admin,
            [nameof(ProfileService.ProfileServiceClient.ListSegmentMembers)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.DescribeAudience)] = ProfileScopes.Read,
            [nameof(ProfileService.ProfileServiceClient.ExportProfile)] = Scopes.PrivacyErase,
            [nameof(ProfileService.ProfileServiceClient.EraseProfile)] = Scopes.PrivacyErase,
        });
        services.AddSingleton<ProfileGrpcService>();
        return builder;
    }

    /// <summary>Maps the service's gRPC services.</summary>
    public static IEndpointRouteBuilder MapProfile(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGuardedGrpcService<ProfileGrpcService>();
        return endpoints;
    }
}
