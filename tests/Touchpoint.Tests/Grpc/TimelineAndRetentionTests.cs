using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Testing;
using Journey.Touchpoint.Storage;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Journey.Touchpoint.Tests.Grpc.TouchpointHost;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class TimelineAndRetentionTests() : HostedTests<TouchpointHost>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Touchpoint:RetentionDays"] = "30" }))
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.CreateAsync("web");
    }

    [Fact]
    public async Task ListInteractions_ByAnyIdentifier_ReturnsThePersonsInteractionsNewestFirstInPages()
    {
        var withEmail = NewInteraction("e2", "touchpoints/web", Start.AddMinutes(-20), "cookie-a");
        withEmail.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "ann@example.com" });
        await RecordAsync(
            NewInteraction("e1", "touchpoints/web", Start.AddMinutes(-30), "cookie-a"),
            withEmail,
            NewInteraction("e3", "touchpoints/web", Start.AddMinutes(-10), "cookie-a"),
            NewInteraction("other", "touchpoints/web", Start.AddMinutes(-5), "cookie-b"));
        await HandleAsync(Updated("profiles/ann", 1, Hashed("ann@example.com"), Cookie("cookie-a")));

        var first = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("ANN@example.com")), PageSize = 2 });
        var second = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("ann@example.com")), PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(["e3", "e2"], first.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["e1"], second.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Empty(second.NextPageToken);
        Assert.Equal(Timestamp.FromDateTimeOffset(Start), first.Interactions[0].RecordTime);
        Assert.DoesNotContain(first.Interactions[1].Interaction.Identifiers, i => i.Value.Contains('@'));
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_AfterProfilesMerged_CoversEveryMergedIdentifier()
    {
        await RecordAsync(
            NewInteraction("phone-visit", "touchpoints/web", Start.AddMinutes(-30), "cookie-phone"),
            NewInteraction("laptop-visit", "touchpoints/web", Start.AddMinutes(-20), "cookie-laptop"));
        await HandleAsync(new ProfilesMerged
        {
            Survivor = "profiles/p1",
            Merged = "profiles/p2",
            MovedIdentifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-phone" } },
        });
        await HandleAsync(new ProfilesMerged
        {
            Survivor = "profiles/p1",
            Merged = "profiles/p3",
            MovedIdentifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-laptop" } },
        });

        var byProfile = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.ProfileId, Value = "profiles/p1" }) });
        var byCookie = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-phone" }) });

        Assert.Equal(["laptop-visit", "phone-visit"], byProfile.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["laptop-visit", "phone-visit"], byCookie.Interactions.Select(i => i.Interaction.InteractionId));
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_ListsTheInteractionsOfTheIdentifiersTheProfileHoldsNamingIt()
    {
        await RecordAsync(
            NewInteraction("phone-visit", "touchpoints/web", Start.AddMinutes(-30), "cookie-phone"),
            NewInteraction("laptop-visit", "touchpoints/web", Start.AddMinutes(-20), "cookie-laptop"),
            NewInteraction("stranger", "touchpoints/web", Start.AddMinutes(-10), "cookie-stranger"));
        await HandleAsync(Updated("profiles/p1", 1, Cookie("cookie-phone"), Cookie("cookie-laptop")));

        var byProfile = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("p1")) });
        var byCookie = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("cookie-laptop")) });
        var stranger = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("cookie-stranger")) });

        Assert.Equal(["laptop-visit", "phone-visit"], byProfile.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.All(byProfile.Interactions, i => Assert.Equal("profiles/p1", i.Profile));
        // By a cookie a profile holds, the timeline is that profile's.
        Assert.Equal(byProfile.Interactions, byCookie.Interactions);
        Assert.Equal("", Assert.Single(stranger.Interactions).Profile);
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_AfterAMerge_NamesTheSurvivor()
    {
        await RecordAsync(
            NewInteraction("anonymous", "touchpoints/web", Start.AddMinutes(-30), "cookie-a"),
            NewInteraction("known", "touchpoints/web", Start.AddMinutes(-20), "cookie-k"));
        await HandleAsync(Updated("profiles/anon", 1, Cookie("cookie-a")));
        await HandleAsync(Updated("profiles/known", 1, Cookie("cookie-k")));
        await HandleAsync(new ProfilesMerged
        {
            Survivor = "profiles/known",
            Merged = "profiles/anon",
            MergeTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(1)),
            MovedIdentifiers = { Cookie("cookie-a") },
        });

        var bySurvivor = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("known")) });
        var byMerged = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("profiles/anon")) });
        var byCookie = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("cookie-a")) });

        Assert.Equal(["known", "anonymous"], bySurvivor.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["known", "anonymous"], byMerged.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.All(bySurvivor.Interactions.Concat(byMerged.Interactions).Concat(byCookie.Interactions), i => Assert.Equal("profiles/known", i.Profile));
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_WhenACookieWasShared_LeavesOutTheOtherCustomersOwnInteractions()
    {
        // Ann and Bob used one browser: the log joins them through the cookie, the profile service keeps them apart.
        await RecordAsync(
            WithEmail(NewInteraction("ann-signs-in", "touchpoints/web", Start.AddMinutes(-40), "shared-cookie"), "ann@example.com"),
            WithEmail(NewInteraction("ann-newsletter", "touchpoints/web", Start.AddMinutes(-30), "ann-phone"), "ann@example.com"),
            WithEmail(NewInteraction("bob-signs-in", "touchpoints/web", Start.AddMinutes(-20), "shared-cookie"), "bob@example.com"),
            WithEmail(NewInteraction("bob-newsletter", "touchpoints/web", Start.AddMinutes(-10), "bob-phone"), "bob@example.com"),
            NewInteraction("cookie-only", "touchpoints/web", Start.AddMinutes(-5), "shared-cookie"));
        await HandleAsync(Updated("profiles/ann", 2, Hashed("ann@example.com"), Cookie("ann-phone")));
        await HandleAsync(Updated("profiles/bob", 3, Hashed("bob@example.com"), Cookie("bob-phone"), Cookie("shared-cookie")));

        var ann = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("ann")) });
        var bob = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("bob")) });
        var bySharedCookie = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("shared-cookie")) });

        // Bob holds the cookie now: its own interaction is his, but Ann's sign-in with it stays hers.
        Assert.Equal(["ann-newsletter", "ann-signs-in"], ann.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["cookie-only", "bob-newsletter", "bob-signs-in"], bob.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.All(ann.Interactions, i => Assert.Equal("profiles/ann", i.Profile));
        Assert.All(bob.Interactions, i => Assert.Equal("profiles/bob", i.Profile));
        // Listed by the cookie, it is the timeline of the customer holding it now.
        Assert.Equal(bob.Interactions, bySharedCookie.Interactions);
        // Ann's sign-in carried the cookie, which only Bob ever held: it points at two known customers.
        Assert.Equal(["profiles/bob"], ann.Interactions.Single(i => i.Interaction.InteractionId == "ann-signs-in").ConflictingProfiles);
        Assert.All(ann.Interactions.Where(i => i.Interaction.InteractionId != "ann-signs-in").Concat(bob.Interactions), i => Assert.Empty(i.ConflictingProfiles));
    }

    [Fact]
    public async Task ListInteractions_WhenACookieMovedFromOneCustomerToAnother_ListsItsVisitsUnderWhoeverHeldItThen()
    {
        await RecordAsync(
            NewInteraction("before-anyone", "touchpoints/web", Start.AddMinutes(-55), "shared-cookie"),
            WithEmail(NewInteraction("ann-signs-in", "touchpoints/web", Start.AddMinutes(-50), "shared-cookie"), "ann@example.com"),
            NewInteraction("ann-browses", "touchpoints/web", Start.AddMinutes(-40), "shared-cookie"),
            WithEmail(NewInteraction("bob-signs-in", "touchpoints/web", Start.AddMinutes(-25), "shared-cookie"), "bob@example.com"),
            NewInteraction("bob-browses", "touchpoints/web", Start.AddMinutes(-15), "shared-cookie"));
        // The profile service gave Ann the cookie when she signed in, and moved it to Bob when he did.
        await HandleAsync(At(Start.AddMinutes(-50), Updated("profiles/ann", 1, Hashed("ann@example.com"), Cookie("shared-cookie"))));
        await HandleAsync(At(Start.AddMinutes(-25), Updated("profiles/bob", 1, Hashed("bob@example.com"), Cookie("shared-cookie"))));
        await HandleAsync(At(Start.AddMinutes(-25), Updated("profiles/ann", 2, Hashed("ann@example.com"))));

        var ann = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("ann@example.com")) });
        var annByProfile = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("ann")) });
        var bob = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("bob@example.com")) });
        var byCookie = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("shared-cookie")) });

        Assert.Equal(["ann-browses", "ann-signs-in", "before-anyone"], ann.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(ann.Interactions, annByProfile.Interactions);
        Assert.Equal(["bob-browses", "bob-signs-in"], bob.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(bob.Interactions, byCookie.Interactions);
        Assert.All(ann.Interactions, i => Assert.Equal(("profiles/ann", 0), (i.Profile, i.ConflictingProfiles.Count)));
        Assert.All(bob.Interactions, i => Assert.Equal(("profiles/bob", 0), (i.Profile, i.ConflictingProfiles.Count)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ProfileSplit_AfterMergeAndActivity_LeavesEveryTimelineAsARunThatNeverMerged(bool snapshotsBeforeTheSplit)
    {
        var split = await SplitRunAsync("split", mergeAndSplit: true, snapshotsBeforeTheSplit);
        var never = await SplitRunAsync("never", mergeAndSplit: false, snapshotsBeforeTheSplit);

        Assert.Equal(never, split);
        Assert.Equal(["shop-tablet", "shop-after", "shop-before"], split["profile:shop"].Select(e => e.Id));
        Assert.All(split["profile:shop"], e => Assert.Equal("shop", e.Profile));
        Assert.Equal(["crm-after", "crm-before"], split["profile:crm"].Select(e => e.Id));
    }

    [Fact]
    public async Task ProfileSplit_WhenHandledTwice_ChangesNothingTheSecondTime()
    {
        var map = await SplitRunAsync("twice", mergeAndSplit: true, snapshotsBeforeTheSplit: false);
        var again = SplitEvent("twice");

        await HandleAsync(again, "split-event-twice");
        await HandleAsync(again, "split-event-twice");
        await HandleAsync(Updated("profiles/twice-crm", 9, Cookie("twice-crm-laptop"), Cookie("twice-shop-phone")));

        var shop = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("twice-shop")) });
        Assert.Equal(map["profile:shop"].Select(e => e.Id), shop.Interactions.Select(i => i.Interaction.InteractionId["twice-".Length..]));
    }

    /// <summary>
    /// Two customers' interactions before and after an operator merge, with the profile service's events
    /// of a merge and its split (or of neither); returns each timeline as (interaction, profile) without the run's prefix.
    /// </summary>
    private async Task<Dictionary<string, List<(string Id, string Profile)>>> SplitRunAsync(string run, bool mergeAndSplit, bool snapshotsBeforeTheSplit)
    {
        var tablet = NewInteraction(run + "-shop-tablet", "touchpoints/web", Start.AddMinutes(-30), run + "-shop-tablet");
        tablet.Identifiers.Add(Cookie(run + "-shop-phone"));
        await RecordAsync(
            NewInteraction(run + "-crm-before", "touchpoints/web", Start.AddMinutes(-60), run + "-crm-laptop"),
            NewInteraction(run + "-shop-before", "touchpoints/web", Start.AddMinutes(-55), run + "-shop-phone"),
            NewInteraction(run + "-shop-after", "touchpoints/web", Start.AddMinutes(-35), run + "-shop-phone"),
            tablet,
            NewInteraction(run + "-crm-after", "touchpoints/web", Start.AddMinutes(-20), run + "-crm-laptop"));
        var crm = "profiles/" + run + "-crm";
        var shop = "profiles/" + run + "-shop";
        await HandleAsync(At(Start.AddMinutes(-60), Updated(crm, 1, Cookie(run + "-crm-laptop"))));
        await HandleAsync(At(Start.AddMinutes(-55), Updated(shop, 1, Cookie(run + "-shop-phone"))));
        if (mergeAndSplit)
        {
            await HandleAsync(new ProfilesMerged { Survivor = crm, Merged = shop, MergeTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(-40)), MovedIdentifiers = { Cookie(run + "-shop-phone") } });
            await HandleAsync(At(Start.AddMinutes(-40), Updated(crm, 2, Cookie(run + "-crm-laptop"), Cookie(run + "-shop-phone"))));
            await HandleAsync(At(Start.AddMinutes(-30), Updated(crm, 3, Cookie(run + "-crm-laptop"), Cookie(run + "-shop-phone"), Cookie(run + "-shop-tablet"))));
            // The split publishes the event and both snapshots; subscriptions may see them in either order.
            var afterSplit = new[] { At(Start.AddMinutes(-10), Updated(crm, 4, Cookie(run + "-crm-laptop"))), At(Start.AddMinutes(-10), Updated(shop, 2, Cookie(run + "-shop-phone"), Cookie(run + "-shop-tablet"))) };
            if (snapshotsBeforeTheSplit)
            {
                await HandleAsync(afterSplit[0]);
                await HandleAsync(afterSplit[1]);
            }

            await HandleAsync(SplitEvent(run));
            if (!snapshotsBeforeTheSplit)
            {
                await HandleAsync(afterSplit[0]);
                await HandleAsync(afterSplit[1]);
            }
        }
        else
        {
            await HandleAsync(At(Start.AddMinutes(-30), Updated(shop, 2, Cookie(run + "-shop-phone"), Cookie(run + "-shop-tablet"))));
        }

        var timelines = new Dictionary<string, List<(string Id, string Profile)>>();
        foreach (var (name, person) in new[]
        {
            ("profile:crm", Persons.Of(Profile(run + "-crm"))),
            ("profile:shop", Persons.Of(Profile(run + "-shop"))),
            ("cookie:shop-phone", Persons.Of(Cookie(run + "-shop-phone"))),
            ("cookie:shop-tablet", Persons.Of(Cookie(run + "-shop-tablet"))),
            ("cookie:crm-laptop", Persons.Of(Cookie(run + "-crm-laptop"))),
        })
        {
            var page = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = person });
            timelines[name] = [.. page.Interactions.Select(i => (i.Interaction.InteractionId[(run.Length + 1)..], i.Profile.Replace("profiles/" + run + "-", "", StringComparison.Ordinal)))];
        }

        return timelines;
    }

    private static ProfileSplit SplitEvent(string run) => new()
    {
        Survivor = "profiles/" + run + "-crm",
        Restored = "profiles/" + run + "-shop",
        MergeTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(-40)),
        SplitTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(-10)),
        RestoredIdentifiers = { Cookie(run + "-shop-phone"), Cookie(run + "-shop-tablet") },
    };

    [Fact]
    public async Task ListInteractions_ByAnIdentifierNoProfileHolds_ListsOnlyTheInteractionsRecordedWithIt()
    {
        // Seen together in the log, but no profile joins them: this service does not link identifiers itself.
        await RecordAsync(
            WithEmail(NewInteraction("ann", "touchpoints/web", Start.AddMinutes(-30), "shared-cookie"), "ann@example.com"),
            WithEmail(NewInteraction("bob", "touchpoints/web", Start.AddMinutes(-20), "shared-cookie"), "bob@example.com"),
            NewInteraction("cookie-only", "touchpoints/web", Start.AddMinutes(-10), "shared-cookie"));

        var ann = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("ann@example.com")) });
        var bob = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Email("bob@example.com")) });

        Assert.Equal(["ann"], ann.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["bob"], bob.Interactions.Select(i => i.Interaction.InteractionId));
    }

    [Fact]
    public async Task ProfileUpdated_WhenOlderThanOneApplied_IsIgnored()
    {
        await RecordAsync(
            NewInteraction("first", "touchpoints/web", Start.AddMinutes(-30), "cookie-1"),
            NewInteraction("second", "touchpoints/web", Start.AddMinutes(-20), "cookie-2"));
        await HandleAsync(Updated("profiles/p1", 5, Cookie("cookie-2")));
        await HandleAsync(Updated("profiles/p1", 4, Cookie("cookie-1")));

        var byProfile = await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("p1")) });

        Assert.Equal(["second"], byProfile.Interactions.Select(i => i.Interaction.InteractionId));
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("profiles/p1", 0)]
    public async Task ProfileUpdated_WhenMalformed_IsRefusedNamingTheField(string profile, long version)
    {
        var error = await Assert.ThrowsAsync<Shared.Errors.InvalidArgumentException>(() => HandleAsync(Updated(profile, version)));

        Assert.Equal(profile.Length == 0 ? "profile" : "version", Assert.Single(error.Violations).Field);
    }

    [Fact]
    public async Task ErasureRequested_OfOneOfTwoCustomersWhoSharedACookie_KeepsTheOthersInteractions()
    {
        await RecordAsync(
            WithEmail(NewInteraction("ann-signs-in", "touchpoints/web", Start.AddMinutes(-40), "shared-cookie"), "ann@example.com"),
            WithEmail(NewInteraction("bob-signs-in", "touchpoints/web", Start.AddMinutes(-30), "shared-cookie"), "bob@example.com"),
            WithEmail(NewInteraction("bob-own", "touchpoints/web", Start.AddMinutes(-20), "bob-phone"), "bob@example.com"),
            NewInteraction("cookie-only", "touchpoints/web", Start.AddMinutes(-10), "shared-cookie"));
        await HandleAsync(At(Start.AddMinutes(-40), Updated("profiles/ann", 1, Hashed("ann@example.com"))));
        await HandleAsync(At(Start.AddMinutes(-30), Updated("profiles/bob", 1, Hashed("bob@example.com"), Cookie("bob-phone"), Cookie("shared-cookie"))));

        await HandleAsync(new ErasureRequested { Erasure = "erasures/ann", Identifiers = { Hashed("ann@example.com") } }, "erase-ann");

        Assert.Empty((await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("ann")) })).Interactions);
        Assert.Equal(
            ["cookie-only", "bob-own", "bob-signs-in"],
            (await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("bob")) })).Interactions.Select(i => i.Interaction.InteractionId));
    }

    [Fact]
    public async Task ErasureRequested_ErasesEveryIdentifierOfTheProfilesHoldingTheGivenOnes()
    {
        await RecordAsync(
            WithEmail(NewInteraction("signed-in", "touchpoints/web", Start.AddMinutes(-30), "cookie-laptop"), "ann@example.com"),
            NewInteraction("phone-only", "touchpoints/web", Start.AddMinutes(-20), "cookie-phone"),
            NewInteraction("stranger", "touchpoints/web", Start.AddMinutes(-10), "cookie-stranger"));
        var hash = Host.Platform.Services.GetRequiredService<Shared.Privacy.IdentifierHasher>().HashEmail("ann@example.com");
        var email = new Identifier { Kind = IdentifierKind.Email, Value = hash };
        await HandleAsync(Updated("profiles/ann", 1, email, Cookie("cookie-laptop"), Cookie("cookie-phone")));

        await HandleAsync(new ErasureRequested { Erasure = "erasures/x2", Identifiers = { email } }, "erase-2");

        Assert.Empty((await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("cookie-phone")) })).Interactions);
        Assert.Empty((await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Profile("ann")) })).Interactions);
        Assert.Single((await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(Cookie("cookie-stranger")) })).Interactions);
        Assert.Equal(0, await Host.CountAsync("profile_identifiers"));
    }

    [Fact]
    public async Task ListInteractions_WithoutIdentifier_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.ListInteractionsAsync(new ListInteractionsRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task ErasureRequested_DeletesThePersonsInteractionsOnceAndPublishesErasureCompleted()
    {
        var withEmail = NewInteraction("e1", "touchpoints/web", Start.AddMinutes(-30), "cookie-a");
        withEmail.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "ann@example.com" });
        await RecordAsync(withEmail, NewInteraction("e2", "touchpoints/web", Start.AddMinutes(-20), "cookie-a"), NewInteraction("keep", "touchpoints/web", Start, "cookie-b"));
        var hash = Host.Platform.Services.GetRequiredService<Shared.Privacy.IdentifierHasher>().HashEmail("ann@example.com");
        var request = new ErasureRequested { Erasure = "erasures/x1", Identifiers = { new Identifier { Kind = IdentifierKind.Email, Value = hash } } };

        await HandleAsync(request, "erase-1");
        await HandleAsync(request, "erase-1");

        Assert.Equal(1, await Host.CountAsync("interactions"));
        Assert.Empty((await Host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-a" }) })).Interactions);
        var completed = Assert.Single(await Host.PayloadsAsync<ErasureCompleted>(Topics.ErasureCompleted));
        Assert.Equal("erasures/x1", completed.Erasure);
        Assert.Equal("touchpoint", completed.Service);
        Assert.Equal(4, completed.RecordsErased);
    }

    [Fact]
    public async Task RetentionSweep_RemovesInteractionsOlderThanTheWindowAndKeepsAggregates()
    {
        await RecordAsync(
            NewInteraction("old", "touchpoints/web", Start.AddDays(-20), rating: 2),
            NewInteraction("new", "touchpoints/web", Start.AddDays(-1), rating: 4));
        Host.Clock.Advance(TimeSpan.FromDays(15));
        var sweep = Host.Platform.Services.GetServices<IHostedService>().OfType<RetentionSweep>().Single();

        var removed = await sweep.SweepOnceAsync(CancellationToken.None);

        Assert.Equal(1, removed);
        Assert.Equal(1, await Host.CountAsync("interactions"));
        var scorecard = (await Host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest
        {
            Name = "touchpoints/web",
            Period = new Period { StartTime = Timestamp.FromDateTimeOffset(Start.AddDays(-30)), EndTime = Timestamp.FromDateTimeOffset(Start) },
        })).Scorecard;
        Assert.Equal(2, scorecard.Interactions);
        Assert.Equal(3.0, scorecard.AverageRating);
    }

    [Fact]
    public async Task RetentionOptions_WhenOutOfRange_FailStartNamingTheSetting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Touchpoint:RetentionDays"] = "0" }));

        Assert.Contains("RetentionDays", error.Message);
    }

    private static Identifier Email(string value) => new() { Kind = IdentifierKind.Email, Value = value };

    private Identifier Hashed(string email) =>
        new() { Kind = IdentifierKind.Email, Value = Host.Platform.Services.GetRequiredService<Shared.Privacy.IdentifierHasher>().HashEmail(email) };

    private static Identifier Cookie(string value) => new() { Kind = IdentifierKind.AnonymousId, Value = value };

    private static Identifier Profile(string value) => new() { Kind = IdentifierKind.ProfileId, Value = value };

    private static V1.Interaction WithEmail(V1.Interaction interaction, string email)
    {
        interaction.Identifiers.Add(Email(email));
        return interaction;
    }

    private static ProfileUpdated Updated(string profile, long version, params Identifier[] identifiers) => new()
    {
        Profile = profile,
        Version = version,
        UpdateTime = Timestamp.FromDateTimeOffset(Start.AddSeconds(version)),
        Identifiers = { identifiers },
    };

    private static ProfileUpdated At(DateTimeOffset updatedAt, ProfileUpdated updated)
    {
        updated.UpdateTime = Timestamp.FromDateTimeOffset(updatedAt);
        return updated;
    }

    private async Task RecordAsync(params V1.Interaction[] interactions)
    {
        var response = await Host.Client.RecordInteractionsAsync(new RecordInteractionsRequest { Interactions = { interactions } });
        Assert.Empty(response.Rejected);
    }

    private async Task HandleAsync<T>(T message, string? eventId = null)
        where T : Google.Protobuf.IMessage<T>
    {
        await using var scope = Host.Platform.Services.CreateAsyncScope();
        var handler = scope.ServiceProvider.GetServices<object>().OfType<IEventHandler<T>>().FirstOrDefault()
            ?? (IEventHandler<T>)scope.ServiceProvider.GetRequiredService(typeof(TouchpointModule).Assembly.GetTypes().Single(t => typeof(IEventHandler<T>).IsAssignableFrom(t)));
        await handler.HandleAsync([new ReceivedEvent<T>(eventId ?? Guid.CreateVersion7().ToString(), "profile", Start, message)], CancellationToken.None);
    }
}
