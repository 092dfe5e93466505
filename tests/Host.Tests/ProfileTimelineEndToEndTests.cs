using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;
using static Journey.Host.Tests.TimelineHost;

namespace Journey.Host.Tests;

/// <summary>
/// A person's timeline by profile id, through the public APIs of a host running the touchpoint and
/// profile modules with events crossing the bus: the touchpoint service learns which identifiers each
/// profile holds from the profile service's events, and names each entry after the profile it is of now.
/// </summary>
public sealed class ProfileTimelineEndToEndTests : IAsyncLifetime
{
    private TimelineHost _host = null!;
    private int _sequence;

    public async Task InitializeAsync() => _host = await TimelineHost.StartAsync("model-pages", "Model pages", "curiosity");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ListInteractions_ByProfileId_ListsWhatThePersonDidBeforeAndAfterIdentifyingNamingTheCurrentProfile()
    {
        var cookie = Identifier(IdentifierKind.AnonymousId, "cookie-lena");
        var laptop = Identifier(IdentifierKind.AnonymousId, "cookie-lena-laptop");
        var email = Identifier(IdentifierKind.Email, "lena@example.com");
        await RecordAsync(cookie);
        await RecordAsync(cookie);
        await DrainAsync();

        var identified = await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { email, cookie } });
        await DrainAsync();

        var lena = (await _host.Profiles.GetProfileAsync(new GetProfileRequest { Name = identified.Profile.Name })).Profile.Name;
        var timeline = await TimelineAsync(ProfileId(lena));
        Assert.Equal(2, timeline.Count);
        Assert.All(timeline, entry => Assert.Equal(lena, entry.Profile));
        Assert.All(await TimelineAsync(cookie), entry => Assert.Equal(lena, entry.Profile));

        // On her laptop she is anonymous at first: a profile of its own, then merged into hers when she signs in there.
        await RecordAsync(laptop);
        await DrainAsync();
        var anonymous = (await _host.Profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(laptop) })).Profile.Name;
        Assert.NotEqual(lena, anonymous);
        Assert.All(await TimelineAsync(ProfileId(anonymous)), entry => Assert.Equal(anonymous, entry.Profile));
        var merged = await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { email, laptop } });
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
        var annProfile = (await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { ann, shared } })).Profile.Name;
        await RecordAsync(ann, shared);
        await RecordAsync(ann);
        await DrainAsync();

        // Bob signs in on the same tablet: the profile service keeps two customers apart and records a conflict.
        var bobIdentified = await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { bob, shared } });
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

    private Task RecordAsync(params Identifier[] identifiers)
    {
        ++_sequence;
        return _host.RecordViewAsync($"timeline-{_sequence}", DateTimeOffset.UtcNow.AddSeconds(-60 + _sequence), identifiers);
    }

    private Task<List<RecordedInteraction>> TimelineAsync(Identifier identifier) => _host.TimelineAsync(identifier);

    private Task DrainAsync() => _host.DrainAsync();
}
