using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

public sealed class DecisionTests() : HostedTests<ConsentHost>(() => StartAsync())
{
    [Fact]
    public async Task Check_WhenGranted_AllowsWithDateVersionAndRecord()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        var captured = Host.Now(TimeSpan.FromMinutes(-5));
        var record = await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, captured);

        var answer = await Host.CheckAsync(Email("ADA@example.com "), "marketing-email", Channel.Email);

        Assert.True(answer.Allowed);
        Assert.Equal(DecisionReason.Granted, answer.Reason);
        Assert.Equal(record.Name, answer.Record);
        Assert.Equal(version, answer.PolicyVersion);
        Assert.Equal(captured.ToDateTimeOffset().ToUnixTimeMilliseconds(), answer.DecideTime.ToDateTimeOffset().ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Check_WhenWithdrawn_DeniesWithTheWithdrawal()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromMinutes(-5)));
        var withdrawal = await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version);

        var answer = await Host.CheckAsync(Email("ada@example.com"), "marketing-email");

        Assert.False(answer.Allowed);
        Assert.Equal(DecisionReason.Withdrawn, answer.Reason);
        Assert.Equal(withdrawal.Name, answer.Record);
    }

    [Fact]
    public async Task Check_WhenGrantPredatesMinimumPolicyVersion_DeniesAsPolicyOutdated()
    {
        var first = await Host.PolicyAsync("v1 text");
        var purpose = await Host.PurposeAsync("profiling");
        await Host.RecordAsync(Email("ada@example.com"), "profiling", ConsentDecision.Granted, first);
        var second = await Host.PolicyAsync("v2 text, now with profiling explained");
        purpose.MinimumPolicyVersion = second;

        await Host.Client.UpdatePurposeAsync(new UpdatePurposeRequest { Purpose = purpose, UpdateMask = new FieldMask { Paths = { "minimum_policy_version" } } });
        var answer = await Host.CheckAsync(Email("ada@example.com"), "profiling");

        Assert.False(answer.Allowed);
        Assert.Equal(DecisionReason.PolicyOutdated, answer.Reason);
        Assert.Equal(first, answer.PolicyVersion);
    }

    [Theory]
    [InlineData(DefaultDecision.Allow, true)]
    [InlineData(DefaultDecision.Deny, false)]
    public async Task Check_WhenNobodyAnswered_UsesThePurposeDefault(DefaultDecision defaultDecision, bool allowed)
    {
        await Host.PurposeAsync("analytics", defaultDecision: defaultDecision);

        var answer = await Host.CheckAsync(Email("nobody@example.com"), "analytics");

        Assert.Equal(allowed, answer.Allowed);
        Assert.Equal(DecisionReason.NoAnswerDefault, answer.Reason);
        Assert.Empty(answer.Record);
    }

    [Fact]
    public async Task Check_WhenBasisIsContract_AllowsWithoutConsent()
    {
        await Host.PurposeAsync("order-updates", basis: LegalBasis.Contract);

        var answer = await Host.CheckAsync(Email("ada@example.com"), "order-updates", Channel.Email);

        Assert.True(answer.Allowed);
        Assert.Equal(DecisionReason.LegalBasisNotConsent, answer.Reason);
    }

    [Fact]
    public async Task Check_WhenGrantCoversOtherChannel_FallsBackToDefault()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing", channels: [Channel.Email, Channel.Web]);
        await Host.RecordAsync(Email("ada@example.com"), "marketing", ConsentDecision.Granted, version, null, Channel.Email);

        Assert.True((await Host.CheckAsync(Email("ada@example.com"), "marketing", Channel.Email)).Allowed);
        Assert.Equal(DecisionReason.NoAnswerDefault, (await Host.CheckAsync(Email("ada@example.com"), "marketing", Channel.Web)).Reason);
    }

    [Fact]
    public async Task Withdraw_AllPurposes_DeniesEveryPurpose()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.PurposeAsync("profiling");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        await Host.RecordAsync(Email("ada@example.com"), "profiling", ConsentDecision.Granted, version);

        var request = new WithdrawConsentRequest { AllPurposes = true };
        request.Person = Persons.Of(Email("ada@example.com"));
        var response = await Host.Client.WithdrawConsentAsync(request);

        Assert.Equal(2, response.Records.Count);
        Assert.Equal(DecisionReason.Withdrawn, (await Host.CheckAsync(Email("ada@example.com"), "marketing-email")).Reason);
        Assert.Equal(DecisionReason.Withdrawn, (await Host.CheckAsync(Email("ada@example.com"), "profiling")).Reason);
    }

    [Fact]
    public async Task BatchCheck_AnswersInRequestOrder()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        var request = new BatchCheckConsentRequest();
        foreach (var who in new[] { "ada@example.com", "bob@example.com" })
        {
            var check = new CheckConsentRequest { Purpose = "purposes/marketing-email" };
            check.Person = Persons.Of(Email(who));
            request.Checks.Add(check);
        }

        var response = await Host.Client.BatchCheckConsentAsync(request);

        Assert.Equal([true, false], response.Results.Select(r => r.Allowed));
    }

    [Fact]
    public async Task Check_UnderConcurrentCheckers_NeverAllowsAfterWithdrawalReturned()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromMinutes(-1)));
        long withdrawnAtTicks = long.MaxValue;
        var stale = 0;
        var checks = 0;
        using var stop = new CancellationTokenSource();
        var checkers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                var answer = await Host.CheckAsync(Email("ada@example.com"), "marketing-email");
                Interlocked.Increment(ref checks);
                if (answer.Allowed && startedAt > Interlocked.Read(ref withdrawnAtTicks))
                {
                    Interlocked.Increment(ref stale);
                }
            }
        })).ToList();

        // The checkers run before the withdrawal and for at least 40 more checks after it, counted, not timed.
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref checks) > 10)), "the checkers did not start");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version);
        Interlocked.Exchange(ref withdrawnAtTicks, System.Diagnostics.Stopwatch.GetTimestamp());
        var atWithdrawal = Volatile.Read(ref checks);
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref checks) >= atWithdrawal + 40)), "the checkers stopped after the withdrawal");
        await stop.CancelAsync();
        await Task.WhenAll(checkers);

        Assert.True(checks > 10);
        Assert.Equal(0, stale);
        Assert.False((await Host.CheckAsync(Email("ada@example.com"), "marketing-email")).Allowed);
    }

    [Theory]
    [InlineData("unknown-purpose", "purpose")]
    [InlineData("unknown-version", "policy_version")]
    [InlineData("missing-version", "policy_version")]
    [InlineData("no-identifier", "identifiers")]
    [InlineData("future", "capture_time")]
    [InlineData("uncovered-channel", "channels[0]")]
    [InlineData("missing-capture", "capture_time")]
    [InlineData("placeholder-identifier", "identifiers[1].value")]
    public async Task Record_WhenInputIsBad_IsInvalidArgumentNamingTheField(string @case, string field)
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email", channels: [Channel.Email]);
        var request = new RecordConsentRequest { Purpose = "purposes/marketing-email", Decision = ConsentDecision.Granted, PolicyVersion = version, CaptureTime = Host.Now() };
        request.Person = Persons.Of(Email("ada@example.com"));
        switch (@case)
        {
            case "unknown-purpose": request.Purpose = "purposes/nope"; break;
            case "unknown-version": request.PolicyVersion = version + 5; break;
            case "missing-version": request.PolicyVersion = 0; break;
            case "no-identifier": request.Person = null; break;
            case "future": request.CaptureTime = Host.Now(TimeSpan.FromHours(1)); break;
            case "uncovered-channel": request.Channels.Add(Channel.CallCentre); break;
            case "missing-capture": request.CaptureTime = null; break;
            case "placeholder-identifier": request.Person.Identifiers.Identifiers.Add(new Identifier { Kind = IdentifierKind.CustomerId, Value = "null" }); break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RecordConsentAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
    }

    [Fact]
    public async Task Check_WithoutScope_IsPermissionDenied()
    {
        using var channel = Host.Platform.CreateChannel("touchpoints:write");

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ConsentService.ConsentServiceClient(channel).CheckConsentAsync(new CheckConsentRequest { Purpose = "purposes/x" }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }
}
