using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Shared.Reports;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

/// <summary>
/// A description that was slow to compute is kept (Journey:Reports): every description counts as slow
/// here, and is kept for a minute.
/// </summary>
public sealed class KeptAudienceTests() : HostedTests<ProfileHost>(() => StartAsync(KeepEveryDescriptionForAMinute))
{
    private static readonly Dictionary<string, string?> KeepEveryDescriptionForAMinute = new()
    {
        ["Journey:Profile:AudienceNoiseEpsilon"] = "1000",
        ["Journey:Reports:KeepSlowerThan"] = "00:00:00",
        ["Journey:Reports:MaxAge"] = "00:01:00",
    };

    [Fact]
    public async Task DescribeAudience_WhenKept_IsAnsweredUntilTooOldAndThenRefreshed()
    {
        await AddPeopleAsync(0, 10);
        var computedAt = Host.Clock.GetUtcNow();
        var request = new DescribeAudienceRequest { Stage = JourneyStage.Consideration };
        var first = await Host.Client.DescribeAudienceAsync(request);

        await AddPeopleAsync(10, 2);
        var kept = await Host.Client.DescribeAudienceAsync(request);
        Host.Clock.Advance(TimeSpan.FromMinutes(1));
        var stale = await Host.Client.DescribeAudienceAsync(request);
        await Host.Platform.Services.GetRequiredService<ReportCache<Journey.Profile.Domain.AudienceKey, Journey.Profile.Domain.AudienceDescription>>().WhenComputedAsync();
        var refreshed = await Host.Client.DescribeAudienceAsync(request);

        Assert.Equal(10, first.Size);
        Assert.Equal(computedAt, first.ComputeTime.ToDateTimeOffset());
        Assert.Equal(first, kept);
        Assert.Equal(first, stale);
        Assert.Equal(12, refreshed.Size);
        Assert.Equal(Host.Clock.GetUtcNow(), refreshed.ComputeTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task DescribeAudience_KeepsEachAudienceApart()
    {
        await AddPeopleAsync(0, 10);

        var stage = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Consideration });
        var other = await Host.Client.DescribeAudienceAsync(new DescribeAudienceRequest { Stage = JourneyStage.Loyalty });

        Assert.False(stage.BelowMinimum);
        Assert.True(other.BelowMinimum);
    }

    private async Task AddPeopleAsync(int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            var who = Cookie($"kept-{i}");
            await Host.RecordAsync(who, Interaction(who, InteractionType.View, Host.Clock.GetUtcNow(), [JourneyStage.Consideration], ["electric"]));
        }
    }
}
