using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Shared.Events;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

public sealed class SqliteProfileStoreTests : ProfileStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("profile");

    public SqliteProfileStoreTests()
    {
        Store = new SqliteProfileStore(_sqlite.Database);
        Segments = new SqliteSegmentStore(_sqlite.Database);
    }

    protected override IProfileStore Store { get; }

    protected override ISegmentStore Segments { get; }

    protected override async Task<IReadOnlyList<string>> OutboxTopicsAsync() =>
        (await new SqliteOutbox(ProfileModule.Name, _sqlite.Database).ReadDueAsync(100, DateTimeOffset.MaxValue, default)).Select(m => m.Message.Topic).ToList();

    public void Dispose() => _sqlite.Dispose();
}
