using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Consent.Tests.Grpc;

public sealed class ConsentGrpcTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private TestPlatform _platform = null!;
    private ConsentService.ConsentServiceClient _client = null!;

    private static readonly Identifier Anna = new() { Kind = IdentifierKind.Email, Value = "anna@example.com" };

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([ConsentModule.Definition], configureServices: s => s.AddSingleton<TimeProvider>(_clock));
        _client = new ConsentService.ConsentServiceClient(_platform.Channel);
        await CreatePurposeAsync("personalisation", LegalBasis.Consent, validity: TimeSpan.FromDays(365), minimumVersion: "3");
        await CreatePurposeAsync("service-messages", LegalBasis.Contract);
        await CreatePurposeAsync("analytics", LegalBasis.LegitimateInterest, defaultAllowed: true);
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Check_WithoutAnyAnswer_AppliesThePurposeDefault()
    {
        var consent = await CheckAsync("personalisation");

        Assert.False(consent.Allowed);
        Assert.Equal(DecisionReason.NoAnswerDefault, consent.Reason);
        Assert.Equal("", consent.Record);
    }

    [Fact]
    public async Task Check_AfterGrant_IsAllowedWithTheRecordAndVersion_AndWithdrawalIsHonouredAtOnce()
    {
        var granted = await RecordAsync("personalisation", granted: true, version: "3");
        var allowed = await CheckAsync("personalisation");
        await RecordAsync("personalisation", granted: false, version: "");
        var withdrawn = await CheckAsync("personalisation");

        Assert.True(allowed.Allowed);
        Assert.Equal(DecisionReason.Granted, allowed.Reason);
        Assert.Equal(granted.Record, allowed.Record);
        Assert.Equal("3", allowed.PolicyVersion);
        Assert.False(withdrawn.Allowed);
        Assert.Equal(DecisionReason.Withdrawn, withdrawn.Reason);
    }

    [Fact]
    public async Task Check_WhenGrantIsOlderThanItsValidity_IsExpired()
    {
        await RecordAsync("personalisation", granted: true, version: "3");

        _clock.Advance(TimeSpan.FromDays(366));

        Assert.Equal(DecisionReason.Expired, (await CheckAsync("personalisation")).Reason);
    }

    [Fact]
    public async Task Check_WhenGrantedUnderOlderPolicy_IsPolicyOutdated()
    {
        await RecordAsync("personalisation", granted: true, version: "2");

        var consent = await CheckAsync("personalisation");

        Assert.False(consent.Allowed);
        Assert.Equal(DecisionReason.PolicyOutdated, consent.Reason);
    }

    [Fact]
    public async Task Check_WhenGrantCoversOtherChannels_IsChannelNotCovered()
    {
        await RecordAsync("personalisation", granted: true, version: "3", Channel.Email);

        Assert.Equal(DecisionReason.ChannelNotCovered, (await CheckAsync("personalisation", Channel.Web)).Reason);
        Assert.True((await CheckAsync("personalisation", Channel.Email)).Allowed);
    }

    [Fact]
    public async Task Check_ForOtherLegalBases_IsAllowedUnlessObjected()
    {
        var contract = await CheckAsync("service-messages");
        await RecordAsync("analytics", granted: false, version: "");
        var objected = await CheckAsync("analytics");

        Assert.True(contract.Allowed);
        Assert.Equal(DecisionReason.LegalBasisNotConsent, contract.Reason);
        Assert.False(objected.Allowed);
        Assert.Equal(DecisionReason.Withdrawn, objected.Reason);
    }

    [Fact]
    public async Task Record_ChainsEachRecordToThePrevious()
    {
        var first = await RecordAsync("personalisation", granted: true, version: "3");
        var second = await RecordAsync("personalisation", granted: false, version: "");

        Assert.Matches("^[0-9a-f]{64}$", first.RecordHash);
        Assert.NotEqual(first.RecordHash, second.RecordHash);
        Assert.EndsWith("/records/1", first.Record);
        Assert.EndsWith("/records/2", second.Record);
    }

    public static TheoryData<string, Action<RecordConsentRequest>> InvalidRecords => new()
    {
        { "purpose", r => r.Purpose = "purposes/unknown" },
        { "purpose", r => r.Purpose = "personalisation" },
        { "subject", r => r.Subject.Clear() },
        { "subject[0].kind", r => r.Subject[0].Kind = IdentifierKind.Unspecified },
        { "capture_time", r => r.CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)) },
        { "channels", r => r.Channels.Add(Channel.DealerStore) },
        { "policy_version", r => r.PolicyVersion = "" },
    };

    [Theory]
    [MemberData(nameof(InvalidRecords))]
    public async Task Record_WhenInvalid_IsInvalidArgumentNamingTheField(string field, Action<RecordConsentRequest> spoil)
    {
        var request = Request("personalisation", granted: true, version: "3");
        spoil(request);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.RecordConsentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field));
    }

    [Fact]
    public async Task CreatePurpose_WhenConsentBasedButDefaultAllowed_IsRefused()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.CreatePurposeAsync(new CreatePurposeRequest
        {
            PurposeId = "sneaky",
            Purpose = new Purpose { Description = "x", LegalBasis = LegalBasis.Consent, Channels = { Channel.Web }, DefaultAllowed = true },
        }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("purpose.default_allowed", Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
    }

    [Fact]
    public async Task GetPurpose_RoundTripsAndUnknownIsNotFound()
    {
        var purpose = (await _client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/personalisation" })).Purpose;
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await _client.GetPurposeAsync(new GetPurposeRequest { Name = "purposes/nope" }));

        Assert.Equal(LegalBasis.Consent, purpose.LegalBasis);
        Assert.Equal(TimeSpan.FromDays(365), purpose.Validity.ToTimeSpan());
        Assert.Equal("3", purpose.MinimumPolicyVersion);
        Assert.Equal([Channel.Web, Channel.Email], purpose.Channels);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    private Task<CreatePurposeResponse> CreatePurposeAsync(string id, LegalBasis basis, bool defaultAllowed = false, TimeSpan? validity = null, string minimumVersion = "") =>
        _client.CreatePurposeAsync(new CreatePurposeRequest
        {
            PurposeId = id,
            Purpose = new Purpose
            {
                Description = $"Purpose {id}",
                LegalBasis = basis,
                Channels = { Channel.Web, Channel.Email },
                DefaultAllowed = defaultAllowed,
                Validity = validity is { } v ? Duration.FromTimeSpan(v) : null,
                MinimumPolicyVersion = minimumVersion,
            },
        }).ResponseAsync;

    private static RecordConsentRequest Request(string purpose, bool granted, string version, params Channel[] channels) => new()
    {
        Subject = { Anna.Clone() },
        Purpose = $"purposes/{purpose}",
        Granted = granted,
        PolicyVersion = version,
        Channels = { channels },
        Touchpoint = "touchpoints/contact-form",
        Proof = new Proof { FormId = "newsletter-signup", HashedIp = "ip-hash", UserAgent = "Mozilla/5.0" },
    };

    private Task<RecordConsentResponse> RecordAsync(string purpose, bool granted, string version, params Channel[] channels) =>
        _client.RecordConsentAsync(Request(purpose, granted, version, channels)).ResponseAsync;

    private Task<CheckConsentResponse> CheckAsync(string purpose, Channel channel = Channel.Web) =>
        _client.CheckConsentAsync(new CheckConsentRequest { Subject = { Anna.Clone() }, Purpose = $"purposes/{purpose}", Channel = channel }).ResponseAsync;
}
