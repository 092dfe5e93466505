using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Errors;
using Journey.Shared.Tests.Probe;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Errors;

public sealed class ErrorReasonsTests
{
    [Theory]
    [InlineData("Touchpoint", "TOUCHPOINT_NOT_FOUND")]
    [InlineData("Write key", "WRITE_KEY_NOT_FOUND")]
    [InlineData("Policy version", "POLICY_VERSION_NOT_FOUND")]
    [InlineData("PolicyVersion", "POLICY_VERSION_NOT_FOUND")]
    [InlineData("", "NOT_FOUND")]
    public void NotFound_OfAResourceType_IsItsUpperSnakeName(string resource, string expected)
    {
        Assert.Equal(expected, ErrorReasons.NotFound(resource));
        Assert.Equal(expected, new NotFoundException(resource, "x").Reason);
    }

    [Fact]
    public void ToRpcException_OfADomainError_PutsItsErrorInfoFirst()
    {
        var exception = ErrorInterceptor.ToRpcException(new FailedPreconditionException(ErrorReasons.TouchpointRetired, "Touchpoint 'touchpoints/a' is retired."));
        var invalid = ErrorInterceptor.ToRpcException(new InvalidArgumentException("page_size", "must not be negative"));

        var info = exception.GetRpcStatus()!.Details[0].Unpack<ErrorInfo>();
        Assert.Equal((ErrorReasons.TouchpointRetired, ErrorReasons.Domain), (info.Reason, info.Domain));
        Assert.Equal(ErrorReasons.FieldInvalid, invalid.GetRpcStatus()!.Details[0].Unpack<ErrorInfo>().Reason);
        Assert.Equal("page_size", invalid.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations[0].Field);
    }

    [Fact]
    public void WithReason_OfAStatusWithoutOne_AddsTheReasonOfItsCodeAndKeepsItsDetails()
    {
        var status = new Google.Rpc.Status { Code = (int)Code.ResourceExhausted, Message = "slow down", Details = { Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)) }) } };

        var withReason = ErrorDetails.WithReason(status.ToRpcException()).GetRpcStatus()!;

        Assert.Equal(ErrorReasons.LimitExceeded, withReason.GetDetail<ErrorInfo>().Reason);
        Assert.Equal(TimeSpan.FromSeconds(2), withReason.GetDetail<RetryInfo>().RetryDelay.ToTimeSpan());
        Assert.Equal("slow down", withReason.Message);
    }

    [Fact]
    public async Task Call_EveryErrorOverRealGrpc_CarriesAnErrorInfo()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        var probe = platform.Services.GetRequiredService<ProbeState>();
        var client = new ProbeService.ProbeServiceClient(platform.Channel);
        probe.Failure = new InvalidOperationException("internals");

        var unexpected = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(new WaitRequest()));
        var invalid = await Assert.ThrowsAsync<RpcException>(async () =>
            await new DeadLetterService.DeadLetterServiceClient(platform.Channel).ListDeadLettersAsync(new ListDeadLettersRequest { PageToken = "not-a-token" }));
        var anonymous = await Assert.ThrowsAsync<RpcException>(async () =>
            await new DeadLetterService.DeadLetterServiceClient(platform.CreateAnonymousChannel()).ListDeadLettersAsync(new ListDeadLettersRequest()));

        Assert.Equal((StatusCode.Internal, ErrorReasons.InternalError), (unexpected.StatusCode, unexpected.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason));
        Assert.Equal((StatusCode.InvalidArgument, ErrorReasons.FieldInvalid), (invalid.StatusCode, invalid.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason));
        Assert.Equal((StatusCode.Unauthenticated, ErrorReasons.TokenRequired), (anonymous.StatusCode, anonymous.GetRpcStatus()!.GetDetail<ErrorInfo>().Reason));
    }
}
