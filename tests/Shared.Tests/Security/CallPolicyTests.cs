using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Security;

public sealed class CallPolicyTests
{
    private static readonly JourneyModule ProfileStoreOnly = new("profile", builder => builder.AddServiceStorage("profile"), _ => { });

    [Fact]
    public async Task WriteCall_WhenCallerExceedsItsRate_IsResourceExhaustedWithARetryHint()
    {
        await using var platform = await TestPlatform.StartAsync([], new Dictionary<string, string?>
        {
            ["Journey:Limits:WriteCallsPerSecond"] = "1",
            ["Journey:Limits:WriteBurst"] = "2",
        });
        var client = new DeadLetterService.DeadLetterServiceClient(platform.Channel);
        var replay = new ReplayDeadLettersRequest { Names = { "deadLetters/1" } };

        // Six calls at once against a budget of two plus one a second: whatever the machine's pace, some are refused.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            try
            {
                await client.ReplayDeadLettersAsync(replay);
                return null;
            }
            catch (RpcException ex)
            {
                return ex;
            }
        }));
        var error = Assert.IsType<RpcException>(outcomes.First(o => o is not null));
        Assert.InRange(outcomes.Count(o => o is null), 2, 3);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("Journey:Limits:WriteCallsPerSecond", error.Status.Detail);
        Assert.True(error.GetRpcStatus()!.GetDetail<RetryInfo>().RetryDelay.ToTimeSpan() > TimeSpan.Zero);
    }

    [Fact]
    public async Task WriteCall_FromAnotherCaller_HasItsOwnBudget()
    {
        await using var platform = await TestPlatform.StartAsync([], new Dictionary<string, string?>
        {
            ["Journey:Limits:WriteCallsPerSecond"] = "1",
            ["Journey:Limits:WriteBurst"] = "1",
        });
        var issuer = platform.Services.GetRequiredService<DevelopmentIssuer>();
        using var first = TestPlatform.ChannelWithToken(platform.Address, issuer.CreateToken("app-a", [Scopes.Admin], TimeSpan.FromHours(1)));
        using var second = TestPlatform.ChannelWithToken(platform.Address, issuer.CreateToken("app-b", [Scopes.Admin], TimeSpan.FromHours(1)));
        var replay = new ReplayDeadLettersRequest { Names = { "deadLetters/1" } };

        await new DeadLetterService.DeadLetterServiceClient(first).ReplayDeadLettersAsync(replay);
        var otherCaller = await new DeadLetterService.DeadLetterServiceClient(second).ReplayDeadLettersAsync(replay);

        Assert.Equal(0, otherCaller.ReplayedCount);
    }

    [Fact]
    public async Task SensitiveCall_IsAuditedInTheOwningServicesStoreWithCallerTargetAndOutcome()
    {
        await using var platform = await TestPlatform.StartAsync([ProfileStoreOnly]);
        var trail = platform.Services.GetRequiredService<AuditTrail>();

        await trail.RecordAsync("/journey.profile.v1.ProfileService/EraseProfile", "ops-console", "profiles/p-1", "OK", default);
        await trail.RecordAsync("/journey.profile.v1.ProfileService/ExportProfile", "ops-console", "profiles/p-2", "PermissionDenied", default);
        var response = await new AuditService.AuditServiceClient(platform.Channel).ListAuditEntriesAsync(new ListAuditEntriesRequest { Service = "profile" });

        Assert.Equal(["profiles/p-1", "profiles/p-2"], response.Entries.Select(e => e.Target));
        Assert.Equal(["OK", "PermissionDenied"], response.Entries.Select(e => e.Outcome));
        Assert.All(response.Entries, e => Assert.Equal("ops-console", e.Caller));
    }

    [Fact]
    public async Task ListAuditEntries_ForAServiceNotRunHere_IsNotFound()
    {
        await using var platform = await TestPlatform.StartAsync([]);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new AuditService.AuditServiceClient(platform.Channel).ListAuditEntriesAsync(new ListAuditEntriesRequest { Service = "consent" }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public void TargetOf_TakesResourceNamesOnlyNeverOtherText()
    {
        var request = new ReplayDeadLettersRequest { Names = { "deadLetters/9" } };
        var reply = new DeadLetter { Name = "deadLetters/7", Subscription = "profile.interaction-recorded", Reason = "anna@example.com failed" };

        var target = AuditTrail.TargetOf(request, reply);

        Assert.Equal("deadLetters/7", target);
    }

    [Fact]
    public void TargetOf_LooksOneMessageDown()
    {
        var reply = new ListDeadLettersResponse { DeadLetters = { new DeadLetter { Name = "deadLetters/1" } }, NextPageToken = "x" };
        var wrapper = new Journey.Platform.V1.AuditEntry { Method = "m", Target = "t" };

        Assert.Equal("", AuditTrail.TargetOf(reply, wrapper));
        Assert.Equal("deadLetters/3", AuditTrail.TargetOf(new Value { StringValue = "nothing" }, new DeadLetter { Name = "deadLetters/3" }));
    }
}
