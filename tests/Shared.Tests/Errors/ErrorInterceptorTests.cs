using Google.Rpc;
using Grpc.Core;
using Journey.Platform.V1;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Journey.Shared.Tests.Probe;
using Journey.Shared.Tests.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Errors;

public sealed class ErrorInterceptorTests
{
    [Theory]
    [InlineData(ErrorKind.InvalidArgument, StatusCode.InvalidArgument)]
    [InlineData(ErrorKind.NotFound, StatusCode.NotFound)]
    [InlineData(ErrorKind.AlreadyExists, StatusCode.AlreadyExists)]
    [InlineData(ErrorKind.FailedPrecondition, StatusCode.FailedPrecondition)]
    [InlineData(ErrorKind.Conflict, StatusCode.Aborted)]
    [InlineData(ErrorKind.ResourceExhausted, StatusCode.ResourceExhausted)]
    public void ToRpcException_WhenDomainErrorOfKind_MapsToItsStatus(ErrorKind kind, StatusCode expected)
    {
        var exception = ErrorInterceptor.ToRpcException(new DomainException(kind, "what to fix"));

        Assert.Equal(expected, exception.StatusCode);
        Assert.Equal("what to fix", exception.Status.Detail);
    }

    [Fact]
    public void ToRpcException_WhenFieldsInvalid_CarriesBadRequestWithEveryField()
    {
        var validation = new Validation()
            .Require(false, "page_size", "must not be negative")
            .Require(true, "ignored", "holds")
            .Require(false, "names[2]", "must look like deadLetters/{number}");

        var exception = ErrorInterceptor.ToRpcException(Assert.Throws<InvalidArgumentException>(validation.ThrowIfInvalid));

        var badRequest = exception.GetRpcStatus()!.GetDetail<BadRequest>();
        Assert.Equal(["page_size", "names[2]"], badRequest.FieldViolations.Select(v => v.Field));
        Assert.Contains("page_size: must not be negative", exception.Status.Detail);
    }

    [Fact]
    public async Task Call_WhenTransactionRetriesRunOut_IsUnavailableWhileARawWriteConflictWouldBeInternal()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        var client = new ProbeService.ProbeServiceClient(platform.Channel);
        var probe = platform.Services.GetRequiredService<ProbeState>();

        // What MongoStore.WriteAsync throws once its retry budget is spent, and what the driver's
        // WithTransaction let through before.
        probe.Failure = new StoreUnavailableException("A MongoDB transaction ran into a conflict or failover on each of 30 attempts within 10 s (WriteConflict).", MongoErrors.WriteConflict());
        var exhausted = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(new WaitRequest()));
        probe.Failure = MongoErrors.WriteConflict();
        var raw = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(new WaitRequest()));

        Assert.Equal(StatusCode.Unavailable, exhausted.StatusCode);
        Assert.Equal("The store is unavailable; retry with back-off.", exhausted.Status.Detail);
        Assert.Equal(StatusCode.Internal, raw.StatusCode);
    }

    [Fact]
    public async Task Call_WhenRequestInvalid_ReturnsInvalidArgumentNamingTheFieldOverRealGrpc()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        var client = new DeadLetterService.DeadLetterServiceClient(platform.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.ListDeadLettersAsync(new ListDeadLettersRequest { PageToken = "not-a-token" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal("page_token", violation.Field);
    }

    [Fact]
    public async Task Call_WhenReplayNamesMalformed_ListsEachBadName()
    {
        await using var platform = await TestPlatform.StartAsync([]);
        var client = new DeadLetterService.DeadLetterServiceClient(platform.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.ReplayDeadLettersAsync(new ReplayDeadLettersRequest { Names = { "deadLetters/1", "letters/2", "deadLetters/x" } }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["names[1]", "names[2]"], error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field));
    }
}
