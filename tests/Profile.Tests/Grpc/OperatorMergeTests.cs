using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

public sealed class OperatorMergeTests : IAsyncLifetime
{
    private ProfileHost _host = null!;

    public async Task InitializeAsync() => _host = await StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task MergeProfiles_WhenTwoKnownCustomersAreOnePerson_MovesEveryIdentifierAndDropsTheirConflict()
    {
        var crm = await _host.IdentifyAsync(Customer("crm-4711"), Email("dana@example.com"), Cookie("shared-laptop"));
        var shop = await _host.IdentifyAsync(Customer("shop-88"), Cookie("shared-laptop"));
        Assert.Equal([crm.Profile.Name], shop.ConflictingProfiles);

        var merged = await _host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = crm.Profile.Name, Merged = shop.Profile.Name, Reason = "duplicate customer record, ticket 991" });

        Assert.Equal(crm.Profile.Name, merged.Profile.Name);
        Assert.Equal(2, merged.Profile.Identifiers.Count(i => i.Kind == IdentifierKind.CustomerId));
        Assert.DoesNotContain(merged.Profile.Conflicts, c => c.OtherProfile == shop.Profile.Name);
        Assert.Equal(crm.Profile.Name, (await _host.TryLookupAsync(Customer("shop-88")))!.Name);
        Assert.Equal(crm.Profile.Name, (await _host.GetAsync(shop.Profile.Name)).Name);
        var merge = Assert.Single((await _host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = crm.Profile.Name })).Merges);
        Assert.Equal(shop.Profile.Name, merge.Merged);
        Assert.Equal(IdentifierKind.ProfileId, merge.LinkedBy);
    }

    [Fact]
    public async Task MergeProfiles_WhenInputIsWrong_SaysWhatToFix()
    {
        var one = await _host.IdentifyAsync(Customer("op-1"));
        var two = await _host.IdentifyAsync(Customer("op-2"));

        var noReason = await Assert.ThrowsAsync<RpcException>(() => _host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = two.Profile.Name }).ResponseAsync);
        var badName = await Assert.ThrowsAsync<RpcException>(() => _host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = "op-1", Merged = two.Profile.Name, Reason = "r" }).ResponseAsync);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => _host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = "profiles/" + new string('a', 32), Reason = "r" }).ResponseAsync);
        var same = await Assert.ThrowsAsync<RpcException>(() => _host.Client.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = one.Profile.Name, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, noReason.StatusCode);
        Assert.Equal(["reason"], IdentityTests.Violations(noReason));
        Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
        Assert.Equal(["survivor"], IdentityTests.Violations(badName));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, same.StatusCode);
        Assert.Null((await _host.GetAsync(two.Profile.Name)).Identifiers.FirstOrDefault(i => i.Value == "op-1"));
    }

    [Fact]
    public async Task MergeProfiles_WithOnlyTheWriteScope_IsPermissionDenied()
    {
        var one = await _host.IdentifyAsync(Customer("scope-1"));
        var two = await _host.IdentifyAsync(Customer("scope-2"));
        var writer = new ProfileService.ProfileServiceClient(_host.Platform.CreateChannel("profiles:write", "profiles:read"));

        var error = await Assert.ThrowsAsync<RpcException>(() => writer.MergeProfilesAsync(new MergeProfilesRequest { Survivor = one.Profile.Name, Merged = two.Profile.Name, Reason = "r" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.NotEqual(one.Profile.Name, (await _host.GetAsync(two.Profile.Name)).Name);
    }
}
