using System.Diagnostics;
using Grpc.Core;
using Journey.Shared.Security;
using Journey.Shared.Tests.Probe;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Security;

public sealed class CallDeadlineTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    [Fact]
    public void Defaults_AreThirtySecondsForUnaryTenMinutesForStreamsAnHourForWatches()
    {
        var options = new LimitsOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), options.UnaryDeadline);
        Assert.Equal(TimeSpan.FromMinutes(10), options.StreamDeadline);
        Assert.Equal(TimeSpan.FromHours(1), options.WatchDeadline);
        Assert.Equal(TimeSpan.FromSeconds(10), options.OutgoingCallDeadline);
    }

    [Fact]
    public void Validate_WhenDeadlineZero_NamesTheSetting()
    {
        OptionsAssert.FailsNaming(new LimitsOptionsValidator(), new LimitsOptions { UnaryDeadline = TimeSpan.Zero }, "UnaryDeadline");
    }

    [Fact]
    public async Task Unary_WhenHandlerOutlastsTheLimit_IsDeadlineExceededNamingTheLimitAndCancelsTheToken()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:UnaryDeadline"] = "00:00:00.300",
        });
        var client = new ProbeService.ProbeServiceClient(platform.Channel);
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(new WaitRequest { DelayMs = 60_000 }).ResponseAsync.WaitAsync(Soon));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("300 ms", error.Status.Detail);
        Assert.Contains("Journey:Limits:UnaryDeadline", error.Status.Detail);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), Soon);
        Assert.True(await platform.Services.GetRequiredService<ProbeState>().TokenCancelled.Task.WaitAsync(Soon));
    }

    [Fact]
    public async Task Unary_WhenCallersDeadlineIsShorter_TheCallersDeadlineWins()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:UnaryDeadline"] = "00:00:30",
        });
        var client = new ProbeService.ProbeServiceClient(platform.Channel);
        // A first call opens the connection and compiles the path, so that on a loaded machine the short
        // deadline below still leaves time for the call to reach the handler whose token is watched.
        await client.WaitAsync(new WaitRequest { DelayMs = 0 });
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.WaitAsync(new WaitRequest { DelayMs = 60_000 }, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync.WaitAsync(Soon));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.DoesNotContain("Journey:Limits", error.Status.Detail);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), Soon);
        Assert.True(await platform.Services.GetRequiredService<ProbeState>().TokenCancelled.Task.WaitAsync(Soon));
    }

    [Fact]
    public async Task Unary_WhenWithinTheLimit_AnswersWithTheTokenUncancelled()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:UnaryDeadline"] = "00:00:05",
        });

        var response = await new ProbeService.ProbeServiceClient(platform.Channel).WaitAsync(new WaitRequest { DelayMs = 20 });

        Assert.False(response.Cancelled);
    }

    [Fact]
    public async Task ClientStream_WhenOpenLongerThanTheStreamLimit_IsDeadlineExceededEvenWhileTheHandlerWaitsForAMessage()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:UnaryDeadline"] = "00:00:00.100",
            ["Journey:Limits:StreamDeadline"] = "00:00:00.800",
        });
        using var call = new ProbeService.ProbeServiceClient(platform.Channel).Upload();
        var clock = Stopwatch.StartNew();
        await call.RequestStream.WriteAsync(new WaitRequest());

        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseAsync.WaitAsync(Soon));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("Journey:Limits:StreamDeadline", error.Status.Detail);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(700), Soon);
        Assert.Equal(1, platform.Services.GetRequiredService<ProbeState>().MessagesRead);
    }

    [Fact]
    public async Task Watch_WhenOpenLongerThanTheWatchLimit_EndsWithDeadlineExceededNotAtTheUnaryLimit()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:UnaryDeadline"] = "00:00:00.100",
            ["Journey:Limits:WatchDeadline"] = "00:00:00.800",
        });
        using var call = new ProbeService.ProbeServiceClient(platform.Channel).Watch(new WaitRequest());
        var clock = Stopwatch.StartNew();

        Assert.True(await call.ResponseStream.MoveNext());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(Soon));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("Journey:Limits:WatchDeadline", error.Status.Detail);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(700), Soon);
        Assert.True(await platform.Services.GetRequiredService<ProbeState>().TokenCancelled.Task.WaitAsync(Soon));
    }
}
