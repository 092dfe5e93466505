using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Distributed.Tests;

/// <summary>
/// The scenarios share one environment and run one at a time: one of them pauses a store, which
/// would fail any other running beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<Cluster>
{
    public const string Name = "distributed";
}

/// <summary>
/// The services run.sh started, with a token every one of them accepts. Nothing connects unless
/// <see cref="DistributedSettings.Variable"/> is set, so the skipped scenarios cost nothing.
/// </summary>
public sealed class Cluster : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(3);
    private readonly List<GrpcChannel> _channels = [];
    private DistributedSettings? _settings;

    public DistributedSettings Settings => _settings ?? throw new InvalidOperationException($"{DistributedSettings.Variable} is not set.");

    /// <summary>The two touchpoint replicas, on one store.</summary>
    public IReadOnlyList<TouchpointService.TouchpointServiceClient> Touchpoints { get; private set; } = [];

    public ProfileService.ProfileServiceClient Profile { get; private set; } = null!;

    public RecommendationService.RecommendationServiceClient Recommendation { get; private set; } = null!;

    public StoreControl Stores { get; private set; } = null!;

    /// <summary>A short id that keeps one run's names apart from another's on the same stores.</summary>
    public static string NewRunId() => Guid.NewGuid().ToString("N")[..10];

    public async Task InitializeAsync()
    {
        if (!DistributedSettings.Configured)
        {
            return;
        }

        _settings = DistributedSettings.FromEnvironment();
        var addresses = new[] { _settings.Touchpoint, _settings.Touchpoint2, _settings.Profile, _settings.Consent, _settings.Recommendation };
        foreach (var address in addresses)
        {
            _channels.Add(TestPlatform.ChannelWithToken(address, _settings.Token));
        }

        Touchpoints = [new(_channels[0]), new(_channels[1])];
        Profile = new ProfileService.ProfileServiceClient(_channels[2]);
        Recommendation = new RecommendationService.RecommendationServiceClient(_channels[4]);
        Stores = new StoreControl(_settings.ControlDirectory);
        await Task.WhenAll(_channels.Select((channel, i) => WaitUntilReadyAsync(channel, addresses[i])));
    }

    public Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        return Task.CompletedTask;
    }

    public Task<ValkeyClient> ConnectValkeyAsync() => ValkeyClient.ConnectAsync(Settings.Valkey, Settings.ValkeyPassword);

    /// <summary>Defines a web touchpoint serving <paramref name="stage"/>; returns its name.</summary>
    public async Task<string> CreateTouchpointAsync(string id, JourneyStage stage = JourneyStage.Awareness)
    {
        var created = await Touchpoints[0].CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = id,
            Touchpoint = new Touchpoint.V1.Touchpoint
            {
                DisplayName = id,
                Channel = Channel.Web,
                Ownership = Ownership.Owned,
                Stages = { stage },
                Criticality = 3,
                IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "a clear answer" },
            },
        });
        return created.Touchpoint.Name;
    }

    /// <summary>
    /// The profile holding <paramref name="anonymousId"/>, or null while the profile service does not
    /// know it or cannot read its store (NOT_FOUND, UNAVAILABLE).
    /// </summary>
    public async Task<Journey.Profile.V1.Profile?> LookupAnonymousAsync(string anonymousId)
    {
        try
        {
            var found = await Profile.LookupProfileAsync(new LookupProfileRequest
            {
                Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId }),
            });
            return found.Profile;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            return null;
        }
    }

    /// <summary>How many interactions the profile service has applied to the person: its channel reach, summed.</summary>
    public async Task<long> InteractionsOfAsync(string anonymousId) =>
        (await LookupAnonymousAsync(anonymousId))?.Channels.Sum(c => c.Interactions) ?? 0;

    /// <summary>An interaction of <paramref name="anonymousId"/> at <paramref name="touchpoint"/>, now.</summary>
    public static Interaction View(string interactionId, string touchpoint, string anonymousId) => new()
    {
        InteractionId = interactionId,
        Touchpoint = touchpoint,
        OccurTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId } },
        Type = InteractionType.View,
    };

    private static async Task WaitUntilReadyAsync(GrpcChannel channel, string address)
    {
        var health = new Health.HealthClient(channel);
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < ReadyTimeout)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest { Service = "ready" }, deadline: DateTime.UtcNow.AddSeconds(5));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }

                last = reply.Status.ToString();
            }
            catch (RpcException e)
            {
                last = e.StatusCode.ToString();
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"{address} is not ready after {ReadyTimeout.TotalMinutes:0} minutes (last answer: {last}).");
    }
}
