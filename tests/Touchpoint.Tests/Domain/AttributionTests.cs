using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

public sealed class AttributionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly PersonIdentifier Cookie = new(IdentifierKind.AnonymousId, "cookie");
    private static readonly PersonIdentifier AnnEmail = new(IdentifierKind.Email, new string('a', 64));
    private static readonly PersonIdentifier BobCustomer = new(IdentifierKind.CustomerId, "c-bob");

    // Ann held the cookie from T0, Bob from T0 + 10 min; both are known customers.
    private static readonly IdentifierHolding[] Shared =
    [
        new(Cookie.Key, "ann", T0, Known: true),
        new(Cookie.Key, "bob", T0.AddMinutes(10), Known: true),
        new(AnnEmail.Key, "ann", T0, Known: true),
        new(BobCustomer.Key, "bob", T0.AddMinutes(10), Known: true),
    ];

    [Theory]
    [InlineData(-5, "ann")]
    [InlineData(0, "ann")]
    [InlineData(9, "ann")]
    [InlineData(10, "bob")]
    [InlineData(60, "bob")]
    public void Of_WhenOnlyASharedCookieIsCarried_NamesWhoeverHeldItWhenItHappened(int minutes, string expected)
    {
        var attributed = Attribution.Of(At(minutes, Cookie), Lookup(Shared));

        Assert.Equal(expected, attributed.ProfileId);
        Assert.Empty(attributed.ConflictingProfiles);
    }

    [Fact]
    public void Of_WhenACustomerIdAndAnotherCustomersEmailAreCarried_NamesTheCustomerIdsHolderAndMarksTheOther()
    {
        // The e-mail comes first as recorded; the customer id is surer all the same.
        var attributed = Attribution.Of(At(30, AnnEmail, BobCustomer), Lookup(Shared));

        Assert.Equal("bob", attributed.ProfileId);
        Assert.Equal(["ann"], attributed.ConflictingProfiles);
    }

    [Fact]
    public void Of_WhenAnEmailIsCarriedWithACookieAnotherCustomerHeldThen_NamesTheEmailsHolderAndMarksTheCookies()
    {
        var own = Attribution.Of(At(5, AnnEmail, Cookie), Lookup(Shared));
        var mixed = Attribution.Of(At(15, Cookie, AnnEmail), Lookup(Shared));

        Assert.Equal("ann", own.ProfileId);
        Assert.Empty(own.ConflictingProfiles);
        Assert.Equal("ann", mixed.ProfileId);
        Assert.Equal(["bob"], mixed.ConflictingProfiles);
    }

    [Fact]
    public void Of_WhenTheOtherProfileIsAnonymousOrNoneHoldsAnything_MarksNothing()
    {
        IdentifierHolding[] anonymous = [new(Cookie.Key, "visitor", T0, Known: false), new(AnnEmail.Key, "ann", T0, Known: true)];

        Assert.Empty(Attribution.Of(At(5, AnnEmail, Cookie), Lookup(anonymous)).ConflictingProfiles);
        var unheld = Attribution.Of(At(5, new PersonIdentifier(IdentifierKind.DeviceId, "d")), Lookup(anonymous));
        Assert.Null(unheld.ProfileId);
        Assert.Empty(unheld.ConflictingProfiles);
    }

    [Fact]
    public void HeldSince_TakesTheEarliestSnapshotOfTheUnbrokenRunHoldingEachIdentifier()
    {
        var v1 = Snapshot(1, Cookie);
        var v2 = Snapshot(2, AnnEmail);
        var v3 = Snapshot(3, AnnEmail, Cookie);
        var v4 = Snapshot(4, AnnEmail, Cookie);

        var since = Attribution.HeldSince([v4, v1, v3, v2], v4);

        Assert.Equal(T0.AddMinutes(3), since[Cookie.Key]);
        Assert.Equal(T0.AddMinutes(2), since[AnnEmail.Key]);
    }

    private static ProfileSnapshot Snapshot(long version, params PersonIdentifier[] identifiers) =>
        new($"u-{version}", "ann", identifiers, version, T0.AddMinutes(version));

    private static Interaction At(int minutes, params PersonIdentifier[] identifiers) =>
        new("i", "web", T0.AddMinutes(minutes), identifiers, InteractionType.View, "", "", 0, "", null, new Dictionary<string, string>(), T0);

    private static ILookup<string, IdentifierHolding> Lookup(IEnumerable<IdentifierHolding> holdings) => holdings.ToLookup(h => h.Key, StringComparer.Ordinal);
}
