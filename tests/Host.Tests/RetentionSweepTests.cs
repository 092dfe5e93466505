using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Shared.Storage;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Journey.Host.Tests;

/// <summary>
/// Every service's embedded store runs a retention sweep over what its MongoDB store leaves to TTL
/// indexes: the inbox and the audit trail everywhere, recommendation records and impression counts in
/// the recommendation store, tracking identity claims in the touchpoint store. Each rule runs against
/// the service's real schema.
/// </summary>
public sealed class RetentionSweepTests
{
    [Fact]
    public async Task EveryServicesSqliteStore_SweepsWhatItsMongoStoreExpiresByTtl()
    {
        await using var platform = await TestPlatform.StartAsync(
            [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition]);
        var sweeps = platform.Services.GetServices<IHostedService>().OfType<SqliteRetentionSweep>().ToList();

        var rules = new List<IReadOnlyCollection<string>>();
        foreach (var sweep in sweeps)
        {
            rules.Add([.. (await sweep.SweepOnceAsync(default)).Keys]);
        }

        Assert.Equal(4, sweeps.Count);
        Assert.All(rules, r => Assert.Superset(new HashSet<string> { "inbox entries", "audit entries" }, r.ToHashSet()));
        Assert.Single(rules, r => r.Contains("recommendation records") && r.Contains("impression counts"));
        Assert.Single(rules, r => r.Contains("tracking identity claims"));
    }
}
