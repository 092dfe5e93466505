using Google.Rpc;
using Grpc.Core;
using Journey.Consent.V1;
using Journey.Testing;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

/// <summary>Consent writes with a request_id (AIP-155): a retry appends nothing and answers as the first call did.</summary>
public sealed class IdempotencyTests
{
    private static Task<ConsentHost> StartAsync(ConsentChangedCapture capture) =>
        ConsentHost.StartAsync(null, null, capture.Subscribe, null);

    private static RecordConsentRequest Grant(ConsentHost host, string email, int version, string requestId = "")
    {
        var request = new RecordConsentRequest
        {
            Purpose = "purposes/marketing-email",
            Decision = ConsentDecision.Granted,
            PolicyVersion = version,
            CaptureTime = host.Now(TimeSpan.FromMinutes(-1)),
            Touchpoint = "dealer-munich-contact-form",
            FormId = "dealer-contact-v2",
            IpAddress = "192.0.2.10",
            RequestId = requestId,
        };
        request.Person = Persons.Of(Email(email));
        return request;
    }

    private static async Task<IReadOnlyList<ConsentRecord>> HistoryAsync(ConsentHost host, string email)
    {
        var request = new ListConsentHistoryRequest();
        request.Person = Persons.Of(Email(email));
        return (await host.Client.ListConsentHistoryAsync(request)).Records;
    }

    // Events are relayed in append order: once a later write's event arrived, every event of the
    // writes before it has arrived too, so what was counted then is final.
    private static async Task<int> EventsOfAsync(ConsentHost host, ConsentChangedCapture capture, string record)
    {
        var sentinel = (await host.Client.RecordConsentAsync(Grant(host, $"sentinel-{Guid.NewGuid():N}@example.com", 1))).Record;
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(capture.Events.Any(e => e.Record == sentinel.Name))), "the sentinel's event did not arrive");
        return capture.Events.Count(e => e.Record == record);
    }

    [Fact]
    public async Task RecordConsent_WhenRetriedWithTheSameRequestId_AppendsOneRecordAndPublishesOneEvent()
    {
        var capture = new ConsentChangedCapture();
        await using var host = await StartAsync(capture);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var request = Grant(host, "ada@example.com", version, Guid.NewGuid().ToString());

        var first = (await host.Client.RecordConsentAsync(request)).Record;
        var retried = (await host.Client.RecordConsentAsync(request)).Record;

        Assert.Equal(first, retried);
        Assert.Equal([first.Name], (await HistoryAsync(host, "ada@example.com")).Select(r => r.Name));
        Assert.Equal(1, await EventsOfAsync(host, capture, first.Name));
    }

    [Fact]
    public async Task BatchRecordConsent_WhenRetriedWithTheSameRequestId_AppendsEachRecordOnceAndAnswersAsBefore()
    {
        var capture = new ConsentChangedCapture();
        await using var host = await StartAsync(capture);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var batch = new BatchRecordConsentRequest { RequestId = Guid.NewGuid().ToString() };
        batch.Records.Add(Grant(host, "ada@example.com", version));
        batch.Records.Add(Grant(host, "bob@example.com", version + 5));
        var withdrawal = Grant(host, "ada@example.com", version);
        withdrawal.Decision = ConsentDecision.Withdrawn;
        batch.Records.Add(withdrawal);

        var first = await host.Client.BatchRecordConsentAsync(batch);
        var retried = await host.Client.BatchRecordConsentAsync(batch);

        Assert.Equal(first, retried);
        Assert.Equal([0, 2], first.Accepted.Select(a => a.Index));
        Assert.Equal("records[1].policy_version", Assert.Single(retried.Rejected).Field);
        Assert.Equal(first.Accepted.Select(a => a.Record), (await HistoryAsync(host, "ada@example.com")).Select(r => r.Name));
        Assert.Equal(1, await EventsOfAsync(host, capture, first.Accepted[0].Record));
        Assert.Equal(1, capture.Events.Count(e => e.Record == first.Accepted[1].Record));
    }

    [Fact]
    public async Task WithdrawConsent_WhenRetriedWithTheSameRequestId_AppendsOneWithdrawal()
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        await host.Client.RecordConsentAsync(Grant(host, "ada@example.com", version));
        var withdraw = new WithdrawConsentRequest { Purpose = "purposes/marketing-email", RequestId = Guid.NewGuid().ToString() };
        withdraw.Person = Persons.Of(Email("ada@example.com"));

        var first = await host.Client.WithdrawConsentAsync(withdraw);
        var retried = await host.Client.WithdrawConsentAsync(withdraw);

        Assert.Equal(first, retried);
        Assert.Equal(2, (await HistoryAsync(host, "ada@example.com")).Count);
    }

    [Fact]
    public async Task RequestErasure_WhenRetriedWithTheSameRequestId_AnswersWithTheSameErasure()
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        await host.Client.RecordConsentAsync(Grant(host, "ada@example.com", version));
        var erase = new RequestErasureRequest { RequestId = Guid.NewGuid().ToString() };
        erase.Person = Persons.Of(Email("ada@example.com"));

        var first = (await host.Client.RequestErasureAsync(erase)).Erasure;
        var retried = (await host.Client.RequestErasureAsync(erase)).Erasure;

        Assert.Equal(first.Name, retried.Name);
        Assert.Equal(first.Subject, retried.Subject);
        var history = (await host.Client.ListConsentHistoryAsync(new ListConsentHistoryRequest { Subject = first.Subject })).Records;
        Assert.Equal([ConsentDecision.Granted, ConsentDecision.Withdrawn], history.Select(r => r.Decision));
    }

    [Fact]
    public async Task CreatePolicyVersion_WhenRetriedWithTheSameRequestId_StoresOneVersion()
    {
        await using var host = await ConsentHost.StartAsync();
        var request = new CreatePolicyVersionRequest { Text = "We write to you about cars.", RequestId = Guid.NewGuid().ToString() };

        var first = (await host.Client.CreatePolicyVersionAsync(request)).PolicyVersion;
        var retried = (await host.Client.CreatePolicyVersionAsync(request)).PolicyVersion;

        Assert.Equal(first, retried);
        Assert.Equal([1], (await host.Client.ListPolicyVersionsAsync(new ListPolicyVersionsRequest())).PolicyVersions.Select(v => v.Version));
    }

    [Fact]
    public async Task RecordConsent_WhenTheRequestIdCameWithAnotherRequest_IsFailedPreconditionNamingItAndAppendsNothing()
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var requestId = Guid.NewGuid().ToString();
        await host.Client.RecordConsentAsync(Grant(host, "ada@example.com", version, requestId));

        var changed = Grant(host, "ada@example.com", version, requestId);
        changed.Decision = ConsentDecision.Withdrawn;
        var reused = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.RecordConsentAsync(changed));
        var elsewhere = new WithdrawConsentRequest { Purpose = "purposes/marketing-email", RequestId = requestId };
        elsewhere.Person = Persons.Of(Email("ada@example.com"));
        var otherMethod = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.WithdrawConsentAsync(elsewhere));

        Assert.Equal(StatusCode.FailedPrecondition, reused.StatusCode);
        Assert.Contains("request_id", reused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("request_id", Assert.Single(reused.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
        Assert.Equal(StatusCode.FailedPrecondition, otherMethod.StatusCode);
        Assert.Single(await HistoryAsync(host, "ada@example.com"));
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("{7f9c2a4e-1b3d-4c5e-8f60-718293a4b5c6}")]
    public async Task RecordConsent_WhenTheRequestIdIsMalformed_IsInvalidArgumentNamingIt(string requestId)
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");

        var error = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.RecordConsentAsync(Grant(host, "ada@example.com", version, requestId)));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("request_id", Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
    }

    [Fact]
    public async Task BatchRecordConsent_WhenARecordCarriesItsOwnRequestId_RejectsThatRecord()
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var batch = new BatchRecordConsentRequest();
        batch.Records.Add(Grant(host, "ada@example.com", version, Guid.NewGuid().ToString()));
        batch.Records.Add(Grant(host, "bob@example.com", version));

        var response = await host.Client.BatchRecordConsentAsync(batch);

        Assert.Equal("records[0].request_id", Assert.Single(response.Rejected).Field);
        Assert.Equal(1, Assert.Single(response.Accepted).Index);
    }

    [Fact]
    public async Task RecordConsent_WithoutARequestId_AppendsEachCall()
    {
        await using var host = await ConsentHost.StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var request = Grant(host, "ada@example.com", version);

        await host.Client.RecordConsentAsync(request);
        await host.Client.RecordConsentAsync(request);

        Assert.Equal(2, (await HistoryAsync(host, "ada@example.com")).Count);
    }
}
