using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Events;
using Journey.Touchpoint.Storage;
using Microsoft.Extensions.Options;

namespace Journey.Touchpoint.Tests.Storage;

/// <summary>
/// The contract of the interaction log and the aggregates it keeps: every adapter must pass it. The
/// data set is one small journey, so each figure can be checked by hand.
/// </summary>
public abstract class InteractionLogContract
{
    protected static readonly DateTimeOffset Day = new(2026, 2, 20, 0, 0, 0, TimeSpan.Zero);

    private static readonly TouchpointEventMapper Events = new();

    private static readonly ErasureTombstones Tombstones = new(new IdentifierHasher(new byte[32]), Options.Create(new PrivacyOptions()));

    protected static readonly TouchpointDefinition Ad = Touchpoint("ad", JourneyStage.Awareness);
    protected static readonly TouchpointDefinition Review = Touchpoint("review", JourneyStage.Evaluation);
    private static readonly TouchpointDefinition Store = Touchpoint("store", JourneyStage.Purchase);

    protected abstract IInteractionLog Log { get; }

    protected abstract IJourneyAggregates Aggregates { get; }

    private static int D => JourneyAnalytics.DayOf(Day);

    [ContractFact]
    public async Task Append_ThenTimeline_RoundTripsEveryFieldNewestFirst()
    {
        var full = Interaction("e-1", Review, Day.AddHours(10), [Anonymous("ann")], InteractionType.Feedback, rating: 2) with
        {
            Identifiers = [Anonymous("ann"), new PersonIdentifier(IdentifierKind.Email, new string('a', 64))],
            Content = "contents/guide",
            Recommendation = "recommendations/r-1",
            Comment = "too expensive",
            Value = new MoneyAmount("EUR", 12, 500_000_000),
            Properties = new Dictionary<string, string> { ["campaign"] = "spring" },
        };
        await AppendAsync(Pending(full, Review), Pending(Interaction("e-2", Ad, Day.AddHours(11), [Anonymous("ann")]), Ad));

        var timeline = await Log.TimelineAsync(Anonymous("ann"), null, 10, default);

        Assert.Equal(["e-2", "e-1"], timeline.Select(t => t.Interaction.EventId));
        var read = timeline[1].Interaction;
        Assert.Equal(full, read with { Identifiers = full.Identifiers, Properties = full.Properties });
        Assert.Equal(full.Identifiers, read.Identifiers);
        Assert.Equal(full.Properties, read.Properties);
        Assert.All(timeline, t => Assert.Null(t.ProfileId));
    }

    [ContractFact]
    public async Task Append_WhenEventIdRepeated_TellsAResendFromAReusedIdAndKeepsTheFirst()
    {
        var first = await AppendAsync(
            Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad),
            Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad),
            Pending(Interaction("e-1", Review, Day.AddHours(10), [Anonymous("ann")]), Review));
        var resent = await AppendAsync(Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad));
        var reused = await AppendAsync(
            Pending(Interaction("e-1", Ad, Day.AddDays(1), [Anonymous("ann")]), Ad),
            Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("bob")]), Ad));

        Assert.Equal([Appended.Stored, Appended.Duplicate, Appended.Conflict], first);
        Assert.Equal([Appended.Duplicate], resent);
        Assert.Equal([Appended.Conflict, Appended.Conflict], reused);
        var timeline = Assert.Single(await Log.TimelineAsync(Anonymous("ann"), null, 10, default));
        Assert.Equal("ad", timeline.Interaction.TouchpointId);
        Assert.Empty(await Log.TimelineAsync(Anonymous("bob"), null, 10, default));
        Assert.Equal(1, (await Aggregates.TouchpointTotalsAsync("ad", D, D + 1, TimeSpan.FromDays(1), default)).Interactions);
    }

    [ContractFact]
    public async Task Timeline_PagesWithTheCursorOfTheLastEntry()
    {
        await AppendAsync(Enumerable.Range(0, 5).Select(i => Pending(Interaction($"e-{i}", Ad, Day.AddMinutes(i), [Anonymous("ann")]), Ad)).ToArray());

        var first = await Log.TimelineAsync(Anonymous("ann"), null, 2, default);
        var second = await Log.TimelineAsync(Anonymous("ann"), first[^1].Cursor, 2, default);
        var last = await Log.TimelineAsync(Anonymous("ann"), second[^1].Cursor, 2, default);

        Assert.Equal(["e-4", "e-3", "e-2", "e-1", "e-0"], first.Concat(second).Concat(last).Select(t => t.Interaction.EventId));
    }

    [ContractFact]
    public async Task Timeline_WhenManyInteractionsShareATime_SmallPagesListEachExactlyOnce()
    {
        // Interactions of one time from three batches, so ties fall inside a batch and across batches.
        var at = Day.AddHours(9);
        await AppendAsync(Pending(Interaction("before", Ad, at.AddMinutes(1), [Anonymous("ann")]), Ad));
        await AppendAsync(Enumerable.Range(0, 12).Select(i => Pending(Interaction($"tie-{i:00}", Ad, at, [Anonymous("ann")]), Ad)).ToArray());
        await AppendAsync(Pending(Interaction("tie-12", Ad, at, [Anonymous("ann")]), Ad));
        await AppendAsync(Enumerable.Range(13, 8).Select(i => Pending(Interaction($"tie-{i:00}", Ad, at, [Anonymous("ann")]), Ad)).ToArray());
        await AppendAsync(Pending(Interaction("after", Ad, at.AddMinutes(-1), [Anonymous("ann")]), Ad));

        var byIdentifier = await AllPagesAsync((cursor, limit) => Log.TimelineAsync(Anonymous("ann"), cursor, limit, default));
        var recordedWith = await AllPagesAsync((cursor, limit) => Log.RecordedWithAsync([Anonymous("ann")], cursor, limit, default));

        foreach (var listed in new[] { byIdentifier, recordedWith })
        {
            Assert.Equal(23, listed.Count);
            Assert.Equal(listed.Count, listed.Select(e => e.Interaction.EventId).Distinct().Count());
            Assert.Equal("before", listed[0].Interaction.EventId);
            Assert.Equal("after", listed[^1].Interaction.EventId);
            Assert.Equal(listed.Select(e => e.Interaction.OccurredAt).OrderDescending(), listed.Select(e => e.Interaction.OccurredAt));
        }
    }

    [ContractFact]
    public async Task Aggregates_WhenADaysInteractionsComeInManyBatches_SumThemExactly()
    {
        for (var i = 0; i < 40; i++)
        {
            await AppendAsync(
                Pending(Interaction($"r-{i}", Review, Day.AddHours(10).AddMinutes(i), [Anonymous($"p-{i % 7}")], InteractionType.Feedback, 1 + (i % 5)), Review),
                Pending(Interaction($"v-{i}", Review, Day.AddHours(10).AddMinutes(i), [Anonymous($"p-{i % 7}")]), Review));
        }

        var totals = await Aggregates.TouchpointTotalsAsync("review", D, D, TimeSpan.FromDays(1), default);
        var ratings = await Aggregates.RatingsAsync(D, D, default);

        Assert.Equal(new TouchpointTotals(Interactions: 80, RatingSum: 120, RatingCount: 40, UniquePeople: 7, Purchasers: 0), totals);
        Assert.Equal([new RatingTotals("review", 120, 40)], ratings);
    }

    [ContractFact]
    public async Task Timeline_ByAnyIdentifierSeenWithThePerson_CoversTheirWholeHistory()
    {
        var email = new PersonIdentifier(IdentifierKind.Email, new string('b', 64));
        await AppendAsync(Pending(Interaction("e-1", Ad, Day.AddHours(1), [Anonymous("ann")]), Ad));
        await AppendAsync(Pending(Interaction("e-2", Review, Day.AddHours(2), [Anonymous("ann"), email]), Review));
        await AppendAsync(Pending(Interaction("e-3", Ad, Day.AddHours(3), [Anonymous("bob")]), Ad));

        var byEmail = await Log.TimelineAsync(email, null, 10, default);

        Assert.Equal(["e-2", "e-1"], byEmail.Select(t => t.Interaction.EventId));
        Assert.Empty(await Log.TimelineAsync(Anonymous("nobody"), null, 10, default));
    }

    [ContractFact]
    public async Task ApplyMerges_LinksBothPeopleToTheSurvivorOnce()
    {
        await AppendAsync(Pending(Interaction("e-1", Ad, Day.AddHours(1), [Anonymous("cookie")]), Ad));
        await AppendAsync(Pending(Interaction("e-2", Store, Day.AddHours(2), [Customer("c-1")]), Store));
        var merge = new ProfileMerge("merge-1", "known", "anon", [Anonymous("cookie"), Customer("c-1")], Day);

        await Log.ApplyMergesAsync([merge, merge], Day, default);
        await Log.ApplyMergesAsync([merge], Day, default);

        var byProfile = await Log.TimelineAsync(new PersonIdentifier(IdentifierKind.ProfileId, "known"), null, 10, default);
        var byMerged = await Log.TimelineAsync(new PersonIdentifier(IdentifierKind.ProfileId, "anon"), null, 10, default);
        Assert.Equal(["e-2", "e-1"], byProfile.Select(t => t.Interaction.EventId));
        Assert.Equal(["e-2", "e-1"], byMerged.Select(t => t.Interaction.EventId));
        Assert.All(byProfile, t => Assert.Null(t.ProfileId));
    }

    [ContractFact]
    public async Task ApplyProfiles_KeepsTheIdentifiersOfTheLatestVersionOnly()
    {
        var email = new PersonIdentifier(IdentifierKind.Email, new string('e', 64));

        await Log.ApplyProfilesAsync([Snapshot("u-2", "p1", 2, Anonymous("cookie"), email)], Day, default);
        await Log.ApplyProfilesAsync([Snapshot("u-1", "p1", 1, Anonymous("stale"))], Day, default);
        var afterStale = await Log.ProfileAsync("p1", default);
        await Log.ApplyProfilesAsync([Snapshot("u-3", "p1", 3, email), Snapshot("u-4", "p1", 4, email, Customer("c-1"))], Day, default);

        Assert.Equal(Sorted(Anonymous("cookie"), email), Sorted([.. afterStale!.Identifiers]));
        var latest = await Log.ProfileAsync("p1", default);
        Assert.Equal(Sorted(Customer("c-1"), email), Sorted([.. latest!.Identifiers]));
        Assert.Null(await Log.ProfileAsync("nobody", default));
    }

    [ContractFact]
    public async Task ApplyProfiles_WhenAnEventIdComesAgain_AppliesItOnce()
    {
        await Log.ApplyProfilesAsync([Snapshot("u-1", "p1", 5, Anonymous("first"))], Day, default);

        // The same event id with other content proves the inbox, not the version, turned it away.
        await Log.ApplyProfilesAsync([Snapshot("u-1", "p1", 6, Anonymous("second"))], Day, default);

        Assert.Equal([Anonymous("first")], (await Log.ProfileAsync("p1", default))!.Identifiers);
    }

    [ContractFact]
    public async Task ApplyMerges_HandsTheMergedProfileToTheSurvivor()
    {
        await Log.ApplyProfilesAsync([Snapshot("u-1", "anon", 3, Anonymous("cookie")), Snapshot("u-2", "known", 1, Customer("c-1"))], Day, default);

        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "known", "anon", [Anonymous("cookie"), Anonymous("phone")], Day.AddHours(1))], Day, default);
        // A snapshot of the merged profile that was still on its way changes nothing.
        await Log.ApplyProfilesAsync([Snapshot("u-3", "anon", 4, Anonymous("late"))], Day, default);

        var survivor = await Log.ProfileAsync("known", default);
        var merged = await Log.ProfileAsync("anon", default);
        Assert.Equal("known", survivor!.ProfileId);
        Assert.Equal(["anon"], survivor.MergedIds);
        Assert.Equal(Sorted(Anonymous("cookie"), Anonymous("phone"), Customer("c-1")), Sorted([.. survivor.Identifiers]));
        Assert.Equal("known", merged!.ProfileId);
        Assert.Equal(Sorted([.. survivor.Identifiers]), Sorted([.. merged.Identifiers]));
    }

    [ContractFact]
    public async Task ApplyMerges_WhenTheSurvivorsSnapshotIsLater_KeepsWhatTheSnapshotHolds()
    {
        // The cookie moved on to another customer after the merge: the survivor's later snapshot says so.
        await Log.ApplyProfilesAsync([Snapshot("u-1", "known", 7, Customer("c-1")) with { UpdatedAt = Day.AddHours(2) }], Day, default);

        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "known", "anon", [Anonymous("cookie")], Day.AddHours(1))], Day, default);

        Assert.Equal([Customer("c-1")], (await Log.ProfileAsync("known", default))!.Identifiers);
        Assert.Equal(["anon"], (await Log.ProfileAsync("known", default))!.MergedIds);
    }

    [ContractFact]
    public async Task ApplySplits_GivesTheRestoredProfileItsAliasesIdentifiersAndHoldingsSinceTheMerge()
    {
        await Log.ApplyProfilesAsync([Snapshot("u-1", "known", 1, Customer("c-1")), Snapshot("u-2", "shop", 2, Customer("c-2"), Anonymous("phone"))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-0", "shop", "older", [Anonymous("old-cookie")], Day.AddMinutes(5))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "known", "shop", [Customer("c-2"), Anonymous("phone"), Anonymous("old-cookie")], Day.AddMinutes(10))], Day, default);
        // After the merge the survivor gains a tablet the shop customer uses, and a laptop of its own.
        await Log.ApplyProfilesAsync([Snapshot("u-3", "known", 3, Customer("c-1"), Customer("c-2"), Anonymous("phone"), Anonymous("old-cookie"), Anonymous("tablet"), Anonymous("laptop")) with { UpdatedAt = Day.AddMinutes(20) }], Day, default);
        var split = new ProfileSplitNotice("s-1", "known", "shop", ["older"], [Customer("c-2"), Anonymous("phone"), Anonymous("old-cookie"), Anonymous("tablet")], Day.AddMinutes(10)) { PublishedAt = Day.AddMinutes(30) };

        await Log.ApplySplitsAsync([split, split], Day, default);
        await Log.ApplySplitsAsync([split], Day, default);

        var shop = await Log.ProfileAsync("shop", default);
        var known = await Log.ProfileAsync("known", default);
        Assert.Equal("shop", shop!.ProfileId);
        Assert.Equal(["older"], shop.MergedIds);
        Assert.Equal("shop", (await Log.ProfileAsync("older", default))!.ProfileId);
        Assert.Equal(Sorted(Customer("c-2"), Anonymous("phone"), Anonymous("old-cookie"), Anonymous("tablet")), Sorted([.. shop.Identifiers]));
        Assert.Equal(Sorted(Customer("c-1"), Anonymous("laptop")), Sorted([.. known!.Identifiers]));
        Assert.Empty(known.MergedIds);
        var holdings = await Log.HoldingsAsync([Anonymous("tablet"), Anonymous("laptop"), Anonymous("phone")], default);
        Assert.Equal(
            [("4:laptop", "known", Day.AddMinutes(20)), ("4:phone", "shop", Day.AddMinutes(2)), ("4:tablet", "shop", Day.AddMinutes(20))],
            holdings.Select(h => (h.Key, h.ProfileId, h.Since)).OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    [ContractFact]
    public async Task ApplySplits_DropsThePeopleLinksTheMergeMade_AndKeepsThoseOfEarlierMerges()
    {
        await AppendAsync(
            Pending(Interaction("known-1", Ad, Day.AddMinutes(1), [Customer("c-1")]), Ad),
            Pending(Interaction("shop-1", Ad, Day.AddMinutes(2), [Customer("c-2")]), Ad),
            Pending(Interaction("older-1", Ad, Day.AddMinutes(3), [Anonymous("old-cookie")]), Ad));
        await Log.ApplyProfilesAsync([Snapshot("u-1", "known", 1, Customer("c-1")), Snapshot("u-2", "shop", 2, Customer("c-2"))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-0", "shop", "older", [Anonymous("old-cookie")], Day.AddMinutes(5))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "known", "shop", [Customer("c-2"), Anonymous("old-cookie")], Day.AddMinutes(10))], Day, default);
        Assert.Equal(["older-1", "shop-1"], await EventIdsAsync(Customer("c-2")));
        Assert.Equal(["older-1", "shop-1"], await EventIdsAsync(new PersonIdentifier(IdentifierKind.ProfileId, "known")));

        await Log.ApplySplitsAsync([new ProfileSplitNotice("s-1", "known", "shop", ["older"], [Customer("c-2"), Anonymous("old-cookie")], Day.AddMinutes(10)) { PublishedAt = Day.AddMinutes(30) }], Day, default);

        // The people the merge linked are apart again; the restored profile keeps the link of the merge before.
        Assert.Equal(["shop-1"], await EventIdsAsync(Customer("c-2")));
        Assert.Empty(await EventIdsAsync(new PersonIdentifier(IdentifierKind.ProfileId, "known")));
        Assert.Equal(["older-1"], await EventIdsAsync(new PersonIdentifier(IdentifierKind.ProfileId, "shop")));
        Assert.Equal(["known-1"], await EventIdsAsync(Customer("c-1")));

        async Task<List<string>> EventIdsAsync(PersonIdentifier identifier) =>
            [.. (await Log.TimelineAsync(identifier, null, 10, default)).Select(e => e.Interaction.EventId).Order(StringComparer.Ordinal)];
    }

    [ContractFact]
    public async Task ApplySplits_OfAnErasedProfile_IsSkipped()
    {
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "known", "gone", [Anonymous("phone")], Day)], Day, default);
        await Log.EraseAsync("erase-1", [Anonymous("phone")], ErasureKeep.None, ["known"], Tombstones.For([TombstoneKey(Anonymous("phone")), ProfileKey("known"), ProfileKey("gone")], Day), _ => Completed([], 0), Day, default);

        await Log.ApplySplitsAsync([new ProfileSplitNotice("s-1", "known", "gone", [], [Anonymous("phone")], Day) { PublishedAt = Day, ErasureKeys = [TombstoneKey(Anonymous("phone")), ProfileKey("gone")] }], Day, default);

        Assert.Null(await Log.ProfileAsync("gone", default));
        Assert.Empty(await Log.HoldersAsync([Anonymous("phone")], default));
    }

    [ContractFact]
    public async Task ApplyMerges_OfASurvivorMergedLater_NameTheLastSurvivor()
    {
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "b", "a", [Anonymous("cookie-a")], Day)], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-2", "c", "b", [Anonymous("cookie-a"), Anonymous("cookie-b")], Day.AddHours(1))], Day, default);
        // Told late: d was merged into a, which is c's by now.
        await Log.ApplyMergesAsync([new ProfileMerge("m-3", "a", "d", [Anonymous("cookie-d")], Day.AddHours(2))], Day, default);

        var c = await Log.ProfileAsync("a", default);
        Assert.Equal("c", c!.ProfileId);
        Assert.Equal(["a", "b", "d"], c.MergedIds);
        Assert.Equal(Sorted(Anonymous("cookie-a"), Anonymous("cookie-b"), Anonymous("cookie-d")), Sorted([.. c.Identifiers]));
    }

    [ContractFact]
    public async Task RecordedWith_ListsOnlyInteractionsCarryingTheIdentifiers()
    {
        // A cookie shared by two customers joins both of them to one person in the log.
        var email = new PersonIdentifier(IdentifierKind.Email, new string('a', 64));
        var other = new PersonIdentifier(IdentifierKind.Email, new string('b', 64));
        await AppendAsync(Pending(Interaction("ann-1", Ad, Day.AddHours(1), [Anonymous("shared"), email]), Ad));
        await AppendAsync(Pending(Interaction("ann-2", Ad, Day.AddHours(2), [email]), Ad));
        await AppendAsync(Pending(Interaction("bob-1", Ad, Day.AddHours(3), [Anonymous("shared"), other]), Ad));
        await AppendAsync(Pending(Interaction("bob-2", Ad, Day.AddHours(4), [other]), Ad));
        await AppendAsync(Pending(Interaction("cookie", Ad, Day.AddHours(5), [Anonymous("shared")]), Ad));

        var ann = await Log.RecordedWithAsync([email, Anonymous("shared")], null, 10, default);
        var annOnly = await Log.RecordedWithAsync([email], null, 10, default);

        Assert.Equal(["cookie", "bob-1", "ann-2", "ann-1"], ann.Select(t => t.Interaction.EventId));
        Assert.Equal(["ann-2", "ann-1"], annOnly.Select(t => t.Interaction.EventId));
        Assert.All(ann, t => Assert.Null(t.ProfileId));
    }

    [ContractFact]
    public async Task RecordedWith_FindsInteractionsFiledUnderAnotherIdentifiersPerson()
    {
        // x and y were first seen apart; the interaction carrying both is filed under y's person.
        await AppendAsync(Pending(Interaction("x-1", Ad, Day.AddHours(1), [Anonymous("x")]), Ad));
        await AppendAsync(Pending(Interaction("y-1", Ad, Day.AddHours(2), [Anonymous("y")]), Ad));
        await AppendAsync(
            Pending(Interaction("both", Ad, Day.AddHours(3), [Anonymous("y"), Anonymous("x")]), Ad),
            Pending(Interaction("both-again", Ad, Day.AddHours(4), [Anonymous("y"), Anonymous("x")]), Ad));

        var first = await Log.RecordedWithAsync([Anonymous("x")], null, 2, default);
        var rest = await Log.RecordedWithAsync([Anonymous("x")], first[^1].Cursor, 2, default);

        Assert.Equal(["both-again", "both", "x-1"], first.Concat(rest).Select(t => t.Interaction.EventId));
    }

    [ContractFact]
    public async Task Holders_NameTheLiveProfileHoldingEachIdentifier()
    {
        await Log.ApplyProfilesAsync([Snapshot("u-1", "p1", 1, Anonymous("cookie")), Snapshot("u-2", "p2", 1, Customer("c-2"))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "p2", "p1", [Anonymous("cookie")], Day.AddHours(1))], Day, default);

        var holders = await Log.HoldersAsync(
            [Anonymous("cookie"), Customer("c-2"), Anonymous("nobody"), new PersonIdentifier(IdentifierKind.ProfileId, "p1"), new PersonIdentifier(IdentifierKind.ProfileId, "p9")], default);

        Assert.Equal(
            [(Customer("c-2").Key, "p2"), (Anonymous("cookie").Key, "p2"), ("7:p1", "p2")],
            holders.Select(h => (h.Key, h.ProfileId)).OrderBy(h => h.Key, StringComparer.Ordinal));
    }

    [ContractFact]
    public async Task Holdings_KeepEveryProfileThatHeldAnIdentifierFromWhenItGainedIt()
    {
        var email = new PersonIdentifier(IdentifierKind.Email, new string('a', 64));
        // Ann holds the cookie from version 1 (minute 1) on; v2 and v3 come in one batch, v2 still holds it.
        await Log.ApplyProfilesAsync([Snapshot("u-1", "ann", 1, Anonymous("cookie"), Customer("c-ann"))], Day, default);
        await Log.ApplyProfilesAsync([Snapshot("u-3", "bob", 3, Anonymous("cookie"), Customer("c-bob"), email), Snapshot("u-2", "bob", 2, Anonymous("cookie"), Customer("c-bob"))], Day, default);
        await Log.ApplyProfilesAsync([Snapshot("u-4", "ann", 4, Customer("c-ann"))], Day, default);
        // An anonymous profile with a cookie of its own, merged into Bob's at minute 10.
        await Log.ApplyProfilesAsync([Snapshot("u-5", "anon", 5, Anonymous("tablet"))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "bob", "anon", [Anonymous("tablet"), Anonymous("moved")], Day.AddMinutes(10))], Day, default);

        var holdings = await Log.HoldingsAsync(
            [Anonymous("cookie"), Anonymous("tablet"), Anonymous("moved"), Customer("c-ann"), Anonymous("nobody"), new PersonIdentifier(IdentifierKind.ProfileId, "anon")], default);

        Assert.Equal(
            [
                (Customer("c-ann").Key, "ann", Day.AddMinutes(1), true),
                ("4:cookie", "ann", Day.AddMinutes(1), true),
                ("4:cookie", "bob", Day.AddMinutes(2), true),
                ("4:moved", "bob", Day.AddMinutes(10), true),
                ("4:tablet", "bob", Day.AddMinutes(5), true),
                ("7:anon", "bob", DateTimeOffset.MinValue, true),
            ],
            holdings.Select(h => (h.Key, h.ProfileId, h.Since, h.Known)).OrderBy(h => h.Key, StringComparer.Ordinal).ThenBy(h => h.Since));
        var ann = await Log.ProfileAsync("ann", default);
        Assert.Equal([Anonymous("cookie")], ann!.FormerIdentifiers);
        Assert.Empty((await Log.ProfileAsync("bob", default))!.FormerIdentifiers);
    }

    [ContractFact]
    public async Task Holdings_OfAnErasedProfileOrIdentifier_AreGone()
    {
        await Log.ApplyProfilesAsync([Snapshot("u-1", "ann", 1, Anonymous("cookie"), Customer("c-ann"))], Day, default);
        await Log.ApplyProfilesAsync([Snapshot("u-2", "bob", 2, Anonymous("cookie"), Customer("c-bob"))], Day, default);
        await Log.ApplyProfilesAsync([Snapshot("u-3", "ann", 3, Customer("c-ann"), Anonymous("laptop"))], Day, default);

        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, ["ann"], Tombstones.For([TombstoneKey(Customer("c-ann")), ProfileKey("ann")], Day), _ => Completed([], 0), Day, default);

        Assert.Equal(
            [("4:cookie", "bob")],
            (await Log.HoldingsAsync([Anonymous("cookie"), Anonymous("laptop"), Customer("c-ann")], default)).Select(h => (h.Key, h.ProfileId)));
    }

    [ContractFact]
    public async Task Erase_ForgetsTheProfilesAndIgnoresTheirLaterSnapshots()
    {
        await AppendAsync(Pending(Interaction("e-1", Ad, Day.AddHours(1), [Anonymous("cookie")]), Ad));
        await Log.ApplyProfilesAsync([Snapshot("u-1", "p1", 1, Anonymous("cookie")), Snapshot("u-2", "keep", 1, Anonymous("other"))], Day, default);
        await Log.ApplyMergesAsync([new ProfileMerge("m-1", "p1", "p0", [], Day.AddHours(1))], Day, default);
        var reported = new List<long>();

        await Log.EraseAsync("erase-1", [Anonymous("cookie")], ErasureKeep.None, ["p1"], Tombstones.For([TombstoneKey(Anonymous("cookie")), ProfileKey("p1"), ProfileKey("p0")], Day), count => Completed(reported, count), Day, default);
        await Log.ApplyProfilesAsync([Erasable(Snapshot("u-3", "p1", 2, Anonymous("cookie")))], Day, default);

        Assert.Null(await Log.ProfileAsync("p1", default));
        Assert.Null(await Log.ProfileAsync("p0", default));
        Assert.NotNull(await Log.ProfileAsync("keep", default));
        Assert.Empty(await Log.HoldersAsync([Anonymous("cookie"), new PersonIdentifier(IdentifierKind.ProfileId, "p1")], default));
        Assert.Empty(await Log.RecordedWithAsync([Anonymous("cookie")], null, 10, default));
    }

    [ContractFact]
    public async Task Erase_WhenSnapshotsAndMergesStampedBeforeItSettledArrive_SkipsThemAndAppliesLaterOnes()
    {
        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, ["p1"], Tombstones.For([TombstoneKey(Customer("c-ann")), ProfileKey("p1")], Day), count => Events.ErasureCompleted("erasures/e-1", count, Day), Day, default);
        var settled = Day + new PrivacyOptions().ErasureSettleWindow;

        await Log.ApplyProfilesAsync([Erasable(Snapshot("u-1", "p1", 5, Customer("c-ann"))), Erasable(Snapshot("u-2", "p2", 1, Customer("c-ann")) with { PublishedAt = settled })], Day, default);
        await Log.ApplyMergesAsync([Erasable(new ProfileMerge("m-1", "p3", "p1", [Customer("c-ann")], settled))], Day, default);
        await Log.ApplyProfilesAsync([Erasable(Snapshot("u-3", "p4", 1, Customer("c-ann")) with { PublishedAt = settled.AddMilliseconds(1) })], Day, default);

        Assert.Null(await Log.ProfileAsync("p1", default));
        Assert.Null(await Log.ProfileAsync("p2", default));
        Assert.Null(await Log.ProfileAsync("p3", default));
        Assert.Equal("p4", Assert.Single(await Log.HoldersAsync([Customer("c-ann")], default)).ProfileId);
    }

    [ContractFact]
    public async Task Erase_KeepsTheInteractionsAndLinksItIsToldToKeep()
    {
        // One cookie joins both customers into one person in the log; the profile service keeps them apart.
        await AppendAsync(Pending(Interaction("ann-1", Ad, Day.AddHours(1), [Anonymous("shared"), Customer("c-ann")]), Ad));
        await AppendAsync(Pending(Interaction("bob-1", Ad, Day.AddHours(2), [Anonymous("shared"), Customer("c-bob")]), Ad));
        await AppendAsync(Pending(Interaction("bob-2", Ad, Day.AddHours(3), [Customer("c-bob")]), Ad));
        var keep = new ErasureKeep(new HashSet<string> { "bob-1", "bob-2" }, new HashSet<string> { Anonymous("shared").Key, Customer("c-bob").Key });

        await Log.EraseAsync("erase-1", [Customer("c-ann")], keep, [], [], _ => Completed([], 0), Day, default);

        Assert.Empty(await Log.RecordedWithAsync([Customer("c-ann")], null, 10, default));
        Assert.Equal(["bob-2", "bob-1"], (await Log.RecordedWithAsync([Customer("c-bob")], null, 10, default)).Select(e => e.Interaction.EventId));
        Assert.Equal(["bob-1"], (await Log.RecordedWithAsync([Anonymous("shared")], null, 10, default)).Select(e => e.Interaction.EventId));
    }

    [ContractFact]
    public async Task Erase_RemovesEveryoneLinkedAndOnlyOnce()
    {
        await AppendAsync(Pending(Interaction("e-1", Ad, Day.AddHours(1), [Anonymous("ann"), Customer("c-ann")]), Ad));
        await AppendAsync(Pending(Interaction("e-2", Review, Day.AddHours(2), [Anonymous("ann")]), Review));
        await AppendAsync(Pending(Interaction("e-3", Ad, Day.AddHours(3), [Anonymous("bob")]), Ad));
        var reported = new List<long>();

        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, [], [], count => Completed(reported, count), Day, default);
        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, [], [], count => Completed(reported, count), Day, default);

        Assert.Empty(await Log.TimelineAsync(Anonymous("ann"), null, 10, default));
        Assert.Empty(await Log.TimelineAsync(Customer("c-ann"), null, 10, default));
        Assert.Single(await Log.TimelineAsync(Anonymous("bob"), null, 10, default));
        Assert.Single(reported);
        Assert.True(reported[0] >= 2, $"the two interactions at least were erased, reported {reported[0]}");
    }

    [ContractFact]
    public async Task Erase_WhenThePersonHasMoreInteractionsThanOneTransactionHolds_RemovesEveryOne()
    {
        const int count = 2_400;
        for (var from = 0; from < count; from += 400)
        {
            await AppendAsync([.. Enumerable.Range(from, 400).Select(i => Pending(Interaction($"many-{i:D5}", Ad, Day.AddSeconds(i), [Anonymous("ann"), Customer("c-ann")]), Ad))]);
        }

        var reported = new List<long>();

        await Log.EraseAsync("erase-many", [Customer("c-ann")], ErasureKeep.None, [], [], erased => Completed(reported, erased), Day, default);

        Assert.Empty(await Log.TimelineAsync(Anonymous("ann"), null, 10, default));
        Assert.True(Assert.Single(reported) >= count, $"every interaction was erased, reported {reported[0]}");
    }

    [ContractFact]
    public async Task Erase_WhenTheErasureIsDeliveredAgain_KeepsWhatTheSamePersonDidSince()
    {
        await AppendAsync(Pending(Interaction("before", Ad, Day.AddHours(1), [Customer("c-ann")]), Ad));
        var reported = new List<long>();
        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, [], [], erased => Completed(reported, erased), Day, default);
        await AppendAsync(Pending(Interaction("after", Ad, Day.AddDays(40), [Customer("c-ann")]), Ad));

        await Log.EraseAsync("erase-1", [Customer("c-ann")], ErasureKeep.None, [], [], erased => Completed(reported, erased), Day, default);

        Assert.Equal(["after"], (await Log.TimelineAsync(Customer("c-ann"), null, 10, default)).Select(t => t.Interaction.EventId));
        Assert.Single(reported);
    }

    [ContractFact]
    public async Task Sweep_RemovesOnlyInteractionsBeforeTheCutoffAndKeepsAggregates()
    {
        await AppendAsync(
            Pending(Interaction("old", Ad, Day.AddDays(-10), [Anonymous("ann")]), Ad),
            Pending(Interaction("new", Ad, Day, [Anonymous("ann")]), Ad));

        var removed = await Log.SweepAsync(Day.AddDays(-1), 100, default);

        Assert.Equal(1, removed);
        Assert.Equal(["new"], (await Log.TimelineAsync(Anonymous("ann"), null, 10, default)).Select(t => t.Interaction.EventId));
        Assert.Equal(1, (await Aggregates.TouchpointTotalsAsync("ad", D - 10, D - 10, TimeSpan.FromDays(1), default)).Interactions);
    }

    [ContractFact]
    public async Task Aggregates_WhenTwoCustomersShareACookie_CountThemAsTwoPeople()
    {
        // One browser cookie, two known customers (the profile service keeps them apart): A signs in and
        // reads a review, B signs in on the same cookie, reads it and buys; then a visit on the cookie alone.
        await AppendAsync(Pending(Interaction("a1", Review, Day.AddHours(10), [Anonymous("shared"), Customer("A")]), Review));
        await AppendAsync(Pending(Interaction("b1", Review, Day.AddHours(11), [Anonymous("shared"), Customer("B")]), Review));
        await AppendAsync(
            Pending(Interaction("b2", Store, Day.AddHours(12), [Customer("B")], InteractionType.Purchase), Store),
            Pending(Interaction("c1", Review, Day.AddHours(13), [Anonymous("shared")]), Review));

        var review = await Aggregates.TouchpointTotalsAsync("review", D, D, TimeSpan.FromDays(1), default);
        var funnel = await Aggregates.FunnelTotalsAsync(D, D, default);
        var beforePurchase = await Aggregates.TouchpointsBeforePurchaseAsync(D, D, default);

        Assert.Equal(new TouchpointTotals(Interactions: 3, RatingSum: 0, RatingCount: 0, UniquePeople: 2, Purchasers: 1), review);
        Assert.Equal([0L, 0, 2, 1, 0, 0], funnel.PeoplePerStage);
        Assert.Equal([1L], beforePurchase);
        Assert.Equal(["c1", "b1", "a1"], (await Log.RecordedWithAsync([Anonymous("shared")], null, 10, default)).Select(t => t.Interaction.EventId));
    }

    [ContractFact]
    public async Task Aggregates_MatchAHandComputedJourney()
    {
        // ann: ad (D 10:00) -> review (D 11:00, rating 2) -> store purchase (D+1 09:00, rating 5)
        // bob: ad (D 10:00) -> review (D 12:00, rating 4), then silent
        // cara: ad (D 10:00), then silent
        await AppendAsync(
            Pending(Interaction("a1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad),
            Pending(Interaction("b1", Ad, Day.AddHours(10), [Anonymous("bob")]), Ad),
            Pending(Interaction("c1", Ad, Day.AddHours(10), [Anonymous("cara")]), Ad));
        await AppendAsync(
            Pending(Interaction("a2", Review, Day.AddHours(11), [Anonymous("ann")], InteractionType.Feedback, 2), Review),
            Pending(Interaction("b2", Review, Day.AddHours(12), [Anonymous("bob")], InteractionType.Feedback, 4), Review),
            Pending(Interaction("a3", Store, Day.AddDays(1).AddHours(9), [Anonymous("ann")], InteractionType.Purchase, 5), Store));

        var review = await Aggregates.TouchpointTotalsAsync("review", D, D + 1, TimeSpan.FromDays(2), default);
        var funnel = await Aggregates.FunnelTotalsAsync(D, D + 1, default);
        var beforePurchase = await Aggregates.TouchpointsBeforePurchaseAsync(D, D + 1, default);
        var dropOffs = await Aggregates.DropOffsAsync(Day, Day.AddDays(2), 10, default);
        var ratings = await Aggregates.RatingsAsync(D, D + 1, default);

        Assert.Equal(new TouchpointTotals(Interactions: 2, RatingSum: 6, RatingCount: 2, UniquePeople: 2, Purchasers: 1), review);
        Assert.Equal([3L, 0, 2, 1, 0, 0], funnel.PeoplePerStage);
        Assert.Equal([0L, 0, 1, 0, 0], funnel.PeopleInBothStages);
        Assert.Equal([2L], beforePurchase);
        Assert.Equal(2, dropOffs.Silent);
        Assert.Equal([("ad", 1L), ("review", 1L)], dropOffs.Top);
        Assert.Equal([new RatingTotals("review", 6, 2), new RatingTotals("store", 5, 1)], ratings.OrderBy(r => r.TouchpointId, StringComparer.Ordinal));
    }

    [ContractFact]
    public async Task Paths_ListEachPersonsTouchpointsInTheOrderFirstMet_MostRecentEndFirst()
    {
        // ann: ad (D 10:00) -> review (D 11:00) -> store purchase (D+1 09:00); dan: review (D 13:00) -> store purchase (D+1 08:00);
        // eve buys at the store straight away (D+1 10:00); bob: ad -> review (D 12:00), then silent; cara: ad (D 10:00), then silent.
        await AppendAsync(
            Pending(Interaction("a1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad),
            Pending(Interaction("b1", Ad, Day.AddHours(10), [Anonymous("bob")]), Ad),
            Pending(Interaction("c1", Ad, Day.AddHours(10), [Anonymous("cara")]), Ad),
            Pending(Interaction("d1", Review, Day.AddHours(13), [Anonymous("dan")]), Review));
        await AppendAsync(
            Pending(Interaction("e1", Store, Day.AddDays(1).AddHours(10), [Anonymous("eve")], InteractionType.Purchase), Store),
            Pending(Interaction("a3", Store, Day.AddDays(1).AddHours(9), [Anonymous("ann")], InteractionType.Purchase), Store),
            Pending(Interaction("a2", Review, Day.AddHours(11), [Anonymous("ann")]), Review),
            Pending(Interaction("b2", Review, Day.AddHours(12), [Anonymous("bob")]), Review),
            Pending(Interaction("d2", Store, Day.AddDays(1).AddHours(8), [Anonymous("dan")], InteractionType.Purchase), Store));

        var purchases = await Aggregates.PurchasePathsAsync(D, D + 1, 10, default);
        var firstTwo = await Aggregates.PurchasePathsAsync(D, D + 1, 2, default);
        var dropOffs = await Aggregates.DropOffPathsAsync(Day, Day.AddDays(2), 10, default);
        var lastSilent = await Aggregates.DropOffPathsAsync(Day, Day.AddDays(2), 1, default);

        Assert.Equal(3, purchases.People);
        Assert.Equal(["store", "ad review store", "review store"], purchases.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(3L, firstTwo.People);
        Assert.Equal(["store", "ad review store"], firstTwo.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(2, dropOffs.People);
        Assert.Equal(["ad review", "ad"], dropOffs.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(2L, lastSilent.People);
        Assert.Equal(["ad review"], lastSilent.Sequences.Select(p => string.Join(' ', p)));
        Assert.Empty((await Aggregates.PurchasePathsAsync(D + 2, D + 3, 10, default)).Sequences);
    }

    [ContractFact]
    public async Task TouchpointPaths_ListWhatEachPersonMetBeforeFirstMeetingIt_MostRecentFirst()
    {
        // ann: ad (D 10:00) -> review (D 11:00) -> store (D 12:00) -> review again (D 14:00);
        // bob: review first (D 09:00), then ad (D 13:00); cara: the store only (D 15:00);
        // dan met the review on D-1, before the period.
        await AppendAsync(
            Pending(Interaction("a1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad),
            Pending(Interaction("a2", Review, Day.AddHours(11), [Anonymous("ann")]), Review),
            Pending(Interaction("a3", Store, Day.AddHours(12), [Anonymous("ann")]), Store),
            Pending(Interaction("a4", Review, Day.AddHours(14), [Anonymous("ann")]), Review),
            Pending(Interaction("b1", Review, Day.AddHours(9), [Anonymous("bob")]), Review),
            Pending(Interaction("b2", Ad, Day.AddHours(13), [Anonymous("bob")]), Ad),
            Pending(Interaction("c1", Store, Day.AddHours(15), [Anonymous("cara")]), Store),
            Pending(Interaction("d1", Review, Day.AddHours(-2), [Anonymous("dan")]), Review));

        var store = await Aggregates.TouchpointPathsAsync("store", Day, Day.AddDays(1), 10, default);
        var review = await Aggregates.TouchpointPathsAsync("review", Day, Day.AddDays(1), 10, default);
        var latestReview = await Aggregates.TouchpointPathsAsync("review", Day, Day.AddDays(1), 1, default);
        var ad = await Aggregates.TouchpointPathsAsync("ad", Day, Day.AddDays(1), 10, default);

        Assert.Equal(2, store.People);
        Assert.Equal(["", "ad review"], store.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(2, review.People);
        Assert.Equal(["ad", ""], review.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(2, latestReview.People);
        Assert.Equal(["ad"], latestReview.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(["review", ""], ad.Sequences.Select(p => string.Join(' ', p)));
        Assert.Equal(0, (await Aggregates.TouchpointPathsAsync("store", Day.AddDays(1), Day.AddDays(2), 10, default)).People);
    }

    private static TouchpointDefinition Touchpoint(string id, JourneyStage stage) => new(
        id, id, Channel.Web, Ownership.Owned, [stage], 3, new IntendedExperience(4, "trust"), "team", [], false, 1, Day, Day, null);

    protected static PersonIdentifier Anonymous(string value) => new(IdentifierKind.AnonymousId, value);

    private static PersonIdentifier Customer(string value) => new(IdentifierKind.CustomerId, value);

    private static List<PersonIdentifier> Sorted(params PersonIdentifier[] identifiers) => [.. identifiers.OrderBy(i => i.Key, StringComparer.Ordinal)];

    private static ProfileSnapshot Erasable(ProfileSnapshot snapshot) =>
        snapshot with { ErasureKeys = [.. snapshot.Identifiers.Select(TombstoneKey), ProfileKey(snapshot.ProfileId)] };

    private static ProfileMerge Erasable(ProfileMerge merge) =>
        merge with { ErasureKeys = [.. merge.MovedIdentifiers.Select(TombstoneKey), ProfileKey(merge.Survivor), ProfileKey(merge.Merged)] };

    private static string TombstoneKey(PersonIdentifier identifier) => Tombstones.Key((int)identifier.Kind, identifier.Value);

    private static string ProfileKey(string profile) => Tombstones.Key((int)IdentifierKind.ProfileId, profile);

    private static ProfileSnapshot Snapshot(string eventId, string profile, long version, params PersonIdentifier[] identifiers) =>
        new(eventId, profile, identifiers, version, Day.AddMinutes(version));

    protected static Interaction Interaction(
        string id, TouchpointDefinition touchpoint, DateTimeOffset at, IReadOnlyList<PersonIdentifier> identifiers,
        InteractionType type = InteractionType.View, int rating = 0) =>
        new(id, touchpoint.Id, at, identifiers, type, "", "", rating, "", null, new Dictionary<string, string>(), at.AddSeconds(1));

    protected static PendingInteraction Pending(Interaction interaction, TouchpointDefinition touchpoint) =>
        new(interaction, touchpoint.StageMask | (interaction.Type == InteractionType.Purchase ? StageMask.Bit(JourneyStage.Purchase) : 0),
            Events.Recorded(interaction, touchpoint, interaction.RecordedAt));

    private static OutboxMessage Completed(List<long> reported, long count)
    {
        reported.Add(count);
        return Events.ErasureCompleted("erasures/e-1", count, Day);
    }

    protected Task<IReadOnlyList<Appended>> AppendAsync(params PendingInteraction[] batch) => Log.AppendAsync(batch, default);

    /// <summary>Every entry, read three at a time, each page after the cursor of the previous page's last entry.</summary>
    private static async Task<List<TimelineEntry>> AllPagesAsync(Func<TimelineCursor?, int, Task<IReadOnlyList<TimelineEntry>>> page)
    {
        var all = new List<TimelineEntry>();
        TimelineCursor? cursor = null;
        while (true)
        {
            var entries = await page(cursor, 3);
            all.AddRange(entries);
            if (entries.Count < 3 || all.Count > 100)
            {
                return all;
            }

            cursor = entries[^1].Cursor;
        }
    }
}

public sealed class SqliteInteractionLogTests : InteractionLogContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("touchpoint");

    public SqliteInteractionLogTests()
    {
        _ = new SqliteOutbox(TouchpointModule.Name, _sqlite.Database);
        Log = new SqliteInteractionLog(_sqlite.Database);
        Aggregates = new SqliteJourneyAggregates(_sqlite.Database);
    }

    protected override IInteractionLog Log { get; }

    protected override IJourneyAggregates Aggregates { get; }

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task Append_KeepsEachClaimsFingerprintInFourBytes()
    {
        var first = Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad);
        await AppendAsync(first);

        var (type, value) = await _sqlite.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT typeof(fingerprint), hex(fingerprint) FROM interaction_ids WHERE event_id = 'e-1'";
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return (reader.GetString(0), reader.GetString(1));
        }, default);

        Assert.Equal(("blob", Convert.ToHexString(first.Fingerprint[..4])), (type, value));
    }

    [Fact]
    public async Task Append_WhenTheIdWasClaimedWithItsFingerprintInAnEightByteBlob_StillTellsAResendFromAReusedId()
    {
        var first = Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad);
        await AppendAsync(first);
        await StoreClaimFingerprintAsync("e-1", first.Fingerprint[..8]);

        var (resent, reused) = await ResendAndReuseAsync("e-1");

        Assert.Equal([Appended.Duplicate], resent);
        Assert.Equal([Appended.Conflict], reused);
    }

    [Fact]
    public async Task Append_WhenTheIdWasClaimedWithItsFingerprintInHex_StillTellsAResendFromAReusedId()
    {
        var first = Pending(Interaction("e-1", Ad, Day.AddHours(10), [Anonymous("ann")]), Ad);
        await AppendAsync(first);
        await StoreClaimFingerprintAsync("e-1", first.FingerprintHex);

        var (resent, reused) = await ResendAndReuseAsync("e-1");

        Assert.Equal([Appended.Duplicate], resent);
        Assert.Equal([Appended.Conflict], reused);
    }

    /// <summary>Rewrites a claim's stored fingerprint in place, as an older build of the adapter left it.</summary>
    private async Task StoreClaimFingerprintAsync(string eventId, object fingerprint) => await _sqlite.Database.WriteAsync(async (connection, transaction, ct) =>
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE interaction_ids SET fingerprint = $fingerprint WHERE event_id = $id";
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$id", eventId);
        return await command.ExecuteNonQueryAsync(ct);
    }, default);

    /// <summary>Appends the claimed id again, first with the same interaction (a resend), then with a different one (a reused id).</summary>
    private async Task<(IReadOnlyList<Appended> Resent, IReadOnlyList<Appended> Reused)> ResendAndReuseAsync(string eventId) =>
        (await AppendAsync(Pending(Interaction(eventId, Ad, Day.AddHours(10), [Anonymous("ann")]), Ad)),
         await AppendAsync(Pending(Interaction(eventId, Review, Day.AddHours(10), [Anonymous("ann")]), Review)));
}

public sealed class MongoInteractionLogTests : InteractionLogContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new("touchpoint");

    protected override IInteractionLog Log => field ??= new MongoInteractionLog(_mongo.Store, Options.Create(new TouchpointOptions()));

    protected override IJourneyAggregates Aggregates => field ??= new MongoJourneyAggregates(_mongo.Store);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}
