using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Host.Tests.TimelineHost;

namespace Journey.Host.Tests;

/// <summary>
/// Two known customers sign in, one after the other, in one browser (one cookie), through the public
/// APIs of a host running the touchpoint and profile modules with events crossing the bus: the profile
/// service keeps them apart, and each one's timeline, by any of their identifiers, lists only what they did.
/// </summary>
public sealed class SharedDeviceEndToEndTests : IAsyncLifetime
{
    private static readonly Identifier Cookie = Identifier(IdentifierKind.AnonymousId, "cookie-family-browser");
    private static readonly Identifier AnnCustomer = Identifier(IdentifierKind.CustomerId, "cust-ann-1001");
    private static readonly Identifier AnnEmail = Identifier(IdentifierKind.Email, "ann.shared@example.com");
    private static readonly Identifier BobCustomer = Identifier(IdentifierKind.CustomerId, "cust-bob-2002");
    private static readonly Identifier BobEmail = Identifier(IdentifierKind.Email, "bob.shared@example.com");

    private TimelineHost _host = null!;

    public async Task InitializeAsync() => _host = await TimelineHost.StartAsync("dealer-site", "Dealer site", "find a car");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ListInteractions_WhenTwoCustomersSignInFromOneCookie_ListsEachOnlyTheirOwn()
    {
        await RecordAsync("ann-browses-anonymously", Cookie);
        await DrainAsync();
        var ann = (await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { AnnCustomer, AnnEmail, Cookie } })).Profile.Name;
        await RecordAsync("ann-signs-in", AnnCustomer, AnnEmail, Cookie);
        await RecordAsync("ann-cookie-visit-1", Cookie);
        await RecordAsync("ann-cookie-visit-2", Cookie);
        await DrainAsync();

        // Bob signs in in the same browser: two known customers, kept apart, the cookie follows Bob.
        var bobIdentified = await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { BobCustomer, BobEmail, Cookie } });
        var bob = bobIdentified.Profile.Name;
        Assert.NotEqual(ann, bob);
        Assert.Contains(ann, bobIdentified.ConflictingProfiles);
        await RecordAsync("bob-signs-in", BobCustomer, BobEmail, Cookie);
        await RecordAsync("bob-cookie-visit-1", Cookie);
        await RecordAsync("bob-cookie-visit-2", Cookie);
        await DrainAsync();

        string[] annOwn = ["ann-cookie-visit-2", "ann-cookie-visit-1", "ann-signs-in", "ann-browses-anonymously"];
        string[] bobOwn = ["bob-cookie-visit-2", "bob-cookie-visit-1", "bob-signs-in"];
        foreach (var byAnn in new[] { AnnCustomer, AnnEmail, ProfileId(ann) })
        {
            var timeline = await TimelineAsync(byAnn);
            Assert.Equal(annOwn, timeline.Select(e => e.Interaction.InteractionId));
            Assert.All(timeline, e => Assert.Equal(ann, e.Profile));
            Assert.All(timeline, e => Assert.Empty(e.ConflictingProfiles));
        }

        foreach (var byBob in new[] { BobCustomer, BobEmail, ProfileId(bob), Cookie })
        {
            var timeline = await TimelineAsync(byBob);
            Assert.Equal(bobOwn, timeline.Select(e => e.Interaction.InteractionId));
            Assert.All(timeline, e => Assert.Equal(bob, e.Profile));
            Assert.All(timeline, e => Assert.Empty(e.ConflictingProfiles));
        }

        // What segments and exports read: each profile counted only its own visits from the interaction events.
        Assert.Equal(annOwn.Length, await WebInteractionsAsync(ann));
        Assert.Equal(bobOwn.Length, await WebInteractionsAsync(bob));

        // What the reports count: two people, never one made of two customers.
        var scorecard = (await _host.Touchpoints.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest { Name = "touchpoints/dealer-site" })).Scorecard;
        Assert.Equal(annOwn.Length + bobOwn.Length, scorecard.Interactions);
        Assert.Equal(2, scorecard.UniquePeople);
    }

    [Fact]
    public async Task ListInteractions_WhenAnInteractionPointsAtTwoKnownCustomers_AttributesItByCustomerIdAndMarksIt()
    {
        var ann = (await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { AnnCustomer, AnnEmail } })).Profile.Name;
        var bob = (await _host.Profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { BobCustomer, BobEmail } })).Profile.Name;
        await DrainAsync();

        // A call-centre note typed with Bob's customer number and Ann's e-mail address.
        await RecordAsync("mixed-call-note", BobCustomer, AnnEmail);
        await RecordAsync("ann-own", AnnEmail);
        await DrainAsync();

        var annTimeline = await TimelineAsync(AnnCustomer);
        var bobTimeline = await TimelineAsync(BobCustomer);
        Assert.Equal(["ann-own"], annTimeline.Select(e => e.Interaction.InteractionId));
        var mixed = Assert.Single(bobTimeline);
        Assert.Equal("mixed-call-note", mixed.Interaction.InteractionId);
        Assert.Equal(bob, mixed.Profile);
        Assert.Equal([ann], mixed.ConflictingProfiles);
    }

    /// <summary>Records a view that happens now: the profile service's identity decisions are stamped with the same clock.</summary>
    private Task RecordAsync(string id, params Identifier[] identifiers) => _host.RecordViewAsync(id, DateTimeOffset.UtcNow, identifiers);

    private async Task<long> WebInteractionsAsync(string profile) =>
        (await _host.Profiles.GetProfileAsync(new GetProfileRequest { Name = profile })).Profile.Channels.Single(c => c.Channel == Channel.Web).Interactions;

    private Task<List<RecordedInteraction>> TimelineAsync(Identifier identifier) => _host.TimelineAsync(identifier);

    private Task DrainAsync() => _host.DrainAsync();
}
