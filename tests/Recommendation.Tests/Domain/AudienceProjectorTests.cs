using Journey.Recommendation.Domain;
using Journey.Recommendation.Events;
using Journey.Recommendation.Storage;
using Journey.Shared.Privacy;
using Journey.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Recommendation.Tests.Domain;

/// <summary>
/// A store may run a write's callback more than once: MongoDB's driver runs it again after a
/// transient transaction error (a write conflict, a failover). Only the attempt that commits may
/// reach what the process keeps in memory.
/// </summary>
public sealed class AudienceProjectorTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TemporarySqlite _sqlite = new("recommendation");
    private readonly FakeTimeProvider _clock = new(Now);
    private readonly SqliteAudienceStore _store;

    public AudienceProjectorTests() => _store = new SqliteAudienceStore(_sqlite.Database);

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task ApplyInteractions_WhenTheStoreRunsTheTransactionAgain_AddsEachFeedbackToTheModelOnce()
    {
        var retrying = new RetryOnceStore(_store);
        using var learning = new LearningModel(retrying, Options.Create(new RecommendationOptions()), _clock);
        await learning.EnsureLoadedAsync(default);
        var record = new RecommendationRecord(Guid.CreateVersion7().ToString("N"), "7:p1", Stage.Evaluation, "", "default", ["guide"], Now);
        await _store.SaveRecommendationsAsync([record], default);
        var projector = new AudienceProjector(retrying, new RecommendationJournal(retrying, _clock), learning, new RecommendationEvents(), new ErasureTombstones(new IdentifierHasher(new byte[32]), Options.Create(new PrivacyOptions())), _clock);

        await projector.ApplyInteractionsAsync("recommendation.interaction-recorded",
        [
            new Incoming<InteractionFact>("i-1", new InteractionFact(["7:p1"], InteractionKind.RecommendationImpression, "guide", record.Id, Now)),
            new Incoming<InteractionFact>("i-2", new InteractionFact(["7:p1"], InteractionKind.RecommendationClick, "guide", record.Id, Now)),
        ], default);

        Assert.Equal(1, retrying.AbortedAttempts);
        Assert.Equal([new ItemStats("guide", Stage.Evaluation, 1, 1, 0)], (await _store.ReadItemStatsChangedAsync(0, default)).Rows);
        Assert.Equal((1L, 1L), learning.Get("guide", Stage.Evaluation));
    }

    [Fact]
    public async Task ApplyProfiles_WhenASecondCustomerSignsInWithTheFirstOnesCookie_KeepsEachOnesConsentAndHistory()
    {
        using var learning = new LearningModel(_store, Options.Create(new RecommendationOptions()), _clock);
        var projector = new AudienceProjector(_store, new RecommendationJournal(_store, _clock), learning, new RecommendationEvents(), new ErasureTombstones(new IdentifierHasher(new byte[32]), Options.Create(new PrivacyOptions())), _clock);
        const string Consumer = "recommendation.profile-updated";
        await projector.ApplyProfilesAsync(Consumer, [new Incoming<ProfileSnapshot>("u-1", new ProfileSnapshot("7:ann", ["1:c-ann", "4:cookie"], Stage.Evaluation, 40, [], 0, ["ann-brochure"], 1))], default);
        await projector.ApplyConsentAsync("recommendation.consent-changed", [new Incoming<ConsentDecision>("c-1", new ConsentDecision(["1:c-ann"], "purposes/marketing-email", true, []))], default);

        // Bob signs in in Ann's browser: the profile service keeps two known customers apart, the cookie follows Bob.
        await projector.ApplyProfilesAsync(Consumer, [new Incoming<ProfileSnapshot>("u-2", new ProfileSnapshot("7:bob", ["1:c-bob", "4:cookie"], Stage.Awareness, 5, [], 0, ["bob-video"], 1))], default);
        await projector.ApplyInteractionsAsync("recommendation.interaction-recorded", [new Incoming<InteractionFact>("i-1", new InteractionFact(["4:cookie", "1:c-bob"], InteractionKind.ContentConsumed, "bob-guide", "", Now))], default);
        // A third customer's first interaction in that browser reaches this service before any snapshot of hers.
        await projector.ApplyInteractionsAsync("recommendation.interaction-recorded", [new Incoming<InteractionFact>("i-2", new InteractionFact(["4:cookie", "1:c-cat"], InteractionKind.ContentConsumed, "cat-manual", "", Now))], default);

        var ann = (await _store.ReadContextAsync("web", ["7:ann"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person;
        var bob = (await _store.ReadContextAsync("web", ["7:bob"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person;
        var byAnnsCustomerId = (await _store.ReadContextAsync("web", ["1:c-ann"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person;
        var cat = (await _store.ReadContextAsync("web", ["1:c-cat"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person;

        Assert.Equal("7:ann", ann?.Key);
        Assert.Equal(["ann-brochure"], ann!.Consumed);
        Assert.True(ann.Allows("purposes/marketing-email", ChannelKind.Email));
        Assert.Equal("7:ann", byAnnsCustomerId?.Key);
        Assert.Equal("7:bob", bob?.Key);
        Assert.Equal(["bob-guide", "bob-video"], bob!.Consumed);
        Assert.False(bob.Allows("purposes/marketing-email", ChannelKind.Email));
        Assert.Equal(["cat-manual"], cat?.Consumed);
        Assert.NotEqual(bob.Key, cat!.Key);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ApplySplits_AfterMergeAndActivity_LeavesBothPeopleAsARunThatNeverMerged(bool snapshotsFirst)
    {
        using var learning = new LearningModel(_store, Options.Create(new RecommendationOptions()), _clock);
        var projector = new AudienceProjector(_store, new RecommendationJournal(_store, _clock), learning, new RecommendationEvents(), new ErasureTombstones(new IdentifierHasher(new byte[32]), Options.Create(new PrivacyOptions())), _clock);

        var split = await RunAsync(projector, "s", mergeAndSplit: true, snapshotsFirst);
        var never = await RunAsync(projector, "n", mergeAndSplit: false, snapshotsFirst);

        Assert.Equal(never.Crm, split.Crm);
        Assert.Equal(never.Shop, split.Shop);
        Assert.Equal("7:s-shop", (await _store.ReadContextAsync("web", ["4:s-shop-phone"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person?.Key);
    }

    [Fact]
    public async Task ApplyProfiles_WhenASnapshotOfAMergedProfileArrivesLate_LeavesTheSurvivorsPersonWhereItIs()
    {
        using var learning = new LearningModel(_store, Options.Create(new RecommendationOptions()), _clock);
        var projector = new AudienceProjector(_store, new RecommendationJournal(_store, _clock), learning, new RecommendationEvents(), new ErasureTombstones(new IdentifierHasher(new byte[32]), Options.Create(new PrivacyOptions())), _clock);
        const string Profiles = "recommendation.profile-updated";
        await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>("u-1", new ProfileSnapshot("7:keep", ["1:c-keep"], Stage.Evaluation, 40, [], 0, ["keep-guide"], 1))], default);
        await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>("u-2", new ProfileSnapshot("7:gone", ["4:cookie"], Stage.Awareness, 5, [], 0, [], 4))], default);
        await projector.ApplyMergesAsync("recommendation.profiles-merged", [new Incoming<ProfileMerge>("m-1", new ProfileMerge("7:keep", "7:gone", ["4:cookie"]))], default);

        // The merged profile's last snapshot before the merge, delivered after it: its version is its own, not the survivor's.
        await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>("u-3", new ProfileSnapshot("7:gone", ["4:cookie"], Stage.Awareness, 6, [], 0, [], 5))], default);

        var survivor = (await _store.ReadContextAsync("web", ["7:keep"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person;
        Assert.Equal("7:keep", survivor?.Key);
        Assert.Equal(Stage.Evaluation, survivor!.Stage);
        Assert.Equal("7:keep", (await _store.ReadContextAsync("web", ["4:cookie"], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person?.Key);
    }

    /// <summary>Two customers' person rows through a merge, activity and the split (or none of it), without the run's prefix.</summary>
    private async Task<(string Crm, string Shop)> RunAsync(AudienceProjector projector, string run, bool mergeAndSplit, bool snapshotsFirst)
    {
        const string Profiles = "recommendation.profile-updated";
        ProfileSnapshot Crm(long version, params string[] consumed) => new($"7:{run}-crm", [$"1:{run}-crm", $"4:{run}-crm-laptop"], Stage.Consideration, 20, [new Interest("suv", 0.5)], 0, consumed, version);
        ProfileSnapshot Shop(long version, params string[] consumed) => new($"7:{run}-shop", [$"1:{run}-shop", $"4:{run}-shop-phone"], Stage.Evaluation, 60, [new Interest("estate", 0.7)], 1, consumed, version);
        await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u1", Crm(1, "suv-video"))], default);
        await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u2", Shop(1, "estate-brochure"))], default);
        await projector.ApplyConsentAsync("recommendation.consent-changed", [new Incoming<ConsentDecision>($"{run}-c1", new ConsentDecision([$"1:{run}-crm"], "purposes/personalisation", true, []))], default);
        await projector.ApplyConsentAsync("recommendation.consent-changed", [new Incoming<ConsentDecision>($"{run}-c2", new ConsentDecision([$"1:{run}-shop"], "purposes/personalisation", true, []))], default);
        if (mergeAndSplit)
        {
            await projector.ApplyMergesAsync("recommendation.profiles-merged", [new Incoming<ProfileMerge>($"{run}-m1", new ProfileMerge($"7:{run}-crm", $"7:{run}-shop", [$"1:{run}-shop", $"4:{run}-shop-phone"]))], default);
            var merged = new ProfileSnapshot($"7:{run}-crm", [$"1:{run}-crm", $"4:{run}-crm-laptop", $"1:{run}-shop", $"4:{run}-shop-phone"], Stage.Evaluation, 70, [], 1, ["suv-guide", "suv-video", "estate-brochure"], 2);
            await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u3", merged)], default);
        }

        await projector.ApplyInteractionsAsync("recommendation.interaction-recorded", [new Incoming<InteractionFact>($"{run}-i1", new InteractionFact([$"1:{run}-crm"], InteractionKind.ContentConsumed, "suv-guide", "", Now))], default);
        var crmAfter = Crm(mergeAndSplit ? 3 : 2, "suv-guide", "suv-video");
        var shopAfter = Shop(2, "estate-brochure");
        if (mergeAndSplit)
        {
            var fact = new ProfileSplitFact(crmAfter, shopAfter, []);
            if (snapshotsFirst)
            {
                await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u4", crmAfter), new Incoming<ProfileSnapshot>($"{run}-u5", shopAfter)], default);
            }

            await projector.ApplySplitsAsync("recommendation.profile-split", [new Incoming<ProfileSplitFact>($"{run}-s1", fact)], default);
            if (!snapshotsFirst)
            {
                await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u4", crmAfter), new Incoming<ProfileSnapshot>($"{run}-u5", shopAfter)], default);
            }
        }
        else
        {
            await projector.ApplyProfilesAsync(Profiles, [new Incoming<ProfileSnapshot>($"{run}-u4", crmAfter), new Incoming<ProfileSnapshot>($"{run}-u5", shopAfter)], default);
        }

        // The consent service publishes the restored person's decisions again after its own split.
        await projector.ApplyConsentAsync("recommendation.consent-changed", [new Incoming<ConsentDecision>($"{run}-c3", new ConsentDecision([$"7:{run}-shop", $"1:{run}-shop"], "purposes/personalisation", true, []))], default);

        async Task<string> RowAsync(string key)
        {
            var person = (await _store.ReadContextAsync("web", [key], DateOnly.FromDateTime(Now.UtcDateTime), default)).Person!;
            var text = string.Join("|", person.Key, string.Join(",", person.IdentifierKeys.Order(StringComparer.Ordinal)), person.Stage, person.Readiness,
                string.Join(",", person.Interests.Select(i => $"{i.Topic}={i.Affinity}")), person.OpenServiceTickets, string.Join(",", person.Consumed), string.Join(",", person.AllowedPurposes.Order(StringComparer.Ordinal)));
            return text.Replace(run + "-", "", StringComparison.Ordinal);
        }

        return (await RowAsync($"7:{run}-crm"), await RowAsync($"7:{run}-shop"));
    }

    /// <summary>
    /// Runs every write's callback to its end, rolls that attempt back as a transient abort at commit
    /// would, and runs it again, as the MongoDB driver's WithTransaction does.
    /// </summary>
    private sealed class RetryOnceStore(IAudienceStore inner) : IAudienceStore
    {
        public int AbortedAttempts { get; private set; }

        public async Task<T> WriteAsync<T>(Func<IAudienceSession, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
        {
            try
            {
                await inner.WriteAsync<T>(async (session, ct) =>
                {
                    await work(session, ct);
                    throw new TransientAbort();
                }, cancellationToken);
            }
            catch (TransientAbort)
            {
                AbortedAttempts++;
            }

            return await inner.WriteAsync(work, cancellationToken);
        }

        public Task<AudienceContext> ReadContextAsync(string touchpointId, IReadOnlyList<string> identifierKeys, DateOnly day, CancellationToken cancellationToken) =>
            inner.ReadContextAsync(touchpointId, identifierKeys, day, cancellationToken);

        public Task<IReadOnlyList<AlsoConsumed>> ReadAlsoConsumedAsync(IReadOnlyList<string> seedIds, int perSeed, CancellationToken cancellationToken) =>
            inner.ReadAlsoConsumedAsync(seedIds, perSeed, cancellationToken);

        public Task SaveRecommendationsAsync(IReadOnlyList<RecommendationRecord> records, CancellationToken cancellationToken) => inner.SaveRecommendationsAsync(records, cancellationToken);

        public Task<RecommendationRecord?> GetRecommendationAsync(string id, CancellationToken cancellationToken) => inner.GetRecommendationAsync(id, cancellationToken);

        public Task<ItemStatsChanges> ReadItemStatsChangedAsync(long cursor, CancellationToken cancellationToken) => inner.ReadItemStatsChangedAsync(cursor, cancellationToken);

        public Task<IReadOnlyList<VariantCounts>> ReadVariantCountsAsync(string experimentId, CancellationToken cancellationToken) =>
            inner.ReadVariantCountsAsync(experimentId, cancellationToken);
    }

    private sealed class TransientAbort : Exception;
}
