using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

/// <summary>BatchRecordConsent: per-record validation, chains, events and the next check.</summary>
public sealed class BatchRecordTests
{
    private static RecordConsentRequest Record(Identifier who, string purpose, ConsentDecision decision, int version, ConsentHost host, params Channel[] channels)
    {
        var request = new RecordConsentRequest
        {
            Purpose = $"purposes/{purpose}",
            Decision = decision,
            PolicyVersion = version,
            CaptureTime = host.Now(TimeSpan.FromMinutes(-1)),
            Touchpoint = "crm-import",
            FormId = "legacy-optin",
        };
        request.Person = Persons.Of(who);
        request.Channels.Add(channels);
        return request;
    }

    [Fact]
    public async Task BatchRecord_WhenSomeRecordsAreInvalid_StoresTheOthersAndListsEachRejectedIndex()
    {
        var capture = new ConsentChangedCapture();
        await using var host = await ConsentHost.StartAsync(null, null, capture.Subscribe, null);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email", channels: [Channel.Email]);
        var request = new BatchRecordConsentRequest();
        request.Records.Add(Record(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        request.Records.Add(Record(Email("bob@example.com"), "no-such-purpose", ConsentDecision.Granted, version, host));
        request.Records.Add(Record(Email("cy@example.com"), "marketing-email", ConsentDecision.Granted, version + 7, host));
        request.Records.Add(Record(Email("dee@example.com"), "marketing-email", ConsentDecision.Granted, version, host, Channel.CallCentre));
        request.Records.Add(Record(Email("eve@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        request.Records[4].CaptureTime = host.Now(TimeSpan.FromHours(1));
        request.Records.Add(Record(Email("fay@example.com"), "marketing-email", ConsentDecision.Withdrawn, version, host));

        var response = await host.Client.BatchRecordConsentAsync(request);

        Assert.Equal([0, 5], response.Accepted.Select(a => a.Index));
        Assert.Equal([1, 2, 3, 4], response.Rejected.Select(r => r.Index));
        Assert.Equal("records[1].purpose", response.Rejected[0].Field);
        Assert.Equal("records[2].policy_version", response.Rejected[1].Field);
        Assert.Equal("records[3].channels[0]", response.Rejected[2].Field);
        Assert.Equal("records[4].capture_time", response.Rejected[3].Field);
        Assert.All(response.Rejected, r => Assert.NotEmpty(r.Reason));
        Assert.True((await host.CheckAsync(Email("ada@example.com"), "marketing-email")).Allowed);
        Assert.Equal(DecisionReason.Withdrawn, (await host.CheckAsync(Email("fay@example.com"), "marketing-email")).Reason);
        Assert.Equal(DecisionReason.NoAnswerDefault, (await host.CheckAsync(Email("bob@example.com"), "marketing-email")).Reason);
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(capture.Events.Count == 2)), "the accepted records were not published");
        await host.Platform.DrainAsync();
        Assert.Equal(2, capture.Events.Count);
        Assert.Equal(response.Accepted.Select(a => a.Record).Order(), capture.Events.Select(e => e.Record).Order());
    }

    [Fact]
    public async Task BatchRecord_WhenOneSubjectHasSeveralRecords_ChainsThemInOrderAndTheChainVerifies()
    {
        await using var host = await StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        await host.PurposeAsync("profiling");
        // An existing chain is continued, not restarted.
        var first = await host.RecordAsync(Email("ada@example.com"), "profiling", ConsentDecision.Granted, version);
        var request = new BatchRecordConsentRequest();
        request.Records.Add(Record(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        request.Records.Add(Record(Email("new@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        request.Records.Add(Record(Email("ada@example.com"), "profiling", ConsentDecision.Withdrawn, version, host));
        request.Records.Add(Record(Email("new@example.com"), "marketing-email", ConsentDecision.Withdrawn, version, host));
        // A second identifier of the new person joins its subject within the batch.
        var both = Record(Email("new@example.com"), "profiling", ConsentDecision.Granted, version, host);
        both.Person.Identifiers.Identifiers.Add(Profile("p-new"));
        request.Records.Add(both);

        var response = await host.Client.BatchRecordConsentAsync(request);

        Assert.Empty(response.Rejected);
        Assert.Equal([0, 1, 2, 3, 4], response.Accepted.Select(a => a.Index));
        var ada = new ListConsentHistoryRequest { Subject = first.Subject };
        var adaHistory = (await host.Client.ListConsentHistoryAsync(ada)).Records;
        Assert.Equal([1L, 2L, 3L], adaHistory.Select(r => r.Sequence));
        Assert.Equal([first.Name, response.Accepted[0].Record, response.Accepted[2].Record], adaHistory.Select(r => r.Name));
        Assert.True((await host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = first.Subject })).Intact);

        var newcomer = new VerifyConsentChainRequest();
        newcomer.Person = Persons.Of(Profile("p-new"));
        var verified = await host.Client.VerifyConsentChainAsync(newcomer);
        Assert.True(verified.Intact);
        Assert.Equal(3, verified.RecordsChecked);
        Assert.StartsWith(verified.Subject + "/", response.Accepted[1].Record, StringComparison.Ordinal);
        Assert.Equal(DecisionReason.Withdrawn, (await host.CheckAsync(Email("new@example.com"), "marketing-email")).Reason);
        Assert.True((await host.CheckAsync(Profile("p-new"), "profiling")).Allowed);
        Assert.Equal(DecisionReason.Withdrawn, (await host.CheckAsync(Email("ada@example.com"), "profiling")).Reason);
    }

    [Fact]
    public async Task BatchRecord_WhenAWithdrawalIsInTheBatch_TheNextCheckDenies()
    {
        await using var host = await StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        Assert.True((await host.CheckAsync(Email("ada@example.com"), "marketing-email")).Allowed);
        var request = new BatchRecordConsentRequest();
        for (var i = 0; i < 50; i++)
        {
            request.Records.Add(Record(Email($"person{i}@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        }

        request.Records.Add(Record(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version, host));

        await host.Client.BatchRecordConsentAsync(request);

        var check = await host.CheckAsync(Email("ada@example.com"), "marketing-email");
        Assert.False(check.Allowed);
        Assert.Equal(DecisionReason.Withdrawn, check.Reason);
        Assert.True((await host.CheckAsync(Email("person49@example.com"), "marketing-email")).Allowed);
    }

    [Fact]
    public async Task BatchRecord_WhenEmptyOrOverTheLimit_IsInvalidArgument()
    {
        await using var host = await StartAsync();
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        var empty = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.BatchRecordConsentAsync(new BatchRecordConsentRequest()));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);

        var tooMany = new BatchRecordConsentRequest();
        for (var i = 0; i < 1001; i++)
        {
            tooMany.Records.Add(Record(Email($"p{i}@example.com"), "marketing-email", ConsentDecision.Granted, version, host));
        }

        var over = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.BatchRecordConsentAsync(tooMany));
        Assert.Equal(StatusCode.InvalidArgument, over.StatusCode);
        Assert.Equal(DecisionReason.NoAnswerDefault, (await host.CheckAsync(Email("p0@example.com"), "marketing-email")).Reason);
    }

    [Fact]
    public async Task BatchRecord_WithoutTheWriteScope_IsPermissionDenied()
    {
        await using var host = await StartAsync();
        var client = new ConsentService.ConsentServiceClient(host.Platform.CreateChannel(["consent:read"]));
        var request = new BatchRecordConsentRequest();
        request.Records.Add(new RecordConsentRequest());

        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.BatchRecordConsentAsync(request));

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }
}
