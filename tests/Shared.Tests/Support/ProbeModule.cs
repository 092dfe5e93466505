using Grpc.Core;
using Journey.Shared.Errors;
using Journey.Shared.Hosting;
using Journey.Shared.Security;
using Journey.Shared.Tests.Probe;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests;

/// <summary>A module serving <see cref="ProbeService"/> through the same mapping every service uses.</summary>
public static class ProbeModule
{
    public static readonly JourneyModule Module = new("probe", builder =>
    {
        builder.Services.AddSingleton<ProbeState>();
        builder.Services.AddSingleton<ProbeGrpcService>();
        builder.Services.AddMethodScopes(ProbeService.Descriptor, new Dictionary<string, string>
        {
            [nameof(ProbeService.ProbeServiceClient.Wait)] = Scopes.AnyCaller,
            [nameof(ProbeService.ProbeServiceClient.Upload)] = Scopes.AnyCaller,
            [nameof(ProbeService.ProbeServiceClient.Watch)] = Scopes.AnyCaller,
        });
    }, endpoints => endpoints.MapGuardedGrpcService<ProbeGrpcService>());
}

/// <summary>What the probe's handlers saw: whether their token was cancelled, and the messages an upload read.</summary>
public sealed class ProbeState
{
    public TaskCompletionSource<bool> TokenCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, <c>Wait</c> throws it, as a use case or store would.</summary>
    public Exception? Failure { get; set; }

    private int _messagesRead;

    public int MessagesRead => Volatile.Read(ref _messagesRead);

    public void Read() => Interlocked.Increment(ref _messagesRead);
}

internal sealed class ProbeGrpcService(ProbeState state) : ProbeService.ProbeServiceBase
{
    public override async Task<WaitResponse> Wait(WaitRequest request, ServerCallContext context)
    {
        using var watch = context.CancellationToken.Register(() => state.TokenCancelled.TrySetResult(true));
        if (state.Failure is { } failure)
        {
            throw failure;
        }

        await Task.Delay(request.DelayMs, context.CancellationToken);
        return new WaitResponse { Cancelled = context.CancellationToken.IsCancellationRequested };
    }

    public override async Task<WaitResponse> Upload(IAsyncStreamReader<WaitRequest> requestStream, ServerCallContext context)
    {
        using var watch = context.CancellationToken.Register(() => state.TokenCancelled.TrySetResult(true));
        // Reads without passing the token, as a careless handler might: the limit must still end the wait.
        while (await requestStream.MoveNext(CancellationToken.None))
        {
            state.Read();
            await Task.Delay(requestStream.Current.DelayMs, context.CancellationToken);
        }

        return new WaitResponse();
    }

    public override async Task Watch(WaitRequest request, IServerStreamWriter<WaitResponse> responseStream, ServerCallContext context)
    {
        using var watch = context.CancellationToken.Register(() => state.TokenCancelled.TrySetResult(true));
        await responseStream.WriteAsync(new WaitResponse());
        await Task.Delay(Timeout.Infinite, context.CancellationToken);
    }
}
