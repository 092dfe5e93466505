using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Events;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class RetentionTests
{
    [Fact]
    public async Task Sweep_RemovesInteractionsOnceTheyLeaveTheRetentionWindow()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var platform = await TestPlatform.StartAsync(
            [TouchpointModule.Definition],
            new Dictionary<string, string?> { ["Journey:Touchpoint:RetentionDays"] = "30" },
            services => services.AddSingleton<TimeProvider>(clock));
        var client = new TouchpointService.TouchpointServiceClient(platform.Channel);
        await client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "lease-calculator", Touchpoint = TestData.Touchpoint() });
        await client.RecordInteractionsAsync(new RecordInteractionsRequest
        {
            Interactions =
            {
                TestData.Interaction("twenty-days-old", at: clock.GetUtcNow().AddDays(-20)),
                TestData.Interaction("one-day-old", at: clock.GetUtcNow().AddDays(-1)),
            },
        });
        var sweep = platform.Services.GetRequiredService<RetentionSweep>();
        var store = platform.Services.GetRequiredService<IInteractionStore>();

        var removedNow = await sweep.SweepOnceAsync(default);
        clock.Advance(TimeSpan.FromDays(15));
        var removedLater = await sweep.SweepOnceAsync(default);

        Assert.Equal(0, removedNow);
        Assert.Equal(1, removedLater);
        Assert.Equal(1, await store.CountAsync(default));
    }
}
