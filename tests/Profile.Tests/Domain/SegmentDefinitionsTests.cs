using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Profile.Tests.Domain;

/// <summary>The in-memory segment definitions: fresh after a local change, eventually fresh after another replica's.</summary>
public sealed class SegmentDefinitionsTests : IDisposable
{
    private static readonly SegmentRule Rule = new ConditionRule(SegmentField.Readiness, "", SegmentOperator.GreaterOrEqual, new RuleValue(RuleValueKind.Number, Number: 50));
    private readonly TemporarySqlite _sqlite = new("segments");
    private readonly FakeTimeProvider _clock = TestClocks.Create();
    private readonly SqliteSegmentStore _store;
    private readonly IOptions<ProfileOptions> _options = Options.Create(new ProfileOptions { SegmentDefinitionsRefresh = TimeSpan.FromSeconds(5) });

    public SegmentDefinitionsTests() => _store = new SqliteSegmentStore(_sqlite.Database);

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task GetAsync_WhenSegmentDefinedInThisProcess_SeesItAtOnce()
    {
        var definitions = new SegmentDefinitions(_store, _options, _clock);
        Assert.Empty(await definitions.GetAsync(default));
        await _store.CreateAsync(new Segment("ready", "Ready", Rule, _clock.GetUtcNow()), default);

        definitions.Invalidate();

        Assert.Equal("ready", Assert.Single(await definitions.GetAsync(default)).Id);
    }

    [Fact]
    public async Task GetAsync_WhenAnotherReplicaDefinesSegment_SeesItOnlyAfterRefreshInterval()
    {
        var definitions = new SegmentDefinitions(_store, _options, _clock);
        Assert.Empty(await definitions.GetAsync(default));
        await _store.CreateAsync(new Segment("ready", "Ready", Rule, _clock.GetUtcNow()), default);

        _clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(await definitions.GetAsync(default));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("ready", Assert.Single(await definitions.GetAsync(default)).Id);
    }

    [Fact]
    public async Task GetAsync_WhenSegmentDeletedInThisProcess_NoLongerReturnsIt()
    {
        await _store.CreateAsync(new Segment("ready", "Ready", Rule, _clock.GetUtcNow()), default);
        var definitions = new SegmentDefinitions(_store, _options, _clock);
        Assert.Single(await definitions.GetAsync(default));

        Assert.True(await _store.DeleteAsync("ready", default));
        definitions.Invalidate();

        Assert.Empty(await definitions.GetAsync(default));
    }
}
