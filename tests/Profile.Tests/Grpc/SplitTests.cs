using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

/// <summary>An operator's merge of two profiles, and the split that undoes it.</summary>
public sealed class SplitTests() : HostedTests<ProfileHost>(() => StartAsync())
{
    [Fact]
    public async Task MergeProfiles_WhenTwoKnownCustomersAreOnePerson_MovesEveryIdentifierAndDropsTheirConflict()
    {
        var crm = await Host.IdentifyAsync(Customer("crm-4711"), Email("dana@example.com"), Cookie("shared-laptop"));
        var shop = await Host.IdentifyAsync(Customer("shop-88"), Cookie("shared-laptop"));
        Assert.Equal([crm.Profile.Name], shop.ConflictingProfiles);

        var merged = await Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = crm.Profile.Name, Merged = shop.Profile.Name, Reason = "duplicate customer record, ticket 991" });

        Assert.Equal(crm.Profile.Name, merged.Profile.Name);
        Assert.Equal(2, merged.Profile.Identifiers.Count(i => i.Kind == IdentifierKind.CustomerId));
        Assert.DoesNotContain(merged.Profile.Conflicts, c => c.OtherProfile == shop.Profile.Name);
        Assert.Equal(crm.Profile.Name, (await Host.TryLookupAsync(Customer("shop-88")))!.Name);
        Assert.Equal(crm.Profile.Name, (await Host.GetAsync(shop.Profile.Name)).Name);
        var merge = Assert.Single((await Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = crm.Profile.Name })).Merges);
        Assert.Equal(shop.Profile.Name, merge.Merged);
        Assert.Equal(IdentifierKind.ProfileId, merge.LinkedBy);
    }

    [Fact]
    public async Task MergeProfiles_WhenInputIsWrong_SaysWhatToFix()
    {
        var one = await Host.IdentifyAsync(Customer("op-1"));
        var two = await Host.IdentifyAsync(Customer("op-2"));

        var noReason = await Assert.ThrowsAsync<RpcException>(() => Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = two.Profile.Name }).ResponseAsync);
        var badName = await Assert.ThrowsAsync<RpcException>(() => Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = "op-1", Merged = two.Profile.Name, Reason = "r" }).ResponseAsync);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = "profiles/" + new string('a', 32), Reason = "r" }).ResponseAsync);
        var same = await Assert.ThrowsAsync<RpcException>(() => Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = one.Profile.Name, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, noReason.StatusCode);
        Assert.Equal(["reason"], IdentityTests.Violations(noReason));
        Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
        Assert.Equal(["survivor"], IdentityTests.Violations(badName));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, same.StatusCode);
        Assert.Null((await Host.GetAsync(two.Profile.Name)).Identifiers.FirstOrDefault(i => i.Value == "op-1"));
    }

    [Fact]
    public async Task MergeProfiles_WithOnlyTheWriteScope_IsPermissionDenied()
    {
        var one = await Host.IdentifyAsync(Customer("scope-1"));
        var two = await Host.IdentifyAsync(Customer("scope-2"));
        var writer = new ProfileService.ProfileServiceClient(Host.Platform.CreateChannel("profiles:write", "profiles:read"));

        var error = await Assert.ThrowsAsync<RpcException>(() => writer.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = two.Profile.Name, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.NotEqual(one.Profile.Name, (await Host.GetAsync(two.Profile.Name)).Name);
    }

    [Fact]
    public async Task SplitProfile_AfterMergeAndActivity_LeavesBothPeopleAsARunThatNeverMerged()
    {
        var (splitCrm, splitShop) = await RunAsync("split", mergeAndSplit: true);
        var (neverCrm, neverShop) = await RunAsync("never", mergeAndSplit: false);

        Assert.Equal(Journey(neverCrm), Journey(splitCrm));
        Assert.Equal(Journey(neverShop), Journey(splitShop));
        Assert.Equal(Kinds(neverCrm), Kinds(splitCrm));
        Assert.Equal(Kinds(neverShop), Kinds(splitShop));
        Assert.Equal(splitShop.Name, (await Host.TryLookupAsync(Customer("shop-split")))!.Name);
        Assert.Equal(splitShop.Name, (await Host.TryLookupAsync(Device("shop-tablet-split")))!.Name);
        Assert.Equal(splitCrm.Name, (await Host.TryLookupAsync(Cookie("crm-laptop-split")))!.Name);
        Assert.Empty((await Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = splitCrm.Name })).Merges);
    }

    [Fact]
    public async Task SplitProfile_WhenAnonymousProfileWasMergedByALogin_GivesTheCookieItsOwnProfileBack()
    {
        await Host.IdentifyAsync(Customer("kiosk-user"));
        var visitor = await Host.IdentifyAsync(Cookie("kiosk"));
        var customer = await Host.IdentifyAsync(Customer("kiosk-user"), Cookie("kiosk"));
        Assert.Equal([visitor.Profile.Name], customer.MergedProfiles);

        var response = await Host.Client.SplitProfileAsync(new SplitProfileRequest { Name = customer.Profile.Name, Merged = visitor.Profile.Name, Reason = "shared kiosk, not one person" });

        Assert.Equal(visitor.Profile.Name, response.Restored.Name);
        Assert.Equal(["kiosk"], response.Restored.Identifiers.Select(i => i.Value));
        Assert.Equal(["kiosk-user"], response.Profile.Identifiers.Select(i => i.Value));
        Assert.Equal(visitor.Profile.Name, (await Host.GetAsync(visitor.Profile.Name)).Name);
    }

    [Fact]
    public async Task SplitProfile_WhenInputIsWrong_SaysWhatToFix()
    {
        var (survivor, merged) = await MergedPairAsync("input");

        var noReason = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = merged });
        var badName = await SplitErrorAsync(new SplitProfileRequest { Name = "input", Merged = merged, Reason = "r" });
        var badEtag = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Etag = "v7", Reason = "r" });

        Assert.Equal(StatusCode.InvalidArgument, noReason.StatusCode);
        Assert.Equal(["reason"], IdentityTests.Violations(noReason));
        Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
        Assert.Equal(["name"], IdentityTests.Violations(badName));
        Assert.Equal(StatusCode.InvalidArgument, badEtag.StatusCode);
        Assert.Equal(["etag"], IdentityTests.Violations(badEtag));
    }

    [Fact]
    public async Task SplitProfile_WhenNoSuchMergeOrProfile_IsNotFound()
    {
        var one = await Host.IdentifyAsync(Customer("nf-1"));
        var two = await Host.IdentifyAsync(Customer("nf-2"));

        var notMerged = await SplitErrorAsync(new SplitProfileRequest { Name = one.Profile.Name, Merged = two.Profile.Name, Reason = "r" });
        var noProfile = await SplitErrorAsync(new SplitProfileRequest { Name = "profiles/" + new string('a', 32), Merged = two.Profile.Name, Reason = "r" });

        Assert.Equal(StatusCode.NotFound, notMerged.StatusCode);
        Assert.Equal(StatusCode.NotFound, noProfile.StatusCode);
    }

    [Fact]
    public async Task SplitProfile_WhenANewerMergeCameAfter_IsFailedPreconditionNamingItThenWorksInOrder()
    {
        var (survivor, first) = await MergedPairAsync("order");
        var second = (await Host.IdentifyAsync(Customer("order-3"))).Profile.Name;
        await Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = survivor, Merged = second, Reason = "duplicate record" });

        var error = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = first, Reason = "r" });

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(second, error.Status.Detail);
        await Host.Client.SplitProfileAsync(new SplitProfileRequest { Name = survivor, Merged = second, Reason = "r" });
        var back = await Host.Client.SplitProfileAsync(new SplitProfileRequest { Name = survivor, Merged = first, Reason = "r" });
        Assert.Equal(first, back.Restored.Name);
    }

    [Fact]
    public async Task SplitProfile_WhenTheSurvivorWasMergedIntoAnother_IsFailedPreconditionNamingIt()
    {
        var (survivor, merged) = await MergedPairAsync("chain");
        var outer = (await Host.IdentifyAsync(Customer("chain-outer"))).Profile.Name;
        await Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = outer, Merged = survivor, Reason = "duplicate record" });

        var error = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Reason = "r" });

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(outer, error.Status.Detail);
    }

    [Fact]
    public async Task SplitProfile_WhenEtagIsStale_IsAbortedAndChangesNothing()
    {
        var (survivor, merged) = await MergedPairAsync("etag");
        var version = (await Host.GetAsync(survivor)).Version;

        var error = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Etag = (version - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Reason = "r" });

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal(survivor, (await Host.GetAsync(merged)).Name);
        var current = await Host.Client.SplitProfileAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Etag = version.ToString(System.Globalization.CultureInfo.InvariantCulture), Reason = "r" });
        Assert.Equal(version + 1, current.Profile.Version);
    }

    [Fact]
    public async Task SplitProfile_WhenTheProfileWasErased_IsFailedPrecondition()
    {
        var (survivor, merged) = await MergedPairAsync("erased");
        await Host.Client.EraseProfileAsync(new EraseProfileRequest { Person = Persons.Profile(survivor) });

        var error = await SplitErrorAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Reason = "r" });

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("erased", error.Status.Detail);
    }

    [Fact]
    public async Task SplitProfile_WhenMoreActivityCameSinceThanIsKept_IsFailedPrecondition()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Journey:Profile:SplitActivityLimit"] = "1" });
        var survivor = await host.IdentifyAsync(Customer("busy-1"));
        var merged = await host.IdentifyAsync(Customer("busy-2"));
        await host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = survivor.Profile.Name, Merged = merged.Profile.Name, Reason = "duplicate record" });
        var at = host.Clock.GetUtcNow();
        await host.RecordAsync(Customer("busy-1"), Interaction(Customer("busy-1"), InteractionType.View, at.AddMinutes(-2)), Interaction(Customer("busy-2"), InteractionType.View, at.AddMinutes(-1)));

        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.SplitProfileAsync(new SplitProfileRequest { Name = survivor.Profile.Name, Merged = merged.Profile.Name, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("SplitActivityLimit", error.Status.Detail);
    }

    [Fact]
    public async Task SplitProfile_WithOnlyTheWriteScope_IsPermissionDenied()
    {
        var (survivor, merged) = await MergedPairAsync("scope");
        var writer = new ProfileService.ProfileServiceClient(Host.Platform.CreateChannel("profiles:write", "profiles:read"));

        var error = await Assert.ThrowsAsync<RpcException>(() => writer.SplitProfileAsync(new SplitProfileRequest { Name = survivor, Merged = merged, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal(survivor, (await Host.GetAsync(merged)).Name);
    }

    private static Identifier Device(string value) => Id(IdentifierKind.DeviceId, value);

    /// <summary>Two known customers with activity before, an operator merge (or none), activity through either side after, and the split.</summary>
    private async Task<(Profile.V1.Profile Crm, Profile.V1.Profile Shop)> RunAsync(string run, bool mergeAndSplit)
    {
        var crm = (await Host.IdentifyAsync(Customer("crm-" + run), Cookie("crm-laptop-" + run))).Profile;
        var shop = (await Host.IdentifyAsync(Customer("shop-" + run), Cookie("shop-phone-" + run))).Profile;
        var at = Host.Clock.GetUtcNow();
        await Host.RecordAsync(Customer("crm-" + run), Interaction(Customer("crm-" + run), InteractionType.View, at.AddMinutes(-60), [JourneyStage.Consideration], ["suv"]));
        await Host.RecordAsync(Customer("shop-" + run), Interaction(Customer("shop-" + run), InteractionType.CartAdd, at.AddMinutes(-55), [JourneyStage.Evaluation], ["estate"]));
        if (mergeAndSplit)
        {
            await Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = crm.Name, Merged = shop.Name, Reason = "looked like one household" });
        }

        var shopTablet = Interaction(Cookie("shop-phone-" + run), InteractionType.TestDriveBooked, at.AddMinutes(-30), [JourneyStage.Evaluation], ["estate"]);
        shopTablet.Identifiers.Add(Device("shop-tablet-" + run));
        await Host.RecordAsync(Cookie("shop-phone-" + run), shopTablet);
        await Host.RecordAsync(Customer("crm-" + run), Interaction(Customer("crm-" + run), InteractionType.ContentConsumed, at.AddMinutes(-20), [JourneyStage.Consideration], ["suv"], content: "suv-guide"));
        await Host.RecordAsync(Device("shop-tablet-" + run), Interaction(Device("shop-tablet-" + run), InteractionType.EmailOpen, at.AddMinutes(-10), [], ["estate"], channel: Channel.Email));
        if (mergeAndSplit)
        {
            await Host.Client.SplitProfileAsync(new SplitProfileRequest { Name = crm.Name, Merged = shop.Name, Reason = "two people after all" });
        }

        return (await Host.GetAsync(crm.Name), await Host.GetAsync(shop.Name));
    }

    private async Task<(string Survivor, string Merged)> MergedPairAsync(string prefix)
    {
        var survivor = (await Host.IdentifyAsync(Customer(prefix + "-1"))).Profile.Name;
        var merged = (await Host.IdentifyAsync(Customer(prefix + "-2"))).Profile.Name;
        await Host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = survivor, Merged = merged, Reason = "duplicate record" });
        return (survivor, merged);
    }

    private async Task<RpcException> SplitErrorAsync(SplitProfileRequest request) =>
        await Assert.ThrowsAsync<RpcException>(() => Host.Client.SplitProfileAsync(request).ResponseAsync);

    /// <summary>The journey as a run without the merge would hold it: everything but names, identifiers, versions and times of writes.</summary>
    private static Profile.V1.Profile Journey(Profile.V1.Profile profile)
    {
        var journey = profile.Clone();
        journey.Name = "";
        journey.Identifiers.Clear();
        journey.Traits.Clear();
        journey.Version = 0;
        journey.UpdateTime = null;
        journey.ReadTime = null;
        journey.CreateTime = null;
        return journey;
    }

    private static string Kinds(Profile.V1.Profile profile) =>
        string.Join(",", profile.Identifiers.Select(i => $"{i.Kind}:{i.Value.Split('-')[0]}").Order(StringComparer.Ordinal));
}
