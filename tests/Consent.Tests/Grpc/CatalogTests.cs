using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

public sealed class CatalogTests() : HostedTests<ConsentHost>(() => StartAsync())
{
    [Fact]
    public async Task CreatePurpose_RoundTripsEveryField()
    {
        var version = await Host.PolicyAsync();

        var created = await Host.PurposeAsync("newsletter", LegalBasis.Consent, DefaultDecision.Deny, Duration.FromTimeSpan(TimeSpan.FromDays(730)), version, Channel.Email);
        var read = (await Host.Client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/newsletter" })).Purpose;

        Assert.Equal(created, read);
        Assert.Equal("1", read.Etag);
        Assert.Equal(TimeSpan.FromDays(730), read.Validity.ToTimeSpan());
        Assert.Equal([Channel.Email], read.Channels);
    }

    [Theory]
    [InlineData("Bad_Id", "purpose_id")]
    [InlineData("no-basis", "purpose.legal_basis")]
    [InlineData("no-channels", "purpose.channels")]
    [InlineData("no-default", "purpose.default_decision")]
    [InlineData("unknown-minimum", "purpose.minimum_policy_version")]
    [InlineData("no-purpose", "purpose")]
    [InlineData("negative-validity", "purpose.validity")]
    [InlineData("unnormalised-validity", "purpose.validity")]
    public async Task CreatePurpose_WhenInputIsBad_IsInvalidArgumentNamingTheField(string @case, string field)
    {
        var purpose = new Purpose { Description = "d", LegalBasis = LegalBasis.Consent, DefaultDecision = DefaultDecision.Deny, Channels = { Channel.Email } };
        var request = new CreatePurposeRequest { PurposeId = "marketing", Purpose = purpose };
        switch (@case)
        {
            case "Bad_Id": request.PurposeId = "Bad_Id"; break;
            case "no-basis": purpose.LegalBasis = LegalBasis.Unspecified; break;
            case "no-channels": purpose.Channels.Clear(); break;
            case "no-default": purpose.DefaultDecision = DefaultDecision.Unspecified; break;
            case "unknown-minimum": purpose.MinimumPolicyVersion = 7; break;
            case "no-purpose": request.Purpose = null; break;
            case "negative-validity": purpose.Validity = new Duration { Seconds = -5 }; break;
            case "unnormalised-validity": purpose.Validity = new Duration { Seconds = 5, Nanos = -7 }; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.CreatePurposeAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
    }

    [Fact]
    public async Task CreatePurpose_WhenIdTaken_IsAlreadyExists()
    {
        await Host.PurposeAsync("marketing");

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.PurposeAsync("marketing"));

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Fact]
    public async Task UpdatePurpose_WithAStaleEtag_IsAborted()
    {
        var purpose = await Host.PurposeAsync("marketing");
        purpose.Description = "first change";
        await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = purpose, UpdateMask = new FieldMask { Paths = { "description" } } });

        purpose.Description = "second change from the same read";
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = purpose, UpdateMask = new FieldMask { Paths = { "description" } } }));

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
    }

    [Fact]
    public async Task UpdatePurpose_WithMask_ChangesOnlyMaskedSettingsAndTheEtag()
    {
        var purpose = await Host.PurposeAsync("marketing", channels: [Channel.Email]);
        var change = purpose.Clone();
        change.Description = "renamed";
        change.MinimumPolicyVersion = 99;
        change.Channels.Clear();

        var updated = (await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = change, UpdateMask = new FieldMask { Paths = { "description" } } })).Purpose;

        Assert.Equal("renamed", updated.Description);
        Assert.Equal(purpose.MinimumPolicyVersion, updated.MinimumPolicyVersion);
        Assert.Equal([Channel.Email], updated.Channels);
        Assert.Equal("2", updated.Etag);
        Assert.Equal(updated, (await Host.Client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/marketing" })).Purpose);
    }

    [Theory]
    [InlineData("")]
    [InlineData("version")]
    [InlineData("create_time")]
    public async Task UpdatePurpose_WithEmptyOrUnknownMaskPath_IsInvalidArgumentNamingTheMask(string path)
    {
        var purpose = await Host.PurposeAsync("marketing");
        purpose.Description = "never stored";
        var mask = new FieldMask();
        if (path.Length > 0)
        {
            mask.Paths.Add(path);
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = purpose, UpdateMask = mask }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("update_mask", error.Status.Detail);
        Assert.NotEqual("never stored", (await Host.Client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/marketing" })).Purpose.Description);
    }

    [Fact]
    public async Task UpdatePurpose_WhenTheMergedSettingsBreakARule_IsInvalidArgumentNamingTheField()
    {
        var purpose = await Host.PurposeAsync("marketing");
        purpose.Channels.Clear();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = purpose, UpdateMask = new FieldMask { Paths = { "*" } } }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("purpose.channels", error.Status.Detail);
    }

    [Fact]
    public async Task GetPurpose_WhenMissing_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/none" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task ListPurposes_PagesById()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            await Host.PurposeAsync(id);
        }

        var first = await Host.Client.ListPurposesAsync(new ListPurposesRequest { PageSize = 2 });
        var second = await Host.Client.ListPurposesAsync(new ListPurposesRequest { PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(["purposes/a", "purposes/b", "purposes/c"], first.Purposes.Concat(second.Purposes).Select(p => p.Name));
        Assert.Empty(second.NextPageToken);
    }

    [Fact]
    public async Task PolicyVersions_AreNumberedAndHashedAndListedWithoutText()
    {
        await Host.PolicyAsync("first");
        await Host.PolicyAsync("second");

        var read = (await Host.Client.GetPolicyVersionAsync(new GetPolicyVersionRequest { Name = "policyVersions/2" })).PolicyVersion;
        var listed = await Host.Client.ListPolicyVersionsAsync(new ListPolicyVersionsRequest());

        Assert.Equal("second", read.Text);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("second"u8)), read.Sha256);
        Assert.Equal([1, 2], listed.PolicyVersions.Select(v => v.Version));
        Assert.All(listed.PolicyVersions, v => Assert.Empty(v.Text));
    }

    [Fact]
    public async Task CreatePolicyVersion_WhenTextIsEmpty_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("text", error.Status.Detail);
    }

    [Theory]
    [InlineData("unknown-purpose", "purpose")]
    [InlineData("uncovered-channel", "channel")]
    [InlineData("no-subject", "person")]
    [InlineData("bad-profile", "person.profile")]
    public async Task Check_WhenInputIsBad_IsInvalidArgumentNamingTheField(string @case, string field)
    {
        await Host.PurposeAsync("marketing", channels: [Channel.Email]);
        var request = new CheckConsentRequest { Purpose = "purposes/marketing", Person = Persons.Of(Email("ada@example.com")) };
        switch (@case)
        {
            case "unknown-purpose": request.Purpose = "purposes/none"; break;
            case "uncovered-channel": request.Channel = Channel.Social; break;
            case "no-subject": request.Person = null; break;
            case "bad-profile": request.Person = Persons.Profile("people/1"); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.CheckConsentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
    }

    [Fact]
    public async Task BatchCheck_WhenOneCheckIsBad_NamesItsIndex()
    {
        await Host.PurposeAsync("marketing");
        var request = new BatchCheckConsentRequest
        {
            Checks =
            {
                new CheckConsentRequest { Purpose = "purposes/marketing", Person = Persons.Of(Email("ada@example.com")) },
                new CheckConsentRequest { Purpose = "purposes/none", Person = Persons.Of(Email("ada@example.com")) },
            },
        };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.BatchCheckConsentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("checks[1].purpose", error.Status.Detail);
    }

    [Fact]
    public async Task Withdraw_WithBothPurposeAndAllPurposes_IsInvalidArgument()
    {
        await Host.PolicyAsync();
        await Host.PurposeAsync("marketing");
        var request = new WithdrawConsentRequest { Purpose = "purposes/marketing", AllPurposes = true, Person = Persons.Of(Email("ada@example.com")) };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.WithdrawConsentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("all_purposes", error.Status.Detail);
    }

    [Fact]
    public async Task History_WhenSubjectUnknown_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.ListConsentHistoryAsync(new ListConsentHistoryRequest { Subject = $"subjects/{Guid.NewGuid()}" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Erasure_WithoutPrivacyScope_IsPermissionDenied()
    {
        using var channel = Host.Platform.CreateChannel(ConsentScopes.Write);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ConsentService.ConsentServiceClient(channel).RequestErasureAsync(new RequestErasureRequest { Person = Persons.Of(Email("ada@example.com")) }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task GetErasureStatus_WhenMissing_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.GetErasureStatusAsync(new GetErasureStatusRequest { Name = $"erasures/{Guid.NewGuid()}" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}
