using Journey.Profile.Domain;
using Journey.Profile.Storage;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Profile.Tests.Storage;

/// <summary>The profile port's contract; both adapters must pass it.</summary>
public abstract class ProfileStoreContract
{
    private static readonly DateTimeOffset First = new(2026, 3, 1, 9, 0, 0, 250, TimeSpan.Zero);

    protected abstract IProfileStore Store { get; }

    [ContractFact]
    public async Task Save_ThenGetAndFind_RoundTripEveryField()
    {
        var profile = Profile("0190f3c2-0000-7000-8000-000000000001", new PersonIdentifier(IdentifierKind.AnonymousId, "cookie-1"), new PersonIdentifier(IdentifierKind.Email, "hash-1"));

        await Store.ApplyAsync("test", ["e1"], (tx, _) => tx.SaveAsync(profile), default);

        var stored = (await Store.GetAsync(profile.Id, default))!;
        Assert.Equal(profile with { Identifiers = [] }, stored with { Identifiers = [] });
        Assert.Equal(Sorted(profile.Identifiers), Sorted(stored.Identifiers));
        Assert.Equal(profile.Id, (await Store.FindAsync(new PersonIdentifier(IdentifierKind.Email, "hash-1"), default))!.Id);
        Assert.Null(await Store.FindAsync(new PersonIdentifier(IdentifierKind.Email, "hash-2"), default));
    }

    [ContractFact]
    public async Task Save_WhenIdentifierBelongsToAnotherProfile_LeavesItWithItsOwner()
    {
        var shared = new PersonIdentifier(IdentifierKind.DeviceId, "device-1");
        await Store.ApplyAsync("test", ["e1"], (tx, _) => tx.SaveAsync(Profile("0190f3c2-0000-7000-8000-00000000000a", shared)), default);

        await Store.ApplyAsync("test", ["e2"], (tx, _) => tx.SaveAsync(Profile("0190f3c2-0000-7000-8000-00000000000b", shared, new PersonIdentifier(IdentifierKind.AnonymousId, "c-b"))), default);

        Assert.Equal("0190f3c2-0000-7000-8000-00000000000a", (await Store.FindAsync(shared, default))!.Id);
        Assert.Equal([new PersonIdentifier(IdentifierKind.AnonymousId, "c-b")], (await Store.GetAsync("0190f3c2-0000-7000-8000-00000000000b", default))!.Identifiers);
    }

    [ContractFact]
    public async Task Apply_WhenEventSeenBefore_PassesOnlyNewIds()
    {
        IReadOnlySet<string>? second = null;
        await Store.ApplyAsync("test", ["e1", "e2"], (_, _) => Task.CompletedTask, default);

        await Store.ApplyAsync("test", ["e2", "e3"], (_, fresh) =>
        {
            second = fresh;
            return Task.CompletedTask;
        }, default);

        Assert.Equal(["e3"], second!);
    }

    [ContractFact]
    public async Task Apply_WhenWorkFails_ClaimsNothingAndSavesNothing()
    {
        var profile = Profile("0190f3c2-0000-7000-8000-00000000000c", new PersonIdentifier(IdentifierKind.AnonymousId, "c-c"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.ApplyAsync("test", ["e9"], async (tx, _) =>
        {
            await tx.SaveAsync(profile);
            throw new InvalidOperationException("boom");
        }, default));

        Assert.Null(await Store.GetAsync(profile.Id, default));
        IReadOnlySet<string>? retried = null;
        await Store.ApplyAsync("test", ["e9"], (_, fresh) =>
        {
            retried = fresh;
            return Task.CompletedTask;
        }, default);
        Assert.Equal(["e9"], retried!);
    }

    private static PersonProfile Profile(string id, params PersonIdentifier[] identifiers) =>
        new(id, identifiers, JourneyStage.Evaluation, 7, First, First.AddDays(3), 4);

    private static List<PersonIdentifier> Sorted(IEnumerable<PersonIdentifier> identifiers) =>
        identifiers.OrderBy(i => i.Kind).ThenBy(i => i.Value, StringComparer.Ordinal).ToList();
}

public sealed class SqliteProfileStoreTests : ProfileStoreContract, IDisposable
{
    private readonly TemporarySqlite _sqlite = new("profile");

    public SqliteProfileStoreTests()
    {
        _ = new SqliteOutbox("profile", _sqlite.Database);
        Store = new SqliteProfileStore(_sqlite.Database, TimeProvider.System);
    }

    protected override IProfileStore Store { get; }

    public void Dispose() => _sqlite.Dispose();
}

public sealed class MongoProfileStoreTests : ProfileStoreContract, IRequiresMongo, IAsyncLifetime
{
    private MongoStore? _store;

    protected override IProfileStore Store => new MongoProfileStore(_store!, TimeProvider.System);

    public Task InitializeAsync()
    {
        if (MongoTestServer.ConnectionString is not null)
        {
            _store = MongoTestServer.CreateStore("profile");
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await MongoTestServer.DropAsync(_store);
        }
    }
}
