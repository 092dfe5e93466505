using Grpc.Core;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Reports;
using Journey.Testing;
using Journey.Touchpoint.Domain;
using Journey.Touchpoint.Events;
using Journey.Touchpoint.Grpc;
using Journey.Touchpoint.Storage;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Touchpoint.Tests.Grpc;

/// <summary>
/// A stream whose messages have all arrived is written in as few transactions as the store allows:
/// SQLite up to <see cref="TouchpointOptions.StreamTransactionSize"/>, MongoDB no more than its
/// <see cref="TransactionBudget"/>. The messages are handed over already received, so the grouping
/// does not depend on network timing.
/// </summary>
public sealed class StreamTransactionTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TemporarySqlite _sqlite = new("touchpoint");

    public void Dispose() => _sqlite.Dispose();

    [Fact]
    public async Task StreamInteractions_WhenTheStoreTakesAThousandPerTransaction_NeverWritesMoreInOne()
    {
        var (service, log) = await StartAsync(new TransactionBudget(1000, 4 * 1024 * 1024));

        var summary = await service.StreamInteractions(new Arrived(Messages(600, 600, 400, 1000, 50)), new Context());

        Assert.Equal(2650, summary.AcceptedCount);
        Assert.Equal([600, 1000, 1000, 50], log.Transactions);
    }

    [Fact]
    public async Task StreamInteractions_WhenTheMessagesOutgrowTheByteBudget_StartsANewTransaction()
    {
        var messages = Messages(100, 100, 100);
        var (service, log) = await StartAsync(new TransactionBudget(1000, messages[0].CalculateSize() + messages[1].CalculateSize()));

        await service.StreamInteractions(new Arrived(messages), new Context());

        Assert.Equal([200, 100], log.Transactions);
    }

    [Fact]
    public async Task StreamInteractions_OnAStoreWithoutABudget_GroupsUpToTheSetting()
    {
        var (service, log) = await StartAsync(TransactionBudget.Unbounded);

        await service.StreamInteractions(new Arrived(Messages(600, 600, 400, 1000, 50)), new Context());

        Assert.Equal([2650], log.Transactions);
    }

    [Fact]
    public void MongoBudget_IsAThousandInteractionsAndFourMiB()
    {
        Assert.Equal(new TransactionBudget(1000, 4 * 1024 * 1024), MongoInteractionLog.Budget);
        Assert.Equal(InteractionRecorder.MaxBatch, MongoInteractionLog.Budget.Interactions);
    }

    private async Task<(TouchpointGrpcService Service, RecordingLog Log)> StartAsync(TransactionBudget budget)
    {
        _ = new SqliteOutbox(TouchpointModule.Name, _sqlite.Database);
        var clock = new FakeTimeProvider(Now);
        var events = new TouchpointEventMapper();
        var options = Options.Create(new TouchpointOptions());
        var hasher = new IdentifierHasher(new byte[32]);
        var catalogStore = new SqliteTouchpointCatalogStore(_sqlite.Database);
        var log = new RecordingLog(new SqliteInteractionLog(_sqlite.Database), budget);
        var catalog = new TouchpointCatalog(catalogStore, events, clock);
        await catalog.CreateAsync(new TouchpointFields("Web", Touchpoint.Domain.Channel.Web, Touchpoint.Domain.Ownership.Owned, [Touchpoint.Domain.JourneyStage.Awareness], 3, new Touchpoint.Domain.IntendedExperience(4, "fast"), "web", []), "web", default);
        var service = new TouchpointGrpcService(
            catalog,
            new InteractionRecorder(catalogStore, log, events, hasher, Journey.Shared.Privacy.IdentifierPolicy.Default, options, clock),
            new PersonTimeline(log, events, hasher, new ErasureTombstones(hasher, Options.Create(new PrivacyOptions())), clock),
            new JourneyAnalytics(
                new SqliteJourneyAggregates(_sqlite.Database), catalogStore,
                new ReportCache<FunnelKey, Funnel>(Options.Create(new ReportsOptions()), clock, NullLogger<ReportCache<FunnelKey, Funnel>>.Instance), options, clock));
        return (service, log);
    }

    private static List<StreamInteractionsRequest> Messages(params int[] sizes)
    {
        var next = 0;
        return sizes.Select(size =>
        {
            var message = new StreamInteractionsRequest();
            for (var i = 0; i < size; i++, next++)
            {
                message.Interactions.Add(TestData.Interaction($"e-{next}", "touchpoints/web", Now.AddMinutes(-1)));
            }

            return message;
        }).ToList();
    }

    /// <summary>A client stream whose messages have all arrived: every read completes at once.</summary>
    private sealed class Arrived(List<StreamInteractionsRequest> messages) : IAsyncStreamReader<StreamInteractionsRequest>
    {
        private int _position = -1;

        public StreamInteractionsRequest Current => messages[_position];

        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(++_position < messages.Count);
    }

    private sealed class RecordingLog(IInteractionLog inner, TransactionBudget budget) : IInteractionLog
    {
        public List<int> Transactions { get; } = [];

        public TransactionBudget TransactionBudget => budget;

        public Task<IReadOnlyList<Appended>> AppendAsync(IReadOnlyList<PendingInteraction> batch, CancellationToken cancellationToken)
        {
            Transactions.Add(batch.Count);
            return inner.AppendAsync(batch, cancellationToken);
        }

        public Task<IReadOnlyList<TimelineEntry>> TimelineAsync(PersonIdentifier identifier, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
            inner.TimelineAsync(identifier, after, limit, cancellationToken);

        public Task<IReadOnlyList<TimelineEntry>> RecordedWithAsync(IReadOnlyList<PersonIdentifier> identifiers, TimelineCursor? after, int limit, CancellationToken cancellationToken) =>
            inner.RecordedWithAsync(identifiers, after, limit, cancellationToken);

        public Task ApplyMergesAsync(IReadOnlyList<ProfileMerge> merges, DateTimeOffset now, CancellationToken cancellationToken) => inner.ApplyMergesAsync(merges, now, cancellationToken);

        public Task ApplySplitsAsync(IReadOnlyList<ProfileSplitNotice> splits, DateTimeOffset now, CancellationToken cancellationToken) => inner.ApplySplitsAsync(splits, now, cancellationToken);

        public Task ApplyProfilesAsync(IReadOnlyList<ProfileSnapshot> snapshots, DateTimeOffset now, CancellationToken cancellationToken) => inner.ApplyProfilesAsync(snapshots, now, cancellationToken);

        public Task<KnownProfile?> ProfileAsync(string profileId, CancellationToken cancellationToken) => inner.ProfileAsync(profileId, cancellationToken);

        public Task<IReadOnlyList<ProfileHolding>> HoldersAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
            inner.HoldersAsync(identifiers, cancellationToken);

        public Task<IReadOnlyList<IdentifierHolding>> HoldingsAsync(IReadOnlyCollection<PersonIdentifier> identifiers, CancellationToken cancellationToken) =>
            inner.HoldingsAsync(identifiers, cancellationToken);

        public Task EraseAsync(
            string eventId, IReadOnlyList<PersonIdentifier> identifiers, ErasureKeep keep, IReadOnlyList<string> profiles, IReadOnlyList<ErasureTombstone> tombstones, Func<long, OutboxMessage> completed, DateTimeOffset now, CancellationToken cancellationToken) =>
            inner.EraseAsync(eventId, identifiers, keep, profiles, tombstones, completed, now, cancellationToken);

        public Task<int> SweepAsync(DateTimeOffset cutoff, int max, CancellationToken cancellationToken) => inner.SweepAsync(cutoff, max, cancellationToken);
    }

    /// <summary>The call context a direct call needs: a token, nothing else.</summary>
    private sealed class Context : ServerCallContext
    {
        protected override string MethodCore => "/journey.touchpoint.v1.TouchpointService/StreamInteractions";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
