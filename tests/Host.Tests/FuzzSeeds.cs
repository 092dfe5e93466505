using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// A valid request for every RPC whose request holds a Timestamp field, so an edge time set into it
/// reaches the code behind the checks of the other fields. Each request is new for its sequence number
/// (fresh ids), and an RPC that leaves state in the way of the next one (a running experiment) is
/// cleaned up after each call.
/// </summary>
internal sealed class EdgeSeeds
{
    private const string TouchpointName = "touchpoints/edge-seed";
    private const string PurposeName = "purposes/edge-seed";

    private readonly Dictionary<string, Func<int, Task<IMessage>>> _builders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<int, Task>> _cleanUps = new(StringComparer.Ordinal);

    private EdgeSeeds()
    {
    }

    /// <summary>Creates what the seeds refer to (a touchpoint, a policy version, a purpose) through the public APIs.</summary>
    public static async Task<EdgeSeeds> CreateAsync(GrpcChannel channel)
    {
        var touchpoints = new TouchpointService.TouchpointServiceClient(channel);
        var consent = new ConsentService.ConsentServiceClient(channel);
        var recommendations = new RecommendationService.RecommendationServiceClient(channel);
        await touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "edge-seed", Touchpoint = Touchpoint() });
        await consent.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "Edge seed policy." });
        await consent.CreatePurposeAsync(new CreatePurposeRequest { PurposeId = "edge-seed", Purpose = Purpose() });

        var seeds = new EdgeSeeds();
        var tp = TouchpointService.Descriptor;
        seeds.Add(tp, "CreateTouchpoint", n => new CreateTouchpointRequest { TouchpointId = $"edge-{n}", Touchpoint = Touchpoint() });
        seeds.Add(tp, "UpdateTouchpoint", n =>
        {
            var touchpoint = Touchpoint();
            touchpoint.Name = TouchpointName;
            touchpoint.DisplayName = $"Edge seed {n}";
            return new UpdateTouchpointRequest { Touchpoint = touchpoint, UpdateMask = new FieldMask { Paths = { "display_name" } } };
        });
        seeds.Add(tp, "RecordInteraction", n => new RecordInteractionRequest { Interaction = Interaction(n) });
        seeds.Add(tp, "RecordInteractions", n => new RecordInteractionsRequest { Interactions = { Interaction(n) } });
        seeds.Add(tp, "StreamInteractions", n => new StreamInteractionsRequest { Interactions = { Interaction(n) } });
        seeds.Add(tp, "GetTouchpointScorecard", _ => new GetTouchpointScorecardRequest { Name = TouchpointName });
        seeds.Add(tp, "GetJourneyFunnel", _ => new GetJourneyFunnelRequest());
        seeds.Add(tp, "GetJourneyPaths", _ => new GetJourneyPathsRequest { End = PathEnd.Purchase });
        seeds.Add(tp, "ListExperienceGaps", _ => new ListExperienceGapsRequest());

        seeds.Add(ProfileService.Descriptor, "CreateSegment", n => new CreateSegmentRequest
        {
            SegmentId = $"edge-{n}",
            Segment = new Segment
            {
                DisplayName = "Edge seed",
                Rule = new SegmentRule { Condition = new SegmentCondition { Field = SegmentField.Readiness, Operator = SegmentOperator.GreaterOrEqual, Number = 0 } },
            },
        });

        var cs = ConsentService.Descriptor;
        seeds.Add(cs, "CreatePurpose", n => new CreatePurposeRequest { PurposeId = $"edge-{n}", Purpose = Purpose() });
        seeds.Add(cs, "UpdatePurpose", async n =>
        {
            // An update carrying the etag it read succeeds; every update moves it on.
            var current = (await consent.GetPurposeAsync(new GetPurposeRequest { Name = PurposeName })).Purpose;
            var purpose = Purpose();
            purpose.Name = PurposeName;
            purpose.Etag = current.Etag;
            purpose.Description = $"Edge seed {n}";
            return new UpdatePurposeRequest { Purpose = purpose, UpdateMask = new FieldMask { Paths = { "description" } } };
        });
        seeds.Add(cs, "RecordConsent", Consent);
        seeds.Add(cs, "WithdrawConsent", n => new WithdrawConsentRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"edge-{n}" }),
            Purpose = PurposeName,
            CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
        });
        seeds.Add(cs, "BatchRecordConsent", n => new BatchRecordConsentRequest { Records = { Consent(n) } });

        var rs = RecommendationService.Descriptor;
        seeds.Add(rs, "CreateContent", n => new CreateContentRequest
        {
            ContentId = $"edge-{n}",
            Content = Content(),
        });
        seeds.Add(rs, "UpdateContent", n => new UpdateContentRequest
        {
            UpdateMask = new FieldMask { Paths = { "*" } },
            AllowMissing = true,
            Content = Content($"contents/edge-update-{n}"),
        });
        seeds.Add(rs, "CreateExperiment", n =>
        {
            var experiment = new Experiment { DisplayName = "Edge seed" };
            experiment.Variants.Add(new Variant { Name = "control", Strategy = Strategy.StageRules, TrafficShare = 0.5 });
            experiment.Variants.Add(new Variant { Name = "learned", Strategy = Strategy.Learned, TrafficShare = 0.5 });
            return new CreateExperimentRequest { ExperimentId = $"edge-{n}", Experiment = experiment };
        });

        // One experiment runs at a time: stop the one a call created, so the next call can create its own.
        seeds._cleanUps[rs.FindMethodByName("CreateExperiment").FullName] = async n =>
        {
            try
            {
                await recommendations.StopExperimentAsync(new StopExperimentRequest { Name = $"experiments/edge-{n}" });
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.NotFound or Grpc.Core.StatusCode.FailedPrecondition)
            {
                // The call was refused: nothing was created.
            }
        };
        return seeds;
    }

    /// <summary>True when <paramref name="method"/> has a seed.</summary>
    public bool Has(MethodDescriptor method) => _builders.ContainsKey(method.FullName);

    /// <summary>A new valid request of <paramref name="method"/> for call number <paramref name="sequence"/>.</summary>
    public Task<IMessage> BuildAsync(MethodDescriptor method, int sequence) => _builders[method.FullName](sequence);

    /// <summary>Undoes what call number <paramref name="sequence"/> left in the way of the next one, if anything.</summary>
    public Task CleanUpAsync(MethodDescriptor method, int sequence) =>
        _cleanUps.TryGetValue(method.FullName, out var cleanUp) ? cleanUp(sequence) : Task.CompletedTask;

    private void Add(ServiceDescriptor service, string method, Func<int, IMessage> build) =>
        Add(service, method, n => Task.FromResult(build(n)));

    private void Add(ServiceDescriptor service, string method, Func<int, Task<IMessage>> build) =>
        _builders.Add((service.FindMethodByName(method) ?? throw new InvalidOperationException($"{service.FullName} has no {method}")).FullName, build);

    /// <summary>A generic marketing article; <paramref name="name"/> is empty for a create, where the server names it.</summary>
    private static ContentItem Content(string name = "") => new()
    {
        Name = name,
        Title = "Edge seed",
        Kind = ContentKind.Article,
        Stages = { new StageWeight { Stage = JourneyStage.Awareness, Weight = 0.5 } },
        Topics = { "edge-seed" },
        Channels = { Channel.Web },
        Hardness = 0.1,
        Purpose = ContentPurpose.Marketing,
        Generic = true,
    };

    private static Touchpoint.V1.Touchpoint Touchpoint() => WebTouchpoints.Create("Edge seed", JourneyStage.Awareness, "calm");

    private static Purpose Purpose() => new()
    {
        Description = "Edge seed",
        LegalBasis = LegalBasis.Consent,
        Channels = { Channel.Web },
        DefaultDecision = DefaultDecision.Deny,
    };

    private static Interaction Interaction(int n) => new()
    {
        InteractionId = $"edge-{n}",
        Touchpoint = TouchpointName,
        OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
        Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"edge-{n}" } },
        Type = InteractionType.View,
    };

    private static RecordConsentRequest Consent(int n) => new()
    {
        Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"edge-{n}" }),
        Purpose = PurposeName,
        Decision = ConsentDecision.Granted,
        PolicyVersion = 1,
        CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
    };
}
