using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

/// <summary>The contract of the profile service's store ports; every adapter must pass it.</summary>
public abstract class ProfileStoreContract
{
    protected static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    protected abstract IProfileStore Store { get; }

    protected abstract ISegmentStore Segments { get; }

    protected abstract Task<IReadOnlyList<string>> OutboxTopicsAsync();

    [ContractFact]
    public async Task Save_ThenGet_RoundTripsEveryField()
    {
        var profile = FullProfile();

        await SaveAsync(profile);
        var read = await Store.GetAsync(profile.Id, default);

        Assert.NotNull(read);
        AssertSame(profile, read);
    }

    [ContractFact]
    public async Task Save_ThenGet_RoundTripsChannelConsentsToTheTick()
    {
        var profile = NewProfile("consents", Now);
        var decidedAt = Now.AddTicks(1234567);
        JourneyRules.RecordConsent(profile, "purposes/marketing-email", new ChannelConsent(true, [ChannelKind.Email, ChannelKind.MobileApp], decidedAt));
        JourneyRules.RecordConsent(profile, "purposes/marketing-email", new ChannelConsent(false, [ChannelKind.Web], decidedAt.AddTicks(1)));
        JourneyRules.RecordConsent(profile, "purposes/marketing-sms", new ChannelConsent(false, [], decidedAt.AddTicks(1)));
        var plain = NewProfile("no-consents", Now);

        await SaveAsync(profile);
        await SaveAsync(plain);
        var read = (await Store.GetAsync(profile.Id, default))!;
        var readPlain = (await Store.GetAsync(plain.Id, default))!;

        AssertSameConsents(profile, read);
        Assert.Empty(readPlain.Consents);
    }

    [ContractFact]
    public async Task Save_WhenVersionStale_ThrowsConflictAndWritesNothing()
    {
        var profile = NewProfile("a", Now);
        await SaveAsync(profile, Claim(profile, Key(IdentifierKind.AnonymousId, "c1")));
        var stale = (await Store.GetAsync(profile.Id, default))!;
        var winner = (await Store.GetAsync(profile.Id, default))!;
        winner.Version = 2;
        await Store.SaveAsync(Changes([new SavedProfile(winner, 1)]), default);
        stale.Version = 2;
        stale.Traits["late"] = "yes";

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.SaveAsync(Changes([new SavedProfile(stale, 1)], claims: [new IdentifierClaim(Key(IdentifierKind.DeviceId, "d1"), profile.Id, null)]), default));

        Assert.DoesNotContain("late", (await Store.GetAsync(profile.Id, default))!.Traits.Keys);
        Assert.Null(await Store.FindAsync(Key(IdentifierKind.DeviceId, "d1"), default));
    }

    [ContractFact]
    public async Task Save_WhenFreeIdentifierWasClaimedByAnother_ThrowsAlreadyExistsAndRollsBack()
    {
        var first = NewProfile("a", Now);
        await SaveAsync(first, Claim(first, Key(IdentifierKind.Email, new string('e', 64))));
        var second = NewProfile("b", Now.AddSeconds(1));

        await Assert.ThrowsAsync<AlreadyExistsException>(() => SaveAsync(second, Claim(second, Key(IdentifierKind.Email, new string('e', 64)))));

        Assert.Null(await Store.GetAsync(second.Id, default));
        Assert.Equal(first.Id, (await Store.FindAsync(Key(IdentifierKind.Email, new string('e', 64)), default))!.Id);
    }

    [ContractFact]
    public async Task Save_WhenMovedIdentifierChangedOwner_ThrowsConflict()
    {
        var a = NewProfile("a", Now);
        var b = NewProfile("b", Now);
        await SaveAsync(a, Claim(a, Key(IdentifierKind.AnonymousId, "c1")));
        await SaveAsync(b);
        b.Version = 2;

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.SaveAsync(Changes([new SavedProfile(b, 1)], claims: [new IdentifierClaim(Key(IdentifierKind.AnonymousId, "c1"), b.Id, "someone-else")]), default));
    }

    [ContractFact]
    public async Task Load_ReturnsOwnersProfilesAndAliases()
    {
        var survivor = NewProfile("s", Now);
        var merged = NewProfile("m", Now);
        await SaveAsync(survivor, Claim(survivor, Key(IdentifierKind.CustomerId, "cust")));
        await SaveAsync(merged, Claim(merged, Key(IdentifierKind.AnonymousId, "cookie")));
        survivor.Version = 2;
        survivor.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.AnonymousId, "cookie"), Now));
        var merge = new ProfileMerge(survivor.Id, merged.Id, IdentifierKind.AnonymousId, Now, [Key(IdentifierKind.AnonymousId, "cookie")]);
        await Store.SaveAsync(Changes(
            [new SavedProfile(survivor, 1)],
            merged: [new MergedAway(merged.Id, 1, survivor.Id)],
            claims: [new IdentifierClaim(Key(IdentifierKind.AnonymousId, "cookie"), survivor.Id, merged.Id)],
            merges: [merge]), default);

        var snapshot = await Store.LoadAsync([Key(IdentifierKind.AnonymousId, "cookie"), Key(IdentifierKind.DeviceId, "none")], [merged.Id], default);

        Assert.Equal(new Dictionary<IdentifierKey, string> { [Key(IdentifierKind.AnonymousId, "cookie")] = survivor.Id }, snapshot.Owners);
        Assert.Equal([survivor.Id], snapshot.Profiles.Select(p => p.Id));
        Assert.Equal(survivor.Id, snapshot.Aliases[merged.Id]);
        Assert.Equal(survivor.Id, (await Store.GetAsync(merged.Id, default))!.Id);
        Assert.Equal([merged.Id], await Store.AliasesOfAsync(survivor.Id, default));
        var merges = await Store.ListMergesAsync(survivor.Id, 10, "", default);
        var stored = Assert.Single(merges.Items);
        Assert.Equal(merge.MovedIdentifiers, stored.MovedIdentifiers);
        Assert.Equal((merge.SurvivorId, merge.MergedId, merge.LinkedBy, merge.MergedAt), (stored.SurvivorId, stored.MergedId, stored.LinkedBy, stored.MergedAt));
    }

    [ContractFact]
    public async Task Merge_KeepsItsUndoDataAndTheMergedProfilesAliases_UntilSplit()
    {
        var first = NewProfile("1", Now);
        var second = NewProfile("2", Now);
        var third = NewProfile("3", Now);
        await SaveAsync(first);
        await SaveAsync(second, Claim(second, Key(IdentifierKind.CustomerId, "two")));
        await SaveAsync(third, Claim(third, Key(IdentifierKind.CustomerId, "three")));
        await Store.SaveAsync(Changes([], merged: [new MergedAway(first.Id, 1, second.Id)], merges: [new ProfileMerge(second.Id, first.Id, IdentifierKind.AnonymousId, Now, [])]), default);
        var before = (await Store.GetAsync(second.Id, default))!;
        before.Activity.Add(new ActivityEntry(1, new Interaction("", [Key(IdentifierKind.CustomerId, "two")], InteractionType.View, [JourneyStage.Awareness], 1, Now.AddTicks(3), "guide", ["suv"]), null));
        before.ActivitySeq = 1;
        before.OpenMerges = 1;
        var survivorBefore = (await Store.GetAsync(third.Id, default))!;
        var undo = new MergeUndo(survivorBefore, before);
        var merge = new ProfileMerge(third.Id, second.Id, IdentifierKind.ProfileId, Now.AddSeconds(1), [Key(IdentifierKind.CustomerId, "two")]) { Undo = undo };
        third.Version = 2;
        third.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.CustomerId, "two"), Now));
        await Store.SaveAsync(Changes(
            [new SavedProfile(third, 1)],
            merged: [new MergedAway(second.Id, 1, third.Id)],
            claims: [new IdentifierClaim(Key(IdentifierKind.CustomerId, "two"), third.Id, second.Id)],
            merges: [merge]), default);

        var latest = await Store.LatestMergeAsync(third.Id, default);
        var of = await Store.MergeOfAsync(second.Id, default);

        Assert.NotNull(latest);
        Assert.Equal(second.Id, latest.Merge.MergedId);
        Assert.Equal([first.Id], latest.MergedAliases);
        Assert.Equal(second.Id, of?.Merge.MergedId);
        var kept = latest.Merge.Undo!;
        Assert.Equal((third.Id, 1L), (kept.SurvivorBefore.Id, kept.SurvivorBefore.Version));
        Assert.Equal((second.Id, 1L), (kept.MergedBefore.Id, kept.MergedBefore.Version));
        Assert.Equal(1, kept.MergedBefore.OpenMerges);
        var entry = Assert.Single(kept.MergedBefore.Activity);
        Assert.Equal((1L, InteractionType.View, Now.AddTicks(3), "guide"), (entry.Seq, entry.Interaction!.Type, entry.Interaction.OccurredAt, entry.Interaction.Content));
        Assert.Equal([Key(IdentifierKind.CustomerId, "two")], entry.Identifiers);

        // The split: the restored profile comes back with its identifier and its earlier alias.
        var restored = kept.MergedBefore;
        restored.Version = 2;
        third.Version = 3;
        third.Identifiers.RemoveAll(h => h.Key == Key(IdentifierKind.CustomerId, "two"));
        await Store.SaveAsync(
            Changes(
                [new SavedProfile(third, 2), new SavedProfile(restored, 0)],
                claims: [new IdentifierClaim(Key(IdentifierKind.CustomerId, "two"), second.Id, third.Id)]) with
            {
                Splits = [new ProfileSplitRecord(third.Id, second.Id, [first.Id], merge.MergedAt, Now.AddMinutes(1), [Key(IdentifierKind.CustomerId, "two")])],
            },
            default);

        Assert.Equal(second.Id, (await Store.GetAsync(second.Id, default))!.Id);
        Assert.Equal(second.Id, (await Store.GetAsync(first.Id, default))!.Id);
        Assert.Equal(second.Id, (await Store.FindAsync(Key(IdentifierKind.CustomerId, "two"), default))!.Id);
        Assert.Empty(await Store.AliasesOfAsync(third.Id, default));
        Assert.Equal([first.Id], await Store.AliasesOfAsync(second.Id, default));
        Assert.Empty((await Store.ListMergesAsync(third.Id, 10, "", default)).Items);
        Assert.Equal([first.Id], (await Store.ListMergesAsync(second.Id, 10, "", default)).Items.Select(m => m.MergedId));
        Assert.Null(await Store.LatestMergeAsync(third.Id, default));
        Assert.Null(await Store.MergeOfAsync(second.Id, default));
        Assert.Single((await Store.GetAsync(second.Id, default))!.Activity);
    }

    [ContractFact]
    public async Task Split_WhenTheEdgeWasSplitAlready_ThrowsConflictAndWritesNothing()
    {
        var survivor = NewProfile("s", Now);
        var merged = NewProfile("m", Now);
        await SaveAsync(survivor);
        await SaveAsync(merged);
        await Store.SaveAsync(Changes([], merged: [new MergedAway(merged.Id, 1, survivor.Id)], merges: [new ProfileMerge(survivor.Id, merged.Id, IdentifierKind.ProfileId, Now, [])]), default);
        var split = new ProfileSplitRecord(survivor.Id, merged.Id, [], Now, Now.AddMinutes(1), []);
        await Store.SaveAsync(Changes([new SavedProfile(Copy(merged, 2), 0)]) with { Splits = [split] }, default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.SaveAsync(Changes([new SavedProfile(Copy(survivor, 2), 1)]) with { Splits = [split] }, default));

        Assert.Equal(1, (await Store.GetAsync(survivor.Id, default))!.Version);
    }

    [ContractFact]
    public async Task Erased_IsTrueOnlyForATombstoneHeld()
    {
        var profile = NewProfile("erased", Now);
        await SaveAsync(profile);

        await Store.EraseAsync(new ProfileErasure([profile.Id], [], [], _ => EventEnvelopes.Create(Topics.ErasureCompleted, ProfileModule.Name, new Google.Protobuf.WellKnownTypes.StringValue(), Now)) { Tombstones = [new ErasureTombstone("k-erased", Now, Now.AddDays(30))], ErasedAt = Now }, default);

        Assert.True(await Store.ErasedAsync("k-erased", default));
        Assert.False(await Store.ErasedAsync("k-other", default));
    }

    private static CustomerProfile Copy(CustomerProfile profile, long version)
    {
        var copy = profile.Clone();
        copy.Version = version;
        return copy;
    }

    [ContractFact]
    public async Task Merge_WhenSurvivorIsMergedAgain_OldAliasesAndMergesFollow()
    {
        var first = NewProfile("1", Now);
        var second = NewProfile("2", Now);
        var third = NewProfile("3", Now);
        await SaveAsync(first);
        await SaveAsync(second);
        await SaveAsync(third);
        await Store.SaveAsync(Changes([], merged: [new MergedAway(first.Id, 1, second.Id)], merges: [new ProfileMerge(second.Id, first.Id, IdentifierKind.AnonymousId, Now, [])]), default);

        await Store.SaveAsync(Changes([], merged: [new MergedAway(second.Id, 1, third.Id)], merges: [new ProfileMerge(third.Id, second.Id, IdentifierKind.DeviceId, Now.AddSeconds(1), [])]), default);

        Assert.Equal(third.Id, (await Store.GetAsync(first.Id, default))!.Id);
        Assert.Equal(new[] { first.Id, second.Id }.Order(StringComparer.Ordinal), (await Store.AliasesOfAsync(third.Id, default)).Order(StringComparer.Ordinal));
        var page1 = await Store.ListMergesAsync(third.Id, 1, "", default);
        var page2 = await Store.ListMergesAsync(third.Id, 1, page1.NextPageToken, default);
        Assert.Equal([second.Id], page1.Items.Select(m => m.MergedId));
        Assert.Equal([first.Id], page2.Items.Select(m => m.MergedId));
        Assert.Equal("", page2.NextPageToken);
    }

    [ContractFact]
    public async Task Save_ClaimsEventsOnceAndAppendsOutboxInTheSameTransaction()
    {
        var profile = NewProfile("a", Now);
        var message = EventEnvelopes.Create(ProfileTopics.ProfileUpdated, ProfileModule.Name, new Google.Protobuf.WellKnownTypes.StringValue { Value = "x" }, Now);
        await Store.SaveAsync(Changes([new SavedProfile(profile, 0)], outbox: [message]) with { Consumer = "c", EventIds = ["e1", "e2"] }, default);

        var unclaimed = await Store.UnclaimedAsync("c", ["e1", "e2", "e3"], default);
        var again = NewProfile("b", Now);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.SaveAsync(Changes([new SavedProfile(again, 0)], outbox: [message]) with { Consumer = "c", EventIds = ["e3", "e2"] }, default));

        Assert.Equal(["e3"], unclaimed);
        Assert.Null(await Store.GetAsync(again.Id, default));
        Assert.Equal([ProfileTopics.ProfileUpdated], await OutboxTopicsAsync());
    }

    [ContractFact]
    public async Task Release_RemovesTheIdentifier()
    {
        var profile = NewProfile("a", Now);
        await SaveAsync(profile, Claim(profile, Key(IdentifierKind.AdClickId, "g1")));
        profile.Version = 2;

        await Store.SaveAsync(Changes([new SavedProfile(profile, 1)], releases: [new IdentifierRelease(Key(IdentifierKind.AdClickId, "g1"), profile.Id)]), default);

        Assert.Null(await Store.FindAsync(Key(IdentifierKind.AdClickId, "g1"), default));
    }

    [ContractFact]
    public async Task Erase_RemovesEverythingAndPublishesTheCount()
    {
        var survivor = NewProfile("s", Now);
        var neighbour = NewProfile("n", Now);
        await SaveAsync(survivor, Claim(survivor, Key(IdentifierKind.CustomerId, "cust")), Claim(survivor, Key(IdentifierKind.Email, new string('f', 64))));
        await SaveAsync(neighbour);
        await Segments.CreateAsync(new Segment("all", "All", Rule(), Now), default);
        await Store.SaveAsync(Changes([], memberships: [new MembershipChange("all", survivor.Id, true)], merges: [new ProfileMerge(survivor.Id, "gone", IdentifierKind.AnonymousId, Now, [])], merged: [new MergedAway("gone", 0, survivor.Id)]), default);
        neighbour.Version = 2;
        long? published = null;

        var erased = await Store.EraseAsync(new ProfileErasure([survivor.Id], [new SavedProfile(neighbour, 1)], [], count =>
        {
            published = count;
            return EventEnvelopes.Create(Topics.ErasureCompleted, ProfileModule.Name, new Google.Protobuf.WellKnownTypes.StringValue(), Now);
        }), default);

        Assert.Equal(6, erased);
        Assert.Equal(erased, published);
        Assert.Null(await Store.GetAsync(survivor.Id, default));
        Assert.Null(await Store.GetAsync("gone", default));
        Assert.Null(await Store.FindAsync(Key(IdentifierKind.CustomerId, "cust"), default));
        Assert.Empty((await Store.ListMergesAsync(survivor.Id, 10, "", default)).Items);
        Assert.Empty((await Segments.ListMembersAsync("all", 10, "", default)).Items);
        Assert.Equal(2, (await Store.GetAsync(neighbour.Id, default))!.Version);
        Assert.Contains(Topics.ErasureCompleted, await OutboxTopicsAsync());
    }

    [ContractFact]
    public async Task Erase_LeavesTombstonesThatBlockWritesOfEventsStampedBeforeTheyEnd()
    {
        var erased = NewProfile("e", Now);
        await SaveAsync(erased, Claim(erased, Key(IdentifierKind.CustomerId, "cust")));
        var until = Now.AddHours(1);
        await Store.EraseAsync(new ProfileErasure([erased.Id], [], [], _ => EventEnvelopes.Create(Topics.ErasureCompleted, ProfileModule.Name, new Google.Protobuf.WellKnownTypes.StringValue(), Now))
        {
            Tombstones = [new ErasureTombstone("tomb-cust", until, until.AddDays(30))],
            ErasedAt = Now,
        }, default);
        var back = NewProfile("b", Now);
        back.Version = 1;
        back.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.CustomerId, "cust"), Now));
        ProfileChangeSet Returning(DateTimeOffset stampedAt) =>
            Changes([new SavedProfile(back, 0)], claims: [new IdentifierClaim(Key(IdentifierKind.CustomerId, "cust"), back.Id, null)]) with
            {
                ErasureChecks = [new ErasureCheck("tomb-other", Now), new ErasureCheck("tomb-cust", stampedAt)],
            };

        var blocked = await Assert.ThrowsAsync<ErasedIdentifiersException>(() => Store.SaveAsync(Returning(until), default));
        Assert.Equal(until, blocked.Found["tomb-cust"]);
        Assert.False(blocked.Found.ContainsKey("tomb-other"));
        Assert.Null(await Store.GetAsync(back.Id, default));
        Assert.Null(await Store.FindAsync(Key(IdentifierKind.CustomerId, "cust"), default));

        await Store.SaveAsync(Returning(until.AddMilliseconds(1)), default);
        Assert.Equal(back.Id, (await Store.FindAsync(Key(IdentifierKind.CustomerId, "cust"), default))?.Id);
    }

    [ContractFact]
    public async Task VisitAudience_OfAStage_VisitsOnlyThatStage()
    {
        var a = NewProfile("a", Now);
        a.Stage = JourneyStage.Evaluation;
        var b = NewProfile("b", Now);
        b.Stage = JourneyStage.Awareness;
        await SaveAsync(a);
        await SaveAsync(b);

        var visited = new List<string>();
        await Store.VisitAudienceAsync(null, JourneyStage.Evaluation, p => visited.Add(p.Id), default);

        Assert.Equal([a.Id], visited);
    }

    [ContractFact]
    public async Task VisitAudience_StreamsSegmentMembersOrAStage()
    {
        await Segments.CreateAsync(new Segment("vip", "VIP", Rule(), Now), default);
        var a = NewProfile("va", Now);
        a.Stage = JourneyStage.Evaluation;
        var b = NewProfile("vb", Now);
        b.Stage = JourneyStage.Evaluation;
        var c = NewProfile("vc", Now);
        c.Stage = JourneyStage.Awareness;
        await SaveAsync(a);
        await SaveAsync(b);
        await SaveAsync(c);
        await Store.SaveAsync(Changes([], memberships: [new MembershipChange("vip", a.Id, true), new MembershipChange("vip", c.Id, true)]), default);
        var members = new List<string>();
        var evaluation = new List<string>();

        await Store.VisitAudienceAsync("vip", JourneyStage.Unspecified, p => members.Add(p.Id), default);
        await Store.VisitAudienceAsync(null, JourneyStage.Evaluation, p => evaluation.Add(p.Id), default);

        Assert.Equal(new[] { a.Id, c.Id }.Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { a.Id, b.Id }.Order(StringComparer.Ordinal), evaluation.Order(StringComparer.Ordinal));
    }

    [ContractFact]
    public async Task List_PagesAllProfilesById()
    {
        var profiles = Enumerable.Range(0, 5).Select(i => NewProfile($"l{i}", Now)).ToList();
        foreach (var profile in profiles)
        {
            await SaveAsync(profile);
        }

        var first = await Store.ListAsync("", 3, default);
        var rest = await Store.ListAsync(first[^1].Id, 3, default);

        Assert.Equal(profiles.Select(p => p.Id).Order(StringComparer.Ordinal), first.Concat(rest).Select(p => p.Id));
        Assert.Equal(3, first.Count);
    }

    [ContractFact]
    public async Task Segments_CreateGetListDeleteAndMembers()
    {
        var rule = new AllRule([Rule(), new NotRule(new ConditionRule(SegmentField.Trait, "fleet", SegmentOperator.Exists, new RuleValue(RuleValueKind.None)))]);
        await Segments.CreateAsync(new Segment("b", "B", rule, Now), default);
        await Segments.CreateAsync(new Segment("a", "A", Rule(), Now), default);
        await Segments.CreateAsync(new Segment("c", "C", Rule(), Now), default);

        await Assert.ThrowsAsync<AlreadyExistsException>(() => Segments.CreateAsync(new Segment("a", "again", Rule(), Now), default));
        var read = await Segments.GetAsync("b", default);
        var page1 = await Segments.ListAsync(2, "", default);
        var page2 = await Segments.ListAsync(2, page1.NextPageToken, default);
        var profiles = Enumerable.Range(0, 3).Select(i => NewProfile($"m{i}", Now)).ToList();
        foreach (var profile in profiles)
        {
            await SaveAsync(profile);
        }

        await Store.SaveAsync(Changes([], memberships: [.. profiles.Select(p => new MembershipChange("a", p.Id, true)), new MembershipChange("missing", profiles[0].Id, true)]), default);
        await Store.SaveAsync(Changes([], memberships: [new MembershipChange("a", profiles[1].Id, false)]), default);
        var members1 = await Segments.ListMembersAsync("a", 1, "", default);
        var members2 = await Segments.ListMembersAsync("a", 1, members1.NextPageToken, default);

        Assert.Equal(RuleText(rule), RuleText(read!.Rule));
        Assert.Equal(("B", Now), (read.DisplayName, read.CreatedAt));
        Assert.Equal(["a", "b"], page1.Items.Select(s => s.Id));
        Assert.Equal(["c"], page2.Items.Select(s => s.Id));
        var remaining = new[] { profiles[0].Id, profiles[2].Id }.Order(StringComparer.Ordinal).ToList();
        Assert.Equal([remaining[0]], members1.Items);
        Assert.Equal([remaining[1]], members2.Items);
        Assert.Equal("", members2.NextPageToken);
        Assert.True(await Segments.DeleteAsync("a", default));
        Assert.False(await Segments.DeleteAsync("a", default));
        Assert.Empty((await Segments.ListMembersAsync("a", 10, "", default)).Items);
        Assert.Equal(["b", "c"], (await Segments.ListAllAsync(default)).Select(s => s.Id));
    }

    [ContractFact]
    public async Task Segments_DeleteOfALargeSegment_RemovesEveryMemberAndASegmentCreatedAgainStartsEmpty()
    {
        await Segments.CreateAsync(new Segment("big", "Big", Rule(), Now), default);
        await Segments.CreateAsync(new Segment("other", "Other", Rule(), Now), default);
        var ids = Enumerable.Range(0, 2500).Select(i => NewProfile($"b{i}", Now).Id).ToList();
        foreach (var chunk in ids.Chunk(500))
        {
            await Store.SaveAsync(Changes([], memberships: [.. chunk.Select(id => new MembershipChange("big", id, true))]), default);
        }

        await Store.SaveAsync(Changes([], memberships: [new MembershipChange("other", ids[0], true)]), default);

        Assert.True(await Segments.DeleteAsync("big", default));
        await Segments.CreateAsync(new Segment("big", "Big again", Rule(), Now), default);

        Assert.Empty((await Segments.ListMembersAsync("big", 10, "", default)).Items);
        Assert.Equal([ids[0]], (await Segments.ListMembersAsync("other", 10, "", default)).Items);
    }

    private static string RuleText(SegmentRule rule) => rule switch
    {
        AllRule all => "all(" + string.Join(",", all.Rules.Select(r => RuleText(r!))) + ")",
        AnyRule any => "any(" + string.Join(",", any.Rules.Select(r => RuleText(r!))) + ")",
        NotRule not => "not(" + RuleText(not.Rule!) + ")",
        ConditionRule c => c.ToString(),
        _ => "?",
    };

    private static ConditionRule Rule() => new(SegmentField.Readiness, "", SegmentOperator.GreaterOrEqual, new RuleValue(RuleValueKind.Number, Number: 10));

    protected static IdentifierKey Key(IdentifierKind kind, string value) => new(kind, value);

    private static IdentifierClaim Claim(CustomerProfile profile, IdentifierKey key)
    {
        profile.Identifiers.Add(new HeldIdentifier(key, Now));
        return new IdentifierClaim(key, profile.Id, null);
    }

    private Task SaveAsync(CustomerProfile profile, params IdentifierClaim[] claims)
    {
        profile.Version = 1;
        return Store.SaveAsync(Changes([new SavedProfile(profile, 0)], claims: claims), default);
    }

    private static ProfileChangeSet Changes(
        IReadOnlyList<SavedProfile> saved,
        IReadOnlyList<MergedAway>? merged = null,
        IReadOnlyList<IdentifierClaim>? claims = null,
        IReadOnlyList<IdentifierRelease>? releases = null,
        IReadOnlyList<ProfileMerge>? merges = null,
        IReadOnlyList<MembershipChange>? memberships = null,
        IReadOnlyList<OutboxMessage>? outbox = null) =>
        new(saved, merged ?? [], claims ?? [], releases ?? [], merges ?? [], memberships ?? [], outbox ?? []);

    // The time part of a UUIDv7 and a fixed middle: ids made at one instant sort by their suffix, as paging tests expect.
    protected static CustomerProfile NewProfile(string suffix, DateTimeOffset at) =>
        new(Guid.CreateVersion7(at).ToString("N")[..12] + "7000a0000000" + suffix.PadLeft(8, '0'), at);

    private static CustomerProfile FullProfile()
    {
        var profile = NewProfile("full", Now);
        profile.UpdatedAt = Now.AddMinutes(5);
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.CustomerId, "c-1"), Now));
        profile.Identifiers.Add(new HeldIdentifier(Key(IdentifierKind.Email, new string('a', 64)), Now.AddSeconds(1)));
        profile.LastIdentifiedAt = Now.AddSeconds(2);
        profile.Traits["preferred_model"] = "estate";
        profile.Traits["email"] = "ciphertext";
        profile.Stage = JourneyStage.Ownership;
        profile.StageHistory.Add(new StageEntry(JourneyStage.Awareness, Now));
        profile.StageHistory.Add(new StageEntry(JourneyStage.Ownership, Now.AddDays(1)));
        profile.Interests["suv"] = new DecayingScore(1.25, Now.AddTicks(12345));
        profile.Engagement = new DecayingScore(31.5, Now.AddTicks(777));
        profile.OpenServiceTickets = 2;
        profile.AbandonedCart = true;
        profile.ProfilingAllowed = false;
        profile.Purchases = 3;
        JourneyRules.RecordConsent(profile, "purposes/marketing-email", new ChannelConsent(false, [ChannelKind.Email], Now.AddTicks(4321)));
        profile.Channels[1] = 4;
        profile.Channels[6] = 1;
        profile.ConsumedContents.Add(new ConsumedContent("guide", Now.AddHours(1)));
        profile.Conflicts.Add(new IdentityConflict("other", IdentifierKind.AnonymousId, Now.AddHours(2)));
        profile.Segments.Add("hot");
        profile.LastInteractionAt = Now.AddHours(3);
        return profile;
    }

    private static void AssertSame(CustomerProfile expected, CustomerProfile actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(1, actual.Version);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.UpdatedAt, actual.UpdatedAt);
        Assert.Equal(expected.Identifiers, actual.Identifiers);
        Assert.Equal(expected.LastIdentifiedAt, actual.LastIdentifiedAt);
        Assert.Equal(expected.Traits, actual.Traits);
        Assert.Equal(expected.Stage, actual.Stage);
        Assert.Equal(expected.StageHistory, actual.StageHistory);
        Assert.Equal(expected.Interests, actual.Interests);
        Assert.Equal(expected.Engagement, actual.Engagement);
        Assert.Equal(expected.OpenServiceTickets, actual.OpenServiceTickets);
        Assert.Equal(expected.AbandonedCart, actual.AbandonedCart);
        Assert.Equal(expected.ProfilingAllowed, actual.ProfilingAllowed);
        Assert.Equal(expected.Purchases, actual.Purchases);
        AssertSameConsents(expected, actual);
        Assert.Equal(expected.Channels, actual.Channels);
        Assert.Equal(expected.ConsumedContents, actual.ConsumedContents);
        Assert.Equal(expected.Conflicts, actual.Conflicts);
        Assert.Equal(expected.Segments, actual.Segments);
        Assert.Equal(expected.LastInteractionAt, actual.LastInteractionAt);
    }

    private static void AssertSameConsents(CustomerProfile expected, CustomerProfile actual)
    {
        Assert.Equal(expected.Consents.Keys.Order(StringComparer.Ordinal), actual.Consents.Keys.Order(StringComparer.Ordinal));
        foreach (var (purpose, consent) in expected.Consents)
        {
            var read = actual.Consents[purpose].Decisions;
            Assert.Equal(consent.Decisions.Count, read.Count);
            foreach (var (decision, stored) in consent.Decisions.Zip(read))
            {
                Assert.Equal(decision.Granted, stored.Granted);
                Assert.Equal(decision.Channels, stored.Channels);
                Assert.Equal(decision.DecidedAt, stored.DecidedAt);
            }
        }
    }
}
