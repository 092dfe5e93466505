using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class MergeSplitterTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly ProfileOptions Options = new();
    private static readonly IdentifierKey Crm = new(IdentifierKind.CustomerId, "crm-4711");
    private static readonly IdentifierKey Shop = new(IdentifierKind.CustomerId, "shop-88");
    private static readonly IdentifierKey CrmCookie = new(IdentifierKind.AnonymousId, "crm-laptop");
    private static readonly IdentifierKey ShopCookie = new(IdentifierKind.AnonymousId, "shop-phone");
    private static readonly IdentifierKey ShopTablet = new(IdentifierKind.DeviceId, "shop-tablet");
    private int _ids;

    [Fact]
    public void Split_AfterMergeAndActivity_GivesEachSideWhatARunThatNeverMergedHas()
    {
        var (survivor, merged) = People();
        var neverSurvivor = survivor.Clone();
        var neverMerged = merged.Clone();
        var after = AfterTheMerge();

        var workspace = Workspace(survivor, merged);
        var merge = workspace.MergeByOperator(survivor.Id, merged.Id, Now);
        var current = workspace.Find(survivor.Id)!;
        foreach (var interaction in after)
        {
            // What the use case does: resolve (a new device of the shop customer attaches to the survivor), apply, journal.
            foreach (var key in interaction.Identifiers.Where(k => !current.Holds(k)))
            {
                current.Identifiers.Add(new HeldIdentifier(key, interaction.OccurredAt));
            }

            JourneyRules.Apply(current, interaction, Options);
            current.Journal(interaction, null, Options.SplitActivityLimit);
        }

        foreach (var interaction in after)
        {
            var own = interaction.Identifiers.Contains(Crm) || interaction.Identifiers.Contains(CrmCookie) ? neverSurvivor : neverMerged;
            foreach (var key in interaction.Identifiers.Where(k => !own.Holds(k)))
            {
                own.Identifiers.Add(new HeldIdentifier(key, interaction.OccurredAt));
            }

            JourneyRules.Apply(own, interaction, Options);
        }

        var outcome = MergeSplitter.Split(current, new MergeEdge(merge, []), Options, JourneyRules.ProfilingPurpose);

        AssertSameJourney(neverSurvivor, outcome.Survivor);
        AssertSameJourney(neverMerged, outcome.Restored);
        Assert.Equal([Shop, ShopCookie, ShopTablet], outcome.RestoredIdentifiers);
        Assert.Equal(0, outcome.Survivor.OpenMerges);
        Assert.Empty(outcome.Survivor.Activity);
        Assert.Equal("estate", outcome.Restored.Traits["preferred_model"]);
        Assert.False(outcome.Survivor.Traits.ContainsKey("preferred_model"));
        Assert.Empty(outcome.Restored.Segments);
    }

    [Fact]
    public void Split_WhenActivityNamesNeitherSide_LeavesItWithTheSurvivor()
    {
        var (survivor, merged) = People();
        var workspace = Workspace(survivor, merged);
        var merge = workspace.MergeByOperator(survivor.Id, merged.Id, Now);
        var current = workspace.Find(survivor.Id)!;
        var stranger = new IdentifierKey(IdentifierKind.AdClickId, "gclid-1");
        var purchase = new Interaction("", [stranger], InteractionType.Purchase, [JourneyStage.Purchase], 6, Now.AddHours(1), "", []);
        current.Identifiers.Add(new HeldIdentifier(stranger, purchase.OccurredAt));
        JourneyRules.Apply(current, purchase, Options);
        current.Journal(purchase, null, Options.SplitActivityLimit);

        var outcome = MergeSplitter.Split(current, new MergeEdge(merge, []), Options, JourneyRules.ProfilingPurpose);

        Assert.Equal(1, outcome.Survivor.Purchases);
        Assert.Equal(0, outcome.Restored.Purchases);
        Assert.True(outcome.Survivor.Holds(stranger));
        Assert.False(outcome.Restored.Holds(stranger));
    }

    [Fact]
    public void Split_WhenConsentWasDecidedThroughTheRestoredSide_GivesTheDecisionBack()
    {
        var (survivor, merged) = People();
        var workspace = Workspace(survivor, merged);
        var merge = workspace.MergeByOperator(survivor.Id, merged.Id, Now);
        var current = workspace.Find(survivor.Id)!;
        var withdrawal = new ConsentDecision("", [Shop], JourneyRules.ProfilingPurpose, false, [], Now.AddHours(1), Now.AddHours(1));
        JourneyRules.SetProfilingAllowed(current, false);
        current.Journal(null, withdrawal, Options.SplitActivityLimit);

        var outcome = MergeSplitter.Split(current, new MergeEdge(merge, []), Options, JourneyRules.ProfilingPurpose);

        Assert.True(outcome.Survivor.ProfilingAllowed);
        Assert.NotEmpty(outcome.Survivor.Interests);
        Assert.False(outcome.Restored.ProfilingAllowed);
    }

    [Fact]
    public void Merge_KeepsBothSidesAsTheyWereAndJournalsSinceThen()
    {
        var (survivor, merged) = People();
        var workspace = Workspace(survivor, merged);

        var merge = workspace.MergeByOperator(survivor.Id, merged.Id, Now);

        var undo = Assert.IsType<MergeUndo>(merge.Undo);
        Assert.Equal([Crm, CrmCookie], undo.SurvivorBefore.Identifiers.Select(h => h.Key));
        Assert.Equal([Shop, ShopCookie], undo.MergedBefore.Identifiers.Select(h => h.Key));
        Assert.Equal(1, workspace.Find(survivor.Id)!.OpenMerges);
        Assert.Equal(0, undo.ActivitySeqBefore);
    }

    [Fact]
    public void Journal_PastItsLimit_DropsTheOldestAndRemembersHowFarItDropped()
    {
        var profile = new CustomerProfile("p", Now) { OpenMerges = 1 };
        var view = new Interaction("", [Crm], InteractionType.View, [], 1, Now, "", []);

        for (var i = 0; i < 5; i++)
        {
            profile.Journal(view, null, limit: 3);
        }

        Assert.Equal([3L, 4L, 5L], profile.Activity.Select(a => a.Seq));
        Assert.Equal(2, profile.ActivityDropped);
    }

    [Fact]
    public void Journal_WithoutAMergeToUndo_KeepsNothing()
    {
        var profile = new CustomerProfile("p", Now);

        profile.Journal(new Interaction("", [Crm], InteractionType.View, [], 1, Now, "", []), null, limit: 3);

        Assert.Empty(profile.Activity);
        Assert.Equal(0, profile.ActivitySeq);
    }

    private (CustomerProfile Survivor, CustomerProfile Merged) People()
    {
        var survivor = Profile(Now.AddDays(-10), Crm, CrmCookie);
        JourneyRules.Apply(survivor, new Interaction("", [Crm], InteractionType.View, [JourneyStage.Consideration], 1, Now.AddDays(-9), "", ["suv"]), Options);
        var merged = Profile(Now.AddDays(-8), Shop, ShopCookie);
        merged.Traits["preferred_model"] = "estate";
        JourneyRules.Apply(merged, new Interaction("", [Shop], InteractionType.CartAdd, [JourneyStage.Evaluation], 12, Now.AddDays(-7), "", ["estate"]), Options);
        merged.Segments.Add("hot-leads");
        return (survivor, merged);
    }

    private static List<Interaction> AfterTheMerge() =>
    [
        new("", [Crm], InteractionType.ContentConsumed, [JourneyStage.Consideration], 1, Now.AddHours(1), "suv-guide", ["suv"]),
        new("", [ShopCookie], InteractionType.View, [JourneyStage.Awareness], 1, Now.AddHours(2), "", ["estate"]),
        new("", [ShopCookie, ShopTablet], InteractionType.TestDriveBooked, [JourneyStage.Evaluation], 6, Now.AddHours(3), "", ["estate"]),
        new("", [ShopTablet], InteractionType.Purchase, [JourneyStage.Purchase], 6, Now.AddHours(4), "", ["estate"]),
        new("", [CrmCookie], InteractionType.EmailOpen, [], 2, Now.AddHours(5), "", ["suv"]),
    ];

    private static void AssertSameJourney(CustomerProfile expected, CustomerProfile actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Identifiers.Select(h => h.Key).OrderBy(k => (k.Kind, k.Value)).ToList(), actual.Identifiers.Select(h => h.Key).OrderBy(k => (k.Kind, k.Value)).ToList());
        Assert.Equal(expected.Stage, actual.Stage);
        Assert.Equal(expected.StageHistory, actual.StageHistory);
        Assert.Equal(expected.Interests, actual.Interests);
        Assert.Equal(expected.Engagement, actual.Engagement);
        Assert.Equal(expected.Purchases, actual.Purchases);
        Assert.Equal(expected.AbandonedCart, actual.AbandonedCart);
        Assert.Equal(expected.Channels, actual.Channels);
        Assert.Equal(expected.ConsumedContents, actual.ConsumedContents);
        Assert.Equal(expected.LastInteractionAt, actual.LastInteractionAt);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
    }

    private CustomerProfile Profile(DateTimeOffset created, params IdentifierKey[] keys)
    {
        var profile = new CustomerProfile((++_ids).ToString("x32"), created) { Version = 1, LastIdentifiedAt = created };
        profile.Identifiers.AddRange(keys.Select(k => new HeldIdentifier(k, created)));
        return profile;
    }

    private static IdentityWorkspace Workspace(params CustomerProfile[] profiles) =>
        new(new IdentitySnapshot(new Dictionary<IdentifierKey, string>(), profiles, new Dictionary<string, string>()), Options, _ => Guid.NewGuid().ToString("N"));
}
