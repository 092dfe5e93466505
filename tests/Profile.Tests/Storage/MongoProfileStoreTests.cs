using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

public sealed class MongoProfileStoreTests : ProfileStoreContract, IRequiresMongo, IAsyncLifetime
{
    private readonly MongoStore? _mongo = MongoTestServer.ConnectionString is null ? null : MongoTestServer.CreateStore(ProfileModule.Name);

    protected override IProfileStore Store => field ??= new MongoProfileStore(_mongo!);

    protected override ISegmentStore Segments => field ??= new MongoSegmentStore(_mongo!);

    protected override async Task<IReadOnlyList<string>> OutboxTopicsAsync() =>
        (await new MongoOutbox(ProfileModule.Name, _mongo!).ReadDueAsync(100, DateTimeOffset.MaxValue, default)).Select(m => m.Message.Topic).ToList();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _mongo is null ? Task.CompletedTask : MongoTestServer.DropAsync(_mongo);
}
