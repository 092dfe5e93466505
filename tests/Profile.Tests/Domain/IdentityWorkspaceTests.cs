using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class IdentityWorkspaceTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private int _ids;

    [Fact]
    public void Resolve_WhenTwoAnonymousProfilesLinked_MergesIntoTheOlder()
    {
        var older = Profile(Now.AddDays(-2), Key(IdentifierKind.AnonymousId, "c1"));
        var newer = Profile(Now.AddDays(-1), Key(IdentifierKind.DeviceId, "d1"));
        var workspace = Workspace(older, newer);

        var resolution = workspace.Resolve([Key(IdentifierKind.DeviceId, "d1"), Key(IdentifierKind.AnonymousId, "c1")], Now, strictProfileIds: true);

        Assert.Same(older, resolution.Target);
        Assert.Equal([newer.Id], resolution.MergedIds);
        var (saved, merged, claims, _) = workspace.Writes(Now);
        Assert.Equal([older.Id], saved.Select(s => s.Profile.Id));
        Assert.Equal(new MergedAway(newer.Id, 1, older.Id), Assert.Single(merged));
        Assert.Equal(new IdentifierClaim(Key(IdentifierKind.DeviceId, "d1"), older.Id, newer.Id), Assert.Single(claims));
    }

    [Fact]
    public void Resolve_WhenNewCustomerIdMeetsCookieOfKnownCustomer_CreatesNewCustomerAndMovesOnlyTheCookie()
    {
        var anna = Profile(Now.AddDays(-1), Key(IdentifierKind.CustomerId, "anna"), Key(IdentifierKind.AnonymousId, "pc"));
        var workspace = Workspace(anna);

        var resolution = workspace.Resolve([Key(IdentifierKind.CustomerId, "ben"), Key(IdentifierKind.AnonymousId, "pc")], Now, strictProfileIds: true);

        Assert.True(resolution.Created);
        Assert.Equal([anna.Id], resolution.ConflictIds);
        Assert.True(resolution.Target.Holds(Key(IdentifierKind.AnonymousId, "pc")));
        Assert.False(anna.Holds(Key(IdentifierKind.AnonymousId, "pc")));
        Assert.True(anna.Holds(Key(IdentifierKind.CustomerId, "anna")));
        Assert.Equal(Now, resolution.Target.LastIdentifiedAt);
    }

    [Fact]
    public void Resolve_WhenOnlyWeakIdentifiersLinkTwoCustomers_AttachesToTheMostRecentlyIdentified()
    {
        var earlier = Profile(Now.AddDays(-3), Key(IdentifierKind.CustomerId, "a"), Key(IdentifierKind.AnonymousId, "x"));
        earlier.LastIdentifiedAt = Now.AddDays(-3);
        var later = Profile(Now.AddDays(-3), Key(IdentifierKind.CustomerId, "b"), Key(IdentifierKind.DeviceId, "y"));
        later.LastIdentifiedAt = Now.AddDays(-1);
        var workspace = Workspace(earlier, later);

        var resolution = workspace.Resolve([Key(IdentifierKind.AnonymousId, "x"), Key(IdentifierKind.DeviceId, "y")], Now, strictProfileIds: true);

        Assert.Same(later, resolution.Target);
        Assert.Empty(resolution.MergedIds);
        Assert.True(later.Holds(Key(IdentifierKind.AnonymousId, "x")));
        Assert.Single(earlier.Conflicts);
        Assert.Single(later.Conflicts);
    }

    [Fact]
    public void Resolve_WhenKnownByEmailOnlyGetsCustomerId_AttachesIt()
    {
        var byEmail = Profile(Now.AddDays(-1), Key(IdentifierKind.Email, "hash-a"));
        var workspace = Workspace(byEmail);

        var resolution = workspace.Resolve([Key(IdentifierKind.Email, "hash-a"), Key(IdentifierKind.CustomerId, "c-a")], Now, strictProfileIds: true);

        Assert.Same(byEmail, resolution.Target);
        Assert.Equal(IdentifierKind.CustomerId, byEmail.IdentifiedBy);
    }

    [Fact]
    public void Resolve_WhenCapExceeded_DropsOldestAnonymousAndReleasesIt()
    {
        var profile = Profile(Now.AddDays(-1), Key(IdentifierKind.CustomerId, "c"));
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.AnonymousId, "old"), Now.AddDays(-1)));
        var workspace = Workspace(new ProfileOptions { MaxAnonymousIdentifiers = 1 }, profile);

        workspace.Resolve([Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.AdClickId, "new")], Now, strictProfileIds: true);

        Assert.Equal([Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.AdClickId, "new")], profile.Identifiers.Select(h => h.Key));
        Assert.Equal(new IdentifierRelease(Key(IdentifierKind.AnonymousId, "old"), profile.Id), Assert.Single(workspace.Writes(Now).Releases));
    }

    [Fact]
    public void Resolve_WhenCreatedAndMergedInOneBatch_NeverDeletesAnUnstoredProfile()
    {
        var known = Profile(Now.AddDays(-1), Key(IdentifierKind.CustomerId, "k"));
        var workspace = Workspace(known);
        var created = workspace.Resolve([Key(IdentifierKind.AnonymousId, "fresh")], Now, strictProfileIds: false).Target;

        workspace.Resolve([Key(IdentifierKind.CustomerId, "k"), Key(IdentifierKind.AnonymousId, "fresh")], Now.AddSeconds(1), strictProfileIds: false);

        var writes = workspace.Writes(Now);
        Assert.Equal(new MergedAway(created.Id, 0, known.Id), Assert.Single(writes.Merged));
        Assert.Equal(new IdentifierClaim(Key(IdentifierKind.AnonymousId, "fresh"), known.Id, null), Assert.Single(writes.Claims));
        Assert.Same(known, workspace.Find(created.Id));
    }

    [Fact]
    public void Resolve_WhenProfileHoldsItsEmails_LeavesTheNextOneUnattachedAndCountsIt()
    {
        var profile = Profile(Now.AddDays(-1), Key(IdentifierKind.Email, "e1"), Key(IdentifierKind.Email, "e2"));
        var workspace = Workspace(new ProfileOptions { MaxEmails = 2 }, profile);

        var resolution = workspace.Resolve([Key(IdentifierKind.Email, "e1"), Key(IdentifierKind.Email, "e3")], Now, strictProfileIds: true);

        Assert.Same(profile, resolution.Target);
        Assert.False(profile.Holds(Key(IdentifierKind.Email, "e3")));
        Assert.Equal(1, workspace.IdentifiersOverLimit);
        Assert.Empty(workspace.Writes(Now).Claims);
        // The address past the limit names no one, so it alone starts a person of its own.
        var alone = workspace.Resolve([Key(IdentifierKind.Email, "e3")], Now.AddMinutes(1), strictProfileIds: true);
        Assert.True(alone.Created);
    }

    [Fact]
    public void Resolve_WhenProfileHoldsItsPhones_LeavesTheNextOneUnattached()
    {
        var profile = Profile(Now.AddDays(-1), Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.Phone, "p1"));
        var workspace = Workspace(new ProfileOptions { MaxPhones = 1 }, profile);

        workspace.Resolve([Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.Phone, "p2")], Now, strictProfileIds: true);

        Assert.False(profile.Holds(Key(IdentifierKind.Phone, "p2")));
        Assert.Equal(1, workspace.IdentifiersOverLimit);
    }

    [Fact]
    public void Resolve_WhenWeeklyAnonymousLimitReached_AttachesNoMoreUntilAWeekHasPassed()
    {
        var profile = Profile(Now.AddDays(-30), Key(IdentifierKind.CustomerId, "c"));
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.AnonymousId, "old"), Now.AddDays(-8)));
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.AnonymousId, "a1"), Now.AddDays(-2)));
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.DeviceId, "d1"), Now.AddDays(-1)));
        var workspace = Workspace(new ProfileOptions { MaxNewAnonymousIdentifiersPerWeek = 2 }, profile);

        workspace.Resolve([Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.AdClickId, "ad1")], Now, strictProfileIds: true);
        Assert.False(profile.Holds(Key(IdentifierKind.AdClickId, "ad1")));
        Assert.Equal(1, workspace.IdentifiersOverLimit);

        // Six days later a1 is more than seven days old, which frees one place in the week.
        workspace.Resolve([Key(IdentifierKind.CustomerId, "c"), Key(IdentifierKind.AdClickId, "ad1")], Now.AddDays(6), strictProfileIds: true);
        Assert.True(profile.Holds(Key(IdentifierKind.AdClickId, "ad1")));
    }

    [Fact]
    public void Resolve_WhenWeeklyLimitReached_LeavesASharedCookieWithItsPreviousCustomer()
    {
        var earlier = Profile(Now.AddDays(-3), Key(IdentifierKind.CustomerId, "a"), Key(IdentifierKind.AnonymousId, "shared"));
        var later = Profile(Now.AddDays(-3), Key(IdentifierKind.CustomerId, "b"));
        later.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.DeviceId, "d"), Now.AddDays(-1)));
        var workspace = Workspace(new ProfileOptions { MaxNewAnonymousIdentifiersPerWeek = 1 }, earlier, later);

        workspace.Resolve([Key(IdentifierKind.CustomerId, "b"), Key(IdentifierKind.AnonymousId, "shared")], Now, strictProfileIds: true);

        Assert.True(earlier.Holds(Key(IdentifierKind.AnonymousId, "shared")));
        Assert.False(later.Holds(Key(IdentifierKind.AnonymousId, "shared")));
    }

    private static IdentifierKey Key(IdentifierKind kind, string value) => new(kind, value);

    private CustomerProfile Profile(DateTimeOffset createdAt, params IdentifierKey[] keys)
    {
        var profile = new CustomerProfile($"{++_ids:D32}", createdAt) { Version = 1 };
        profile.Identifiers.AddRange(keys.Select(k => new HeldIdentifier(k, createdAt)));
        return profile;
    }

    private IdentityWorkspace Workspace(params CustomerProfile[] profiles) => Workspace(new ProfileOptions(), profiles);

    private IdentityWorkspace Workspace(ProfileOptions options, params CustomerProfile[] profiles) =>
        new(new IdentitySnapshot(new Dictionary<IdentifierKey, string>(), profiles, new Dictionary<string, string>()), options, _ => $"{++_ids:D32}");
}
