using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Shared.Events;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

public sealed class MongoProfileStoreTests : ProfileStoreContract, IRequiresMongo, IAsyncLifetime
{
    private readonly TemporaryMongo _mongo = new(ProfileModule.Name);

    protected override IProfileStore Store => field ??= new MongoProfileStore(_mongo.Store);

    protected override ISegmentStore Segments => field ??= new MongoSegmentStore(_mongo.Store);

    protected override async Task<IReadOnlyList<string>> OutboxTopicsAsync() =>
        (await new MongoOutbox(ProfileModule.Name, _mongo.Store).ReadDueAsync(100, DateTimeOffset.MaxValue, default)).Select(m => m.Message.Topic).ToList();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo.DisposeAsync();
}
