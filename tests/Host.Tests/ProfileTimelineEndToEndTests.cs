using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// A person's timeline by profile id, through the public APIs of a host running the touchpoint and
/// profile modules with events crossing the bus: the touchpoint service learns which identifiers each
/// profile holds from the profile service's events, and names each entry after the profile it is of now.
/// </summary>
public sealed class ProfileTimelineEndToEndTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TouchpointService.TouchpointServiceClient _touchpoints = null!;
    private ProfileService.ProfileServiceClient _profiles = null!;
    private int _sequence;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ProfileModule.Definition]);
        _touchpoints = new TouchpointService.TouchpointServiceClient(_platform.Channel);
        _profiles = new ProfileService.ProfileServiceClient(_platform.Channel);
        await _touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = "model-pages",
            Touchpoint = new Journey.Touchpoint.V1.Touchpoint
            {
                DisplayName = "Model pages",
                Channel = Channel.Web,
                Ownership = Ownership.Owned,
                Stages = { JourneyStage.Consideration },
                Criticality = 3,
                IntendedExperience = new IntendedExperience { TargetRating = 4, Statement = "curiosity" },
            },
        });
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task ListInteractions_ByProfileId_ListsWhatThePersonDidBeforeAndAfterIdentifyingNamingTheCurrentProfile()
    {
        var cookie = Identifier(IdentifierKind.AnonymousId, "cookie-lena");
        var laptop = Identifier(IdentifierKind.AnonymousId, "cookie-lena-laptop");
        var email = Identifier(IdentifierKind.Email, "lena@example.com");
        await RecordAsync(cookie);
        await RecordAsync(cookie);
        await DrainAsync();

        var identified = await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { email, cookie } });
        await DrainAsync();

        var lena = (await _profiles.GetProfileAsync(new GetProfileRequest { Name = identified.Profile.Name })).Profile.Name;
        var timeline = await TimelineAsync(ProfileId(lena));
        Assert.Equal(2, timeline.Count);
        Assert.All(timeline, entry => Assert.Equal(lena, entry.Profile));
        Assert.All(await TimelineAsync(cookie), entry => Assert.Equal(lena, entry.Profile));

        // On her laptop she is anonymous at first: a profile of its own, then merged into hers when she signs in there.
        await RecordAsync(laptop);
        await DrainAsync();
        var anonymous = (await _profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(laptop) })).Profile.Name;
        Assert.NotEqual(lena, anonymous);
        Assert.All(await TimelineAsync(ProfileId(anonymous)), entry => Assert.Equal(anonymous, entry.Profile));
        var merged = await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { email, laptop } });
        Assert.Equal(lena, merged.Profile.Name);
        Assert.Contains(anonymous, merged.MergedProfiles);
        await RecordAsync(email);
        await DrainAsync();

        var afterMerge = await TimelineAsync(ProfileId(lena));
        var byMergedId = await TimelineAsync(ProfileId(anonymous));
        Assert.Equal(4, afterMerge.Count);
        Assert.Equal(afterMerge.Select(e => e.Interaction.InteractionId), byMergedId.Select(e => e.Interaction.InteractionId));
        Assert.All(afterMerge.Concat(byMergedId).Concat(await TimelineAsync(laptop)), entry => Assert.Equal(lena, entry.Profile));
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_WhenTwoCustomersShareACookie_KeepsEachOnesOwnInteractionsApart()
    {
        var shared = Identifier(IdentifierKind.AnonymousId, "cookie-family-tablet");
        var ann = Identifier(IdentifierKind.Email, "ann@example.com");
        var bob = Identifier(IdentifierKind.Email, "bob@example.com");
        var annProfile = (await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { ann, shared } })).Profile.Name;
        await RecordAsync(ann, shared);
        await RecordAsync(ann);
        await DrainAsync();

        // Bob signs in on the same tablet: the profile service keeps two customers apart and records a conflict.
        var bobIdentified = await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { bob, shared } });
        Assert.NotEqual(annProfile, bobIdentified.Profile.Name);
        Assert.Contains(annProfile, bobIdentified.ConflictingProfiles);
        await RecordAsync(bob, shared);
        await RecordAsync(bob);
        await DrainAsync();

        var annTimeline = await TimelineAsync(ProfileId(annProfile));
        var bobTimeline = await TimelineAsync(ProfileId(bobIdentified.Profile.Name));
        Assert.Equal(2, annTimeline.Count);
        Assert.Equal(2, bobTimeline.Count);
        Assert.Empty(annTimeline.Select(e => e.Interaction.InteractionId).Intersect(bobTimeline.Select(e => e.Interaction.InteractionId)));
        Assert.All(annTimeline, entry => Assert.Equal(annProfile, entry.Profile));
        Assert.All(bobTimeline, entry => Assert.Equal(bobIdentified.Profile.Name, entry.Profile));
    }

    private static Identifier Identifier(IdentifierKind kind, string value) => new() { Kind = kind, Value = value };

    private static Identifier ProfileId(string name) => Identifier(IdentifierKind.ProfileId, name["profiles/".Length..]);

    private async Task RecordAsync(params Identifier[] identifiers)
    {
        var interaction = new Interaction
        {
            InteractionId = $"timeline-{++_sequence}",
            Touchpoint = "touchpoints/model-pages",
            OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-60 + _sequence)),
            Type = InteractionType.View,
        };
        interaction.Identifiers.AddRange(identifiers);
        Assert.False((await _touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction })).Duplicate);
    }

    private async Task<List<RecordedInteraction>> TimelineAsync(Identifier identifier) =>
        [.. (await _touchpoints.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(identifier), PageSize = 100 })).Interactions];

    private Task DrainAsync() => _platform.DrainAsync();
}
